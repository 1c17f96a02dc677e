import { useState } from 'preact/hooks';
import { call, type Partner, type Webhook } from '../api';
import { navigate } from '../router';
import { canAdmin, orgPath } from '../session';
import { useForm } from '../form';
import { ConfirmButton, Field, FormAlert, fromLocalInput, Loading, toLocalInput, useLoad } from '../ui';
import { base, EventsFieldset, MembersCannot, SecretReveal } from './webhooks';
import { DeliveryLog } from './webhook-deliveries';

export function WebhookDetail({ partner, id }: { partner: Partner; id: string }) {
  if (!canAdmin(partner)) return <MembersCannot partner={partner} />;
  return <WebhookEndpoint partner={partner} id={id} />;
}

function WebhookEndpoint({ partner, id }: { partner: Partner; id: string }) {
  const hook = useLoad(() => call<{ webhook: Webhook }>('GET', `${base}/${id}`, undefined, { partner: partner.id }), [partner.id, id]);
  const [secret, setSecret] = useState<string | null>(null);
  const actions = useForm();
  const [logTick, setLogTick] = useState(0);
  if (!hook.data) return <Loading error={hook.error} />;
  const w = hook.data.webhook;
  const act = actions.run;
  return (
    <>
      <div class="page-head">
        <h1 class="break">{w.url}</h1>
        <span class={`badge ${w.enabled ? 'ready' : 'disabled'}`} data-testid="webhook-state">
          {w.enabled ? 'enabled' : 'disabled'}
        </span>
      </div>
      {!w.enabled && (
        <p class="form-error" role="status">
          This endpoint is disabled{w.disabled_reason ? `: ${w.disabled_reason}` : ''}. Events still happen while it is off; after you enable it, replay them
          below.
        </p>
      )}
      <div class="row actions">
        <button
          type="button"
          disabled={!w.enabled}
          onClick={() =>
            act(async () => {
              await call('POST', `${base}/${w.id}/test`, undefined, { partner: partner.id });
              setLogTick((n) => n + 1);
            })
          }
        >
          Send test event
        </button>
        <button
          type="button"
          class="secondary"
          onClick={() =>
            act(async () => {
              await call('PATCH', `${base}/${w.id}`, { enabled: !w.enabled }, { partner: partner.id });
              hook.reload();
            })
          }
        >
          {w.enabled ? 'Disable endpoint' : 'Enable endpoint'}
        </button>
        <ConfirmButton
          label="Rotate secret"
          what={`of ${w.url}`}
          confirm="A new secret signs from now on; the old one also signs for 24 hours."
          onConfirm={() =>
            act(async () => {
              const r = await call<{ webhook: Webhook }>('POST', `${base}/${w.id}/rotate_secret`, undefined, { partner: partner.id });
              setSecret(r.webhook.secret ?? null);
            })
          }
        />
        <ConfirmButton
          label="Delete"
          what={`endpoint ${w.url}`}
          confirm="No more events go to this URL."
          onConfirm={() =>
            act(async () => {
              await call('DELETE', `${base}/${w.id}`, undefined, { partner: partner.id });
              navigate(orgPath(partner.id, 'webhooks'));
            })
          }
        />
      </div>
      <FormAlert error={actions.error} fields={[]} />
      {secret && <SecretReveal secret={secret} rotated onDone={() => setSecret(null)} />}
      <div class="two">
        <EditEndpoint partner={partner} webhook={w} onSaved={hook.reload} />
        <Replay partner={partner} webhook={w} onQueued={() => setLogTick((n) => n + 1)} />
      </div>
      <DeliveryLog partner={partner} webhook={w} tick={logTick} />
    </>
  );
}

function EditEndpoint({ partner, webhook, onSaved }: { partner: Partner; webhook: Webhook; onSaved: () => void }) {
  const [url, setUrl] = useState(webhook.url);
  const [description, setDescription] = useState(webhook.description ?? '');
  const [events, setEvents] = useState(webhook.events);
  const form = useForm();
  const error = form.error;
  const [saved, setSaved] = useState(false);
  return (
    <section class="card" aria-labelledby="edit-endpoint">
      <h2 id="edit-endpoint">Endpoint</h2>
      <form
        class="form"
        onSubmit={form.submit(async () => {
          setSaved(false);
          await call('PATCH', `${base}/${webhook.id}`, { url, events, description: description || null }, { partner: partner.id });
          setSaved(true);
          onSaved();
        })}
      >
        <Field label="Endpoint URL" name="url" type="url" value={url} onValue={setUrl} error={error} required />
        <Field label="Description" name="description" value={description} onValue={setDescription} error={error} maxLength={500} />
        <EventsFieldset value={events} onValue={setEvents} error={error} />
        <FormAlert error={error} fields={['url', 'description', 'events']} />
        <div class="row">
          <button type="submit">Save endpoint</button>
          <span role="status" class="muted">
            {saved ? 'Saved.' : ''}
          </span>
        </div>
      </form>
    </section>
  );
}

function Replay({ partner, webhook, onQueued }: { partner: Partner; webhook: Webhook; onQueued: () => void }) {
  const [since, setSince] = useState(toLocalInput(new Date(Date.now() - 24 * 3600_000).toISOString()));
  const form = useForm();
  const error = form.error;
  const [done, setDone] = useState<string | null>(null);
  return (
    <section class="card" aria-labelledby="replay">
      <h2 id="replay">Replay events</h2>
      <p class="muted">Sends again every subscribed event since a time, including ones missed while the endpoint was disabled.</p>
      <form
        class="form"
        onSubmit={form.submit(async () => {
          setDone(null);
          const r = await call<{ replay: { queued: number } }>('POST', `${base}/${webhook.id}/replay`, undefined, {
            partner: partner.id,
            query: { since: fromLocalInput(since) },
          });
          setDone(`${r.replay.queued} ${r.replay.queued === 1 ? 'event' : 'events'} queued.`);
          onQueued();
        })}
      >
        <Field label="Since" name="since" type="datetime-local" value={since} onValue={setSince} error={error} required />
        <FormAlert error={error} fields={['since']} />
        <div class="row">
          <button type="submit" class="secondary" disabled={!webhook.enabled}>
            Replay
          </button>
          <span role="status" class="muted" data-testid="replay-result">
            {done}
          </span>
        </div>
      </form>
    </section>
  );
}
