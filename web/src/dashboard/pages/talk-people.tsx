import { useEffect, useState } from 'preact/hooks';
import { call, type Participant, type Partner, type Subscription, type Talk, type TalkInvite } from '../api';
import { useSession } from '../session';
import { ConfirmButton, CopyButton, Field, FormAlert, formatTime, fromLocalInput, Loading, SelectField, timeZone, useLoad } from '../ui';
import { useForm } from '../form';

const roleNames: [string, string][] = [
  ['host', 'Host: moderates and speaks'],
  ['speaker', 'Speaker: on stage'],
  ['listener', 'Listener: in the audience'],
];

export function InTheRoom({ partner, talk }: { partner: Partner; talk: Talk }) {
  const people = useLoad(
    () => call<{ participants: Participant[] }>('GET', `/api/v1/partners/talks/${talk.id}/participants`, undefined, { partner: partner.id }),
    [partner.id, talk.id],
  );
  useEffect(() => {
    if (talk.status === 'ended') return;
    const timer = setInterval(people.reload, 5000);
    return () => clearInterval(timer);
  }, [talk.status, people.reload]);
  const list = people.data?.participants ?? [];
  return (
    <section class="card" aria-labelledby="in-room">
      <div class="page-head">
        <h2 id="in-room">In the room now</h2>
        <button type="button" class="secondary" onClick={people.reload}>
          Refresh
        </button>
      </div>
      {!people.data ? (
        <Loading error={people.error} />
      ) : list.length === 0 ? (
        <p class="muted" data-testid="room-empty">
          {talk.status === 'ended' ? 'This talk has ended.' : 'Nobody is in the room right now. The list updates by itself while this page is open.'}
        </p>
      ) : (
        <>
          <p aria-live="polite">
            {list.length} {list.length === 1 ? 'person' : 'people'} in the room
          </p>
          <ul class="people" aria-label="People in the room">
            {list.map((x) => (
              <li key={x.participant_id} data-participant={x.name}>
                {x.name} <span class="muted">{x.role}</span>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

/** Personal join links: "join as host" for the signed-in user, or one for someone else with a role. */
export function JoinAsHost({ partner, talk }: { partner: Partner; talk: Talk }) {
  const { me } = useSession();
  const [name, setName] = useState('');
  const [role, setRole] = useState('speaker');
  const form = useForm();
  const error = form.error;
  const [link, setLink] = useState<{ url: string; who: string; role: string } | null>(null);
  const issue = (body: { name: string; role: string; uid?: string }) =>
    form.run(async () => {
      const r = await call<{ join_token: { join_url: string; role: string } }>('POST', `/api/v1/partners/talks/${talk.id}/join_tokens`, body, {
        partner: partner.id,
      });
      setLink({ url: r.join_token.join_url, who: body.name, role: r.join_token.role });
    });
  return (
    <section class="card" aria-labelledby="join">
      <h2 id="join">Join links</h2>
      {talk.status === 'ended' ? (
        <p class="muted">This talk has ended; nobody can join it any more.</p>
      ) : (
        <>
          <p>
            <button type="button" onClick={() => issue({ name: me?.user.name ?? 'Host', role: 'host', uid: me?.user.id })}>
              Join as host
            </button>
          </p>
          <form
            class="form"
            onSubmit={(e) => {
              e.preventDefault();
              void issue({ name, role });
            }}
          >
            <p class="muted">Or make a personal link for someone else (a guest speaker, a co-host).</p>
            <Field label="Their name" name="name" value={name} onValue={setName} error={error} required maxLength={60} />
            <SelectField label="Their role" name="role" value={role} onValue={setRole} options={roleNames} error={error} />
            <FormAlert error={error} fields={['name', 'role']} />
            <button type="submit" class="secondary">
              Make join link
            </button>
          </form>
          {link && (
            <div class="reveal" role="status">
              <p>
                Personal link for <strong>{link.who}</strong> as {link.role}. It is shown only once; whoever has it joins as {link.who}.
              </p>
              <p class="row">
                <code class="break" data-testid="join-url">
                  {link.url}
                </code>{' '}
                <CopyButton text={link.url} what="join link" />
              </p>
              <p>
                <a class="button" href={link.url} target="_blank" rel="noreferrer">
                  Open the room
                </a>
              </p>
            </div>
          )}
        </>
      )}
    </section>
  );
}

export function Invites({ partner, talk }: { partner: Partner; talk: Talk }) {
  const invites = useLoad(
    () => call<{ invites: TalkInvite[] }>('GET', `/api/v1/partners/talks/${talk.id}/invites`, undefined, { partner: partner.id }),
    [partner.id, talk.id],
  );
  const [maxUses, setMaxUses] = useState('');
  const [expiry, setExpiry] = useState('');
  const form = useForm();
  const error = form.error;
  const [made, setMade] = useState<string | null>(null);
  const active = invites.data?.invites.filter((i) => !i.revoked_at) ?? [];
  return (
    <section class="card" aria-labelledby="invites">
      <h2 id="invites">Invite links</h2>
      <p class="muted">
        {talk.access === 'invite_only'
          ? 'This talk is invite only: people need one of these links to join.'
          : 'Anyone with the short URL can join; invite links also work.'}
      </p>
      <form
        class="form"
        onSubmit={form.submit(async () => {
          const r = await call<{ invite: TalkInvite }>(
            'POST',
            `/api/v1/partners/talks/${talk.id}/invites`,
            { max_uses: maxUses ? Number(maxUses) : null, expiry: fromLocalInput(expiry) },
            { partner: partner.id },
          );
          setMade(r.invite.join_url ?? null);
          setMaxUses('');
          invites.reload();
        })}
      >
        <div class="grid">
          <Field
            label="Uses"
            name="max_uses"
            type="number"
            value={maxUses}
            onValue={setMaxUses}
            error={error}
            hint="Empty for unlimited; 1 for a single-use link."
          />
          <Field
            label="Expires"
            name="expiry"
            type="datetime-local"
            value={expiry}
            onValue={setExpiry}
            error={error}
            hint={`Optional. Your time zone: ${timeZone}`}
          />
        </div>
        <FormAlert error={error} fields={['max_uses', 'expiry']} />
        <button type="submit" class="secondary">
          Create invite link
        </button>
      </form>
      {made && (
        <p class="row reveal" role="status">
          <code class="break" data-testid="talk-invite-url">
            {made}
          </code>{' '}
          <CopyButton text={made} what="invite link" />
        </p>
      )}
      {!invites.data ? (
        <Loading error={invites.error} />
      ) : active.length === 0 ? (
        <p class="muted">No invite links yet.</p>
      ) : (
        <ul class="plain" aria-label="Invite links">
          {active.map((i) => (
            <li key={i.id} data-invite={i.id}>
              Used {i.uses}
              {i.max_uses !== null ? ` of ${i.max_uses}` : ''} {i.uses === 1 ? 'time' : 'times'}
              {i.expires_at ? `, until ${formatTime(i.expires_at)}` : ''}, made {formatTime(i.created_at)}{' '}
              <ConfirmButton
                label="Revoke"
                what={`invite link made ${formatTime(i.created_at)}`}
                confirm="The link stops working."
                onConfirm={async () => {
                  await call('DELETE', `/api/v1/partners/talks/${talk.id}/invites/${i.id}`, undefined, { partner: partner.id });
                  invites.reload();
                }}
              />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function Subscribers({ partner, talk }: { partner: Partner; talk: Talk }) {
  const subs = useLoad(
    () => call<{ subscriptions: Subscription[] }>('GET', `/api/v1/partners/talks/${talk.id}/subscriptions`, undefined, { partner: partner.id }),
    [partner.id, talk.id],
  );
  return (
    <section class="card" aria-labelledby="subscribers">
      <h2 id="subscribers">Subscribers</h2>
      {!subs.data ? (
        <Loading error={subs.error} />
      ) : subs.data.subscriptions.length === 0 ? (
        <p class="muted">
          {talk.subscriptions_allowed
            ? 'Nobody has subscribed yet. People subscribe on the talk page before it starts, and get a calendar file.'
            : 'Subscriptions are off for this talk. Turn them on with Edit talk.'}
        </p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Subscribers</caption>
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Name</th>
                <th scope="col">Subscribed</th>
              </tr>
            </thead>
            <tbody>
              {subs.data.subscriptions.map((x) => (
                <tr key={x.id} data-subscriber={x.email}>
                  <td>{x.email}</td>
                  <td>{x.name ?? ''}</td>
                  <td>{formatTime(x.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
