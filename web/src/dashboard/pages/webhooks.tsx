import { useState } from 'preact/hooks';
import { call, type Partner, type Webhook, webhookEvents } from '../api';
import { Link } from '../router';
import { canAdmin, orgPath } from '../session';
import { type FormError, useForm } from '../form';
import { CopyButton, Empty, Field, FormAlert, Loading, useLoad } from '../ui';

const eventHelp: Record<string, string> = {
  talk_join: 'someone joined a talk',
  recording_saved: 'a recording is ready to download',
  transcription_ready: 'a transcript is ready',
  next_caption: 'each live caption line',
};

export const base = '/api/v1/partners/webhooks';

export function MembersCannot({ partner }: { partner: Partner }) {
  return (
    <>
      <h1>Webhooks</h1>
      <section class="card" data-testid="webhooks-forbidden">
        <h2>Only owners and admins manage webhooks</h2>
        <p>
          You are a member of {partner.name}. Webhook endpoints receive every event of the organization and carry a signing secret, so only its owners and
          admins can see or change them. Ask one of them, or ask to be made an admin in <Link href={orgPath(partner.id, 'settings')}>settings</Link>.
        </p>
      </section>
    </>
  );
}

/** The events checkboxes, with their error (the API names the field `events`). */
export function EventsFieldset({ value, onValue, error }: { value: string[]; onValue: (v: string[]) => void; error: FormError | null }) {
  const mine = error?.field === 'events' ? error.message : null;
  return (
    <fieldset class={mine ? 'has-error' : undefined} aria-describedby="events-error">
      <legend>Events to send</legend>
      {webhookEvents.map((e) => (
        <label key={e} class="event-choice">
          <input
            type="checkbox"
            name="events"
            value={e}
            checked={value.includes(e)}
            onChange={(ev) => {
              const on = (ev.target as HTMLInputElement).checked;
              onValue(on ? webhookEvents.filter((x) => x === e || value.includes(x)) : value.filter((x) => x !== e));
            }}
          />{' '}
          <code>{e}</code> <span class="muted">{eventHelp[e]}</span>
        </label>
      ))}
      <p class="field-error" id="events-error" role={mine ? 'alert' : undefined} data-field-error="events">
        {mine}
      </p>
    </fieldset>
  );
}

export function SecretReveal({ secret, onDone, rotated }: { secret: string; onDone: () => void; rotated?: boolean }) {
  return (
    <div class="reveal" role="status">
      <p>
        {rotated
          ? 'The new signing secret. The old one keeps signing too for 24 hours, so you can switch your verifier without missing events.'
          : 'The signing secret for this endpoint. Copy it now: it is shown only once.'}
      </p>
      <p class="row">
        <code data-testid="webhook-secret">{secret}</code> <CopyButton text={secret} what="signing secret" />
      </p>
      <button type="button" class="secondary" onClick={onDone}>
        I have stored it
      </button>
    </div>
  );
}

export function WebhooksPage({ partner }: { partner: Partner }) {
  if (!canAdmin(partner)) return <MembersCannot partner={partner} />;
  return <WebhookList partner={partner} />;
}

function WebhookList({ partner }: { partner: Partner }) {
  const hooks = useLoad(() => call<{ webhooks: Webhook[] }>('GET', base, undefined, { partner: partner.id, query: { limit: 100 } }), [partner.id]);
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [events, setEvents] = useState<string[]>([...webhookEvents]);
  const form = useForm();
  const error = form.error;
  const [created, setCreated] = useState<Webhook | null>(null);
  return (
    <>
      <h1>Webhooks</h1>
      <section class="card" aria-labelledby="add-webhook">
        <h2 id="add-webhook">Add an endpoint</h2>
        <p class="muted">
          smalltalk POSTs each event as JSON to your URL, signed with the{' '}
          <a href="https://www.standardwebhooks.com/" rel="noreferrer">
            Standard Webhooks
          </a>{' '}
          headers. Failed deliveries are retried.
        </p>
        <form
          class="form"
          onSubmit={form.submit(async () => {
            const r = await call<{ webhook: Webhook }>('POST', base, { url, events, description: description || null }, { partner: partner.id });
            setCreated(r.webhook);
            setUrl('');
            setDescription('');
            hooks.reload();
          })}
        >
          <Field
            label="Endpoint URL"
            name="url"
            type="url"
            value={url}
            onValue={setUrl}
            error={error}
            required
            placeholder="https://example.com/smalltalk/webhook"
          />
          <Field label="Description" name="description" value={description} onValue={setDescription} error={error} maxLength={500} hint="Optional, for you." />
          <EventsFieldset value={events} onValue={setEvents} error={error} />
          <FormAlert error={error} fields={['url', 'description', 'events']} />
          <button type="submit" disabled={form.pending}>
            Add endpoint
          </button>
        </form>
        {created?.secret && (
          <>
            <p>
              Added <Link href={orgPath(partner.id, `webhooks/${created.id}`)}>{created.url}</Link>. Open it to send a test event.
            </p>
            <SecretReveal secret={created.secret} onDone={() => setCreated(null)} />
          </>
        )}
      </section>
      <section aria-labelledby="endpoints">
        <h2 id="endpoints">Endpoints</h2>
        {!hooks.data ? (
          <Loading error={hooks.error} />
        ) : hooks.data.webhooks.length === 0 ? (
          <Empty title="No webhook endpoints yet">
            <p>Add the URL of your server above to hear when people join your talks and when recordings and transcripts are ready.</p>
          </Empty>
        ) : (
          <ul class="cards" aria-label="Webhook endpoints">
            {hooks.data.webhooks.map((w) => (
              <li key={w.id} class="card" data-webhook={w.url}>
                <h3 class="break">
                  <Link href={orgPath(partner.id, `webhooks/${w.id}`)}>{w.url}</Link>
                </h3>
                <p class="muted">
                  <span class={`badge ${w.enabled ? 'ready' : 'disabled'}`}>{w.enabled ? 'enabled' : 'disabled'}</span> {w.events.join(', ')}
                </p>
                {w.description && <p>{w.description}</p>}
                {!w.enabled && w.disabled_reason && <p class="form-error">Disabled: {w.disabled_reason}</p>}
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}
