import { useState } from 'preact/hooks';
import { type Partner, call } from '../api';
import { canAdmin, useSession } from '../session';
import { ConfirmButton, CopyButton, Empty, Field, FormAlert, type FormError, Loading, SelectField, formatTime, toFormError, useLoad } from '../ui';

interface Token {
  id: string;
  name: string;
  prefix: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}
interface Member {
  id: string;
  email: string;
  name: string;
  role: Partner['role'];
}
interface Invite {
  id: string;
  role: string;
  expires_at: string;
}

const roleOptions: [string, string][] = [
  ['member', 'Member: talks, groups, themes, recordings'],
  ['admin', 'Admin: also API tokens, webhooks, members'],
  ['owner', 'Owner: everything, including owners'],
];

export function SettingsPage({ partner }: { partner: Partner }) {
  return (
    <>
      <h1>Organization settings</h1>
      <section class="card" aria-labelledby="pid">
        <h2 id="pid">Partner id</h2>
        <p class="muted">Your organization's id in the API (X-Partner-Id, partner_id in answers).</p>
        <p class="row">
          <code data-testid="partner-id">{partner.id}</code> <CopyButton text={partner.id} what="partner id" />
        </p>
      </section>
      {canAdmin(partner) ? (
        <Tokens partner={partner} />
      ) : (
        <section class="card">
          <h2>API tokens</h2>
          <p>Only owners and admins of {partner.name} manage API tokens. Ask one of them for a token.</p>
        </section>
      )}
      <Members partner={partner} />
      <EmbedOrigins partner={partner} />
    </>
  );
}

/** The partner's own sites that may frame its talk pages (and open their room sockets). */
function EmbedOrigins({ partner }: { partner: Partner }) {
  const settings = useLoad(() => call<{ settings: { embed_origins: string[] } }>('GET', `/api/v1/orgs/${partner.id}/settings`), [partner.id]);
  const [text, setText] = useState<string | null>(null);
  const [error, setError] = useState<FormError | null>(null);
  const [saved, setSaved] = useState(false);
  if (!settings.data) return <Loading error={settings.error} />;
  const value = text ?? settings.data.settings.embed_origins.join(' ');
  return (
    <section class="card" aria-labelledby="embed">
      <h2 id="embed">Embedding talk pages</h2>
      <p class="muted">
        By default no other site can show your talk pages in a frame. List your own sites' origins (https:// and the host, no path) to embed them there.
      </p>
      {canAdmin(partner) ? (
        <form
          onSubmit={async (e) => {
            e.preventDefault();
            setError(null);
            setSaved(false);
            try {
              const origins = value.split(/[\s,]+/).filter(Boolean);
              const r = await call<{ settings: { embed_origins: string[] } }>('PUT', `/api/v1/orgs/${partner.id}/settings`, { embed_origins: origins });
              setText(r.settings.embed_origins.join(' '));
              setSaved(true);
            } catch (err) {
              const fe = toFormError(err);
              setError(fe.field?.startsWith('embed_origins') ? { ...fe, field: 'embed_origins' } : fe);
            }
          }}
        >
          <Field
            label="Allowed embed origins"
            name="embed_origins"
            value={value}
            onValue={setText}
            error={error}
            placeholder="https://www.example.com"
            hint="Separate several with spaces or commas. Leave empty so that no site frames your talks."
          />
          <FormAlert error={error} fields={['embed_origins']} />
          <button type="submit">Save embed origins</button>
          {saved && <p role="status">Saved.</p>}
        </form>
      ) : (
        <p>{value ? `Allowed: ${value}` : 'No site may frame your talk pages.'} Owners and admins change this.</p>
      )}
    </section>
  );
}

