import { useEffect, useState } from 'preact/hooks';
import { type Delivery, type Partner, type Webhook, call, webhookEvents } from '../api';
import { Link, navigate } from '../router';
import { canAdmin, orgPath } from '../session';
import {
  ConfirmButton,
  CopyButton,
  Empty,
  Field,
  FormAlert,
  type FormError,
  Loading,
  formatTime,
  fromLocalInput,
  toFormError,
  toLocalInput,
  useLoad,
} from '../ui';

const eventHelp: Record<string, string> = {
  talk_join: 'someone joined a talk',
  recording_saved: 'a recording is ready to download',
  transcription_ready: 'a transcript is ready',
  next_caption: 'each live caption line',
};

const base = '/api/v1/partners/webhooks';

function MembersCannot({ partner }: { partner: Partner }) {
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
function EventsFieldset({ value, onValue, error }: { value: string[]; onValue: (v: string[]) => void; error: FormError | null }) {
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

function SecretReveal({ secret, onDone, rotated }: { secret: string; onDone: () => void; rotated?: boolean }) {
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
  const [error, setError] = useState<FormError | null>(null);
  const [busy, setBusy] = useState(false);
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
          onSubmit={async (e) => {
            e.preventDefault();
            setBusy(true);
            setError(null);
            try {
              const r = await call<{ webhook: Webhook }>('POST', base, { url, events, description: description || null }, { partner: partner.id });
              setCreated(r.webhook);
              setUrl('');
              setDescription('');
              hooks.reload();
            } catch (err) {
              setError(toFormError(err));
            } finally {
              setBusy(false);
            }
          }}
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
          <button type="submit" disabled={busy}>
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

export function WebhookDetail({ partner, id }: { partner: Partner; id: string }) {
  if (!canAdmin(partner)) return <MembersCannot partner={partner} />;
  return <WebhookEndpoint partner={partner} id={id} />;
}

function WebhookEndpoint({ partner, id }: { partner: Partner; id: string }) {
  const hook = useLoad(() => call<{ webhook: Webhook }>('GET', `${base}/${id}`, undefined, { partner: partner.id }), [partner.id, id]);
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<FormError | null>(null);
  const [logTick, setLogTick] = useState(0);
  if (!hook.data) return <Loading error={hook.error} />;
  const w = hook.data.webhook;
  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
    } catch (err) {
      setError(toFormError(err));
    }
  };
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
      <FormAlert error={error} fields={[]} />
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
  const [error, setError] = useState<FormError | null>(null);
  const [saved, setSaved] = useState(false);
  return (
    <section class="card" aria-labelledby="edit-endpoint">
      <h2 id="edit-endpoint">Endpoint</h2>
      <form
        class="form"
        onSubmit={async (e) => {
          e.preventDefault();
          setError(null);
          setSaved(false);
          try {
            await call('PATCH', `${base}/${webhook.id}`, { url, events, description: description || null }, { partner: partner.id });
            setSaved(true);
            onSaved();
          } catch (err) {
            setError(toFormError(err));
          }
        }}
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
  const [error, setError] = useState<FormError | null>(null);
  const [done, setDone] = useState<string | null>(null);
  return (
    <section class="card" aria-labelledby="replay">
      <h2 id="replay">Replay events</h2>
      <p class="muted">Sends again every subscribed event since a time, including ones missed while the endpoint was disabled.</p>
      <form
        class="form"
        onSubmit={async (e) => {
          e.preventDefault();
          setError(null);
          setDone(null);
          try {
            const r = await call<{ replay: { queued: number } }>('POST', `${base}/${webhook.id}/replay`, undefined, {
              partner: partner.id,
              query: { since: fromLocalInput(since) },
            });
            setDone(`${r.replay.queued} ${r.replay.queued === 1 ? 'event' : 'events'} queued.`);
            onQueued();
          } catch (err) {
            setError(toFormError(err));
          }
        }}
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

function DeliveryLog({ partner, webhook, tick }: { partner: Partner; webhook: Webhook; tick: number }) {
  const [status, setStatus] = useState('');
  const log = useLoad(
    () =>
      call<{ deliveries: Delivery[] }>('GET', `${base}/${webhook.id}/deliveries`, undefined, {
        partner: partner.id,
        query: { limit: 50, status },
      }),
    [partner.id, webhook.id, status, tick],
  );
  const [rowError, setRowError] = useState<{ id: string; error: FormError } | null>(null);
  const pending = log.data?.deliveries.some((d) => d.status === 'pending') ?? false;
  // While something is on its way, look again every two seconds.
  useEffect(() => {
    if (!pending) return;
    const timer = setInterval(log.reload, 2000);
    return () => clearInterval(timer);
  }, [pending, log.reload]);
  return (
    <section class="card" aria-labelledby="deliveries">
      <div class="page-head">
        <h2 id="deliveries">Delivery log</h2>
        <label class="inline">
          Show{' '}
          <select value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value)} aria-label="Show deliveries">
            <option value="">all</option>
            <option value="succeeded">succeeded</option>
            <option value="failed">failed</option>
            <option value="pending">pending</option>
          </select>
        </label>
        <button type="button" class="secondary" onClick={log.reload}>
          Refresh
        </button>
      </div>
      {!log.data ? (
        <Loading error={log.error} />
      ) : log.data.deliveries.length === 0 ? (
        <Empty title="No deliveries yet">
          <p>Press Send test event to check your endpoint; real events appear here as they happen.</p>
        </Empty>
      ) : (
        <ul class="plain deliveries" aria-label="Deliveries">
          {log.data.deliveries.map((d) => {
            const last = d.attempts[d.attempts.length - 1];
            return (
              <li key={d.id} data-delivery={d.event_name} data-status={d.status}>
                <details>
                  <summary>
                    <span class={`badge ${d.status === 'succeeded' ? 'ready' : d.status}`}>{d.status}</span> <code>{d.event_name}</code>{' '}
                    <span data-testid="delivery-code">{last ? (last.status_code ?? 'no answer') : 'not sent yet'}</span>
                    {last && <span class="muted"> · {last.latency_ms} ms</span>}
                    <span class="muted">
                      {' '}
                      · {formatTime(d.created_at)} · {d.attempt_count} {d.attempt_count === 1 ? 'attempt' : 'attempts'}
                    </span>
                  </summary>
                  {d.next_attempt_at && d.status === 'pending' && <p class="muted">Next attempt {formatTime(d.next_attempt_at)}.</p>}
                  <ol class="attempts">
                    {d.attempts.map((a) => (
                      <li key={a.attempted_at}>
                        <p>
                          {formatTime(a.attempted_at)}: {a.status_code !== null ? `HTTP ${a.status_code}` : 'no answer'} in {a.latency_ms} ms
                          {a.error ? ` (${a.error})` : ''}
                        </p>
                        {a.response_body && <pre class="response">{a.response_body}</pre>}
                      </li>
                    ))}
                  </ol>
                  <p class="muted">
                    Event id <code>{d.event_id}</code> (the webhook-id header)
                  </p>
                </details>
                <button
                  type="button"
                  class="secondary"
                  aria-label={`Retry ${d.event_name} delivery from ${formatTime(d.created_at)}`}
                  disabled={!webhook.enabled}
                  onClick={async () => {
                    setRowError(null);
                    try {
                      await call('POST', `${base}/${webhook.id}/deliveries/${d.id}/retry`, undefined, { partner: partner.id });
                      log.reload();
                    } catch (err) {
                      setRowError({ id: d.id, error: toFormError(err) });
                    }
                  }}
                >
                  Retry
                </button>
                {rowError?.id === d.id && (
                  <p class="field-error" role="alert">
                    {rowError.error.message}
                  </p>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
