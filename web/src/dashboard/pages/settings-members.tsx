import { useState } from 'preact/hooks';
import { type Member, type OrgInvite, type Partner, call } from '../api';
import { useForm } from '../form';
import { canAdmin, useSession } from '../session';
import { ConfirmButton, CopyButton, FormAlert, Loading, SelectField, formatTime, useLoad } from '../ui';

const roleOptions: [string, string][] = [
  ['member', 'Member: talks, groups, themes, recordings'],
  ['admin', 'Admin: also API tokens, webhooks, members'],
  ['owner', 'Owner: everything, including owners'],
];

/** Who is in the organization with which role; owners and admins change roles and invite teammates. */
export function Members({ partner }: { partner: Partner }) {
  const { me, refresh } = useSession();
  const admin = canAdmin(partner);
  const members = useLoad(() => call<{ members: Member[] }>('GET', `/api/v1/orgs/${partner.id}/members`), [partner.id]);
  const invites = useLoad(
    () => (admin ? call<{ invites: OrgInvite[] }>('GET', `/api/v1/orgs/${partner.id}/invites`) : Promise.resolve({ invites: [] })),
    [partner.id, admin],
  );
  const [role, setRole] = useState('member');
  const [link, setLink] = useState<string | null>(null);
  const invite = useForm();
  const error = invite.error;
  // One error at a time across the rows, shown under the row it concerns.
  const rows = useForm();
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
                            await rows.run(async () => {
                              await call('PATCH', `/api/v1/orgs/${partner.id}/members/${m.id}`, { role: next });
                              if (m.id === me?.user.id) await refresh();
                            }, m.id);
                            members.reload();
                          }}
                        >
                          <option value="member">member</option>
                          <option value="admin">admin</option>
                          <option value="owner">owner</option>
                        </select>
                        {rows.errorOf(m.id) && (
                          <p class="field-error" role="alert">
                            {rows.errorOf(m.id)?.message}
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
                        onConfirm={() =>
                          rows.run(async () => {
                            await call('DELETE', `/api/v1/orgs/${partner.id}/members/${m.id}`);
                            if (m.id === me?.user.id) await refresh();
                            else members.reload();
                          }, m.id)
                        }
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
            onSubmit={invite.submit(async () => {
              const r = await call<{ invite_url: string }>('POST', `/api/v1/orgs/${partner.id}/invites`, { role });
              setLink(r.invite_url);
              invites.reload();
            })}
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