function Tokens({ partner }: { partner: Partner }) {
  const tokens = useLoad(() => call<{ tokens: Token[] }>('GET', `/api/v1/orgs/${partner.id}/tokens`), [partner.id]);
  const [name, setName] = useState('');
  const [error, setError] = useState<FormError | null>(null);
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
        onSubmit={async (e) => {
          e.preventDefault();
          setError(null);
          try {
            const r = await call<{ api_token: string; token: Token }>('POST', `/api/v1/orgs/${partner.id}/tokens`, { name });
            setCreated({ name: r.token.name, token: r.api_token });
            setName('');
            tokens.reload();
          } catch (err) {
            setError(toFormError(err));
          }
        }}
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

function Members({ partner }: { partner: Partner }) {
  const { me, refresh } = useSession();
  const admin = canAdmin(partner);
  const members = useLoad(() => call<{ members: Member[] }>('GET', `/api/v1/orgs/${partner.id}/members`), [partner.id]);
  const invites = useLoad(
    () => (admin ? call<{ invites: Invite[] }>('GET', `/api/v1/orgs/${partner.id}/invites`) : Promise.resolve({ invites: [] })),
    [partner.id, admin],
  );
  const [role, setRole] = useState('member');
  const [link, setLink] = useState<string | null>(null);
  const [error, setError] = useState<FormError | null>(null);
  const [rowError, setRowError] = useState<{ id: string; error: FormError } | null>(null);
  return (
    <section class="card" aria-labelledby="members">
      <h2 id="members">Members and roles</h2>
      {!members.data ? (
        <Loading error={members.error} />
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Members</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {members.data.members.map((m) => (
                <tr key={m.id} data-member={m.email}>
                  <td>{m.name}</td>
                  <td>{m.email}</td>
                  <td>
                    {admin ? (
                      <>
                        <select
                          aria-label={`Role of ${m.name}`}
                          value={m.role}
                          onChange={async (e) => {
                            const next = (e.target as HTMLSelectElement).value;
                            setRowError(null);
                            try {
                              await call('PATCH', `/api/v1/orgs/${partner.id}/members/${m.id}`, { role: next });
                              if (m.id === me?.user.id) await refresh();
                            } catch (err) {
                              setRowError({ id: m.id, error: toFormError(err) });
                            }
                            members.reload();
                          }}
                        >
                          <option value="member">member</option>
                          <option value="admin">admin</option>
                          <option value="owner">owner</option>
                        </select>
                        {rowError?.id === m.id && (
                          <p class="field-error" role="alert">
                            {rowError.error.message}
                          </p>
                        )}
                      </>
                    ) : (
                      m.role
                    )}
                  </td>
                  <td>
                    {(admin || m.id === me?.user.id) && (
                      <ConfirmButton
                        label={m.id === me?.user.id ? 'Leave' : 'Remove'}
                        what={m.name}
                        confirm={m.id === me?.user.id ? 'You lose access to this organization.' : `${m.name} loses access.`}
                        onConfirm={async () => {
                          setRowError(null);
                          try {
                            await call('DELETE', `/api/v1/orgs/${partner.id}/members/${m.id}`);
                            if (m.id === me?.user.id) await refresh();
                            else members.reload();
                          } catch (err) {
                            setRowError({ id: m.id, error: toFormError(err) });
                          }
                        }}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {admin && (
        <>
          <h3>Invite a teammate</h3>
          <p class="muted">Make a link and send it to them; it works once, for a week.</p>
          <form
            class="inline-form"
            onSubmit={async (e) => {
              e.preventDefault();
              setError(null);
              try {
                const r = await call<{ invite_url: string }>('POST', `/api/v1/orgs/${partner.id}/invites`, { role });
                setLink(r.invite_url);
                invites.reload();
              } catch (err) {
                setError(toFormError(err));
              }
            }}
          >
            <SelectField label="Role" name="role" value={role} onValue={setRole} options={roleOptions} error={error} />
            <button type="submit">Create invite link</button>
            <FormAlert error={error} fields={['role']} />
          </form>
          {link && (
            <p class="row reveal" role="status">
              <code data-testid="invite-link">{link}</code> <CopyButton text={link} what="invite link" />
            </p>
          )}
          {invites.data && invites.data.invites.length > 0 && (
            <>
              <h3>Pending invites</h3>
              <ul class="plain">
                {invites.data.invites.map((i) => (
                  <li key={i.id}>
                    {i.role}, until {formatTime(i.expires_at)}{' '}
                    <ConfirmButton
                      label="Revoke"
                      what={`invite for a ${i.role}`}
                      confirm="The link stops working."
                      onConfirm={async () => {
                        await call('DELETE', `/api/v1/orgs/${partner.id}/invites/${i.id}`);
                        invites.reload();
                      }}
                    />
                  </li>
                ))}
              </ul>
            </>
          )}
        </>
      )}
    </section>
  );
}
