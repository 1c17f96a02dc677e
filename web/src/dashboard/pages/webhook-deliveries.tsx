import { useEffect, useState } from 'preact/hooks';
import { call, type Delivery, type Partner, type Webhook } from '../api';
import { useForm } from '../form';
import { Empty, formatTime, Loading, useLoad } from '../ui';
import { base } from './webhooks';

export function DeliveryLog({ partner, webhook, tick }: { partner: Partner; webhook: Webhook; tick: number }) {
  const [status, setStatus] = useState('');
  const log = useLoad(
    () =>
      call<{ deliveries: Delivery[] }>('GET', `${base}/${webhook.id}/deliveries`, undefined, {
        partner: partner.id,
        query: { limit: 50, status },
      }),
    [partner.id, webhook.id, status, tick],
  );
  // One error at a time, shown under the delivery it concerns.
  const retries = useForm();
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
                  onClick={() =>
                    retries.run(async () => {
                      await call('POST', `${base}/${webhook.id}/deliveries/${d.id}/retry`, undefined, { partner: partner.id });
                      log.reload();
                    }, d.id)
                  }
                >
                  Retry
                </button>
                {retries.errorOf(d.id) && (
                  <p class="field-error" role="alert">
                    {retries.errorOf(d.id)?.message}
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
