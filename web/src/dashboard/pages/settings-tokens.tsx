import { useState } from 'preact/hooks';
import { type ApiToken, type Partner, call } from '../api';
import { useForm } from '../form';
import { ConfirmButton, CopyButton, Empty, Field, FormAlert, Loading, formatTime, useLoad } from '../ui';

/** The organization's API tokens: make one (shown once), list and revoke them. For owners and admins. */
export function Tokens({ partner }: { partner: Partner }) {
  const tokens = useLoad(() => call<{ tokens: ApiToken[] }>('GET', `/api/v1/orgs/${partner.id}/tokens`), [partner.id]);
  const [name, setName] = useState('');
  const form = useForm();
  const error = form.error;
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null);
  const active = tokens.data?.tokens.filter((t) => !t.revoked_at) ?? [];
  return (
    <section class="card" aria-labelledby="tokens">
      <h2 id="tokens">API tokens</h2>
      <p class="muted">
        Send a token as <code>Authorization: Bearer &lt;token&gt;</code> to the partner API (see <a href="/docs">the API docs</a>).
      </p>
      <form
        class="inline-form"
        onSubmit={form.submit(async () => {
          const r = await call<{ api_token: string; token: ApiToken }>('POST', `/api/v1/orgs/${partner.id}/tokens`, { name });
          setCreated({ name: r.token.name, token: r.api_token });
          setName('');
          tokens.reload();
        })}
      >
        <Field label="Token name" name="name" value={name} onValue={setName} error={error} required placeholder="e.g. production server" />
        <button type="submit">Create token</button>
        <FormAlert error={error} fields={['name']} />
      </form>
      {created && (
        <div class="reveal" role="status">
          <p>
            <strong>{created.name}</strong>: copy this token now. It is shown only once.
          </p>
          <p class="row">
            <code data-testid="new-token">{created.token}</code> <CopyButton text={created.token} what="API token" />
          </p>
          <button type="button" class="secondary" onClick={() => setCreated(null)}>
            I have stored it
          </button>
        </div>
      )}
      {!tokens.data ? (
        <Loading error={tokens.error} />
      ) : active.length === 0 ? (
        <Empty title="No API tokens yet">
          <p>Create a token above, then call the API from your server to create your first talk.</p>
        </Empty>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Active API tokens</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Prefix</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {active.map((t) => (
                <tr key={t.id} data-token={t.name}>
                  <td>{t.name}</td>
                  <td>
                    <code>{t.prefix}…</code>
                  </td>
                  <td>{formatTime(t.created_at)}</td>
                  <td>{t.last_used_at ? formatTime(t.last_used_at) : 'never'}</td>
                  <td>
                    <ConfirmButton
                      label="Revoke"
                      what={`token ${t.name}`}
                      confirm="Apps using it stop working at once."
                      onConfirm={async () => {
                        await call('DELETE', `/api/v1/orgs/${partner.id}/tokens/${t.id}`);
                        tokens.reload();
                      }}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
