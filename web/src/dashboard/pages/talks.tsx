import { useEffect, useMemo, useState } from 'preact/hooks';
import { renderSVG } from 'uqr';
import { type Participant, type Partner, type Subscription, type Talk, type TalkInvite, type Theme, call } from '../api';
import { Link, navigate } from '../router';
import { describeRule, foldSeries } from '../recurrence';
import { orgPath, useSession } from '../session';
import {
  ConfirmButton,
  CopyButton,
  Empty,
  Field,
  FormAlert,
  type FormError,
  Loading,
  SelectField,
  formatTime,
  fromLocalInput,
  timeZone,
  toFormError,
  toLocalInput,
  useLoad,
} from '../ui';

const roomTypes: [string, string][] = [
  ['default', 'Default: everyone may speak'],
  ['questions', 'Questions: raise hands to ask'],
  ['hosted_events', 'Hosted event: speakers on stage, audience listens'],
];
const PAGE = 20;

/** A room type as people say it. */
function roomTypeName(value: string): string {
  return roomTypes.find(([v]) => v === value)?.[1].split(':')[0] ?? value;
}

/** How a talk's series repeats, in words: its rule is on the series' first talk (the talk itself, or one in the list). */
function seriesText(all: Talk[], t: Talk): string {
  const first = t.schedule ? t : all.find((x) => x.id === t.schedule_talk_id);
  return first?.schedule ? describeRule(first.schedule, first.start_time) : 'Part of a recurring series';
}

export function TalksPage({ partner }: { partner: Partner }) {
  const [q, setQ] = useState('');
  const [roomType, setRoomType] = useState('');
  const [when, setWhen] = useState('');
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const now = useMemo(() => new Date().toISOString(), [when]);
  const talks = useLoad(
    () =>
      call<{ talks: Talk[]; next_cursor: string | null }>('GET', '/api/v1/partners/talks', undefined, {
        partner: partner.id,
        query: {
          q,
          room_type: roomType,
          limit: PAGE,
          cursor,
          start_after: when === 'upcoming' ? now : undefined,
          start_before: when === 'past' ? now : undefined,
          status: when === 'live' ? 'live' : undefined,
        },
      }),
    [partner.id, q, roomType, when, cursor],
  );
  const filtering = q || roomType || when;
  const reset = () => setCursors([]);
  return (
    <>
      <div class="page-head">
        <h1>Talks</h1>
        <Link class="button" href={orgPath(partner.id, 'talks/new')}>
          New talk
        </Link>
      </div>
      <form class="filters" aria-label="Filter talks" onSubmit={(e) => e.preventDefault()}>
        <Field
          label="Search by name"
          name="q"
          type="search"
          value={q}
          onValue={(v) => {
            setQ(v);
            reset();
          }}
        />
        <SelectField
          label="Room type"
          name="room_type"
          value={roomType}
          onValue={(v) => {
            setRoomType(v);
            reset();
          }}
          options={[['', 'Any room type'], ...roomTypes.map(([v]) => [v, v] as [string, string])]}
        />
        <SelectField
          label="When"
          name="when"
          value={when}
          onValue={(v) => {
            setWhen(v);
            reset();
          }}
          options={[
            ['', 'Any time'],
            ['upcoming', 'Upcoming'],
            ['past', 'Started in the past'],
            ['live', 'Live now'],
          ]}
        />
      </form>
      {!talks.data ? (
        <Loading error={talks.error} />
      ) : talks.data.talks.length === 0 ? (
        filtering ? (
          <Empty title="No talk matches">
            <p>Change the search or the filters.</p>
          </Empty>
        ) : (
          <Empty title="No talks yet">
            <p>
              Create your first talk here with <strong>New talk</strong>, or from your server with <code>POST /api/p/talk</code> and an API token from{' '}
              <Link href={orgPath(partner.id, 'settings')}>settings</Link>. Each talk gets a short URL to share.
            </p>
          </Empty>
        )
      ) : (
        <>
          <ul class="cards" aria-label="Talks">
            {foldSeries(talks.data.talks).map(({ talk: t, rest }) => (
              <li key={t.id} class="card talk-card" data-talk-card={t.name}>
                <h2>
                  <Link href={orgPath(partner.id, `talks/${t.id}`)}>{t.name}</Link>
                </h2>
                <p class="muted">
                  <span class={`badge ${t.status}`}>{t.status}</span> {roomTypeName(t.room_type)} · {t.start_time ? formatTime(t.start_time) : 'no start time'}
                </p>
                {(t.schedule || t.schedule_talk_id) && (
                  <p class="muted">
                    {seriesText(talks.data?.talks ?? [], t)} · <Link href={orgPath(partner.id, `series/${t.schedule_talk_id ?? t.id}`)}>The whole series</Link>
                  </p>
                )}
                {rest.length > 0 && (
                  <details>
                    <summary>and {rest.length} more</summary>
                    <ul>
                      {rest.map((o) => (
                        <li key={o.id}>
                          <Link href={orgPath(partner.id, `talks/${o.id}`)}>{o.start_time ? formatTime(o.start_time) : o.name}</Link> ({o.status})
                        </li>
                      ))}
                    </ul>
                  </details>
                )}
              </li>
            ))}
          </ul>
          <nav class="pager" aria-label="Pages">
            <button type="button" class="secondary" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
              Previous page
            </button>
            <button
              type="button"
              class="secondary"
              disabled={!talks.data.next_cursor}
              onClick={() => talks.data?.next_cursor && setCursors([...cursors, talks.data.next_cursor])}
            >
              Next page
            </button>
          </nav>
        </>
      )}
    </>
  );
}

type Recurrence = '' | 'FREQ=DAILY' | 'FREQ=WEEKLY' | 'FREQ=MONTHLY' | 'custom';

/** Creates a talk, or edits one in place (then `onDone` closes the form on the talk's page). */
export function TalkForm({ partner, talk, onDone }: { partner: Partner; talk?: Talk; onDone?: (saved: boolean) => void }) {
  const themes = useLoad(
    () => call<{ themes: Theme[] }>('GET', '/api/v1/partners/themes', undefined, { partner: partner.id, query: { limit: 200 } }),
    [partner.id],
  );
  const [f, setF] = useState({
    name: talk?.name ?? '',
    description: talk?.description ?? '',
    room_type: talk?.room_type ?? 'default',
    access: talk?.access ?? 'anyone',
    mic_behavior: talk?.mic_behavior ?? 'start_off',
    theme_id: talk?.theme_id ?? '',
    start_time: toLocalInput(talk?.start_time ?? null),
    end_time: toLocalInput(talk?.end_time ?? null),
    subscriptions_allowed: talk?.subscriptions_allowed ?? true,
    recording: talk?.recording ?? true,
    thumbnail_url: talk?.thumbnail_url ?? '',
  });
  const knownRule = (['', 'FREQ=DAILY', 'FREQ=WEEKLY', 'FREQ=MONTHLY'] as string[]).includes(talk?.schedule ?? '');
  const [recurrence, setRecurrence] = useState<Recurrence>(knownRule ? ((talk?.schedule ?? '') as Recurrence) : 'custom');
  const [rule, setRule] = useState(talk?.schedule ?? '');
  const [error, setError] = useState<FormError | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof f) => (v: string | boolean) => setF({ ...f, [k]: v });
  const fields = ['name', 'description', 'room_type', 'access', 'mic_behavior', 'theme_id', 'start_time', 'end_time', 'schedule', 'thumbnail_url'];
  return (
    <>
      <h1>{talk ? `Edit ${talk.name}` : 'New talk'}</h1>
      <form
        class="card form"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          const schedule = recurrence === 'custom' ? rule.trim() || null : recurrence || null;
          const body = {
            name: f.name,
            description: f.description || null,
            room_type: f.room_type,
            access: f.access,
            mic_behavior: f.mic_behavior,
            theme_id: f.theme_id || null,
            start_time: fromLocalInput(f.start_time),
            end_time: fromLocalInput(f.end_time),
            subscriptions_allowed: f.subscriptions_allowed,
            recording: f.recording,
            thumbnail_url: f.thumbnail_url || null,
            ...(talk && !talk.schedule && !schedule ? {} : { schedule }),
          };
          try {
            const r = talk
              ? await call<{ talk: Talk }>('PATCH', `/api/v1/partners/talks/${talk.id}`, body, { partner: partner.id })
              : await call<{ talk: Talk }>('POST', '/api/p/talk', body, { partner: partner.id });
            if (onDone) onDone(true);
            else navigate(orgPath(partner.id, `talks/${r.talk.id}`));
          } catch (err) {
            setError(toFormError(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <Field label="Name" name="name" value={f.name} onValue={set('name')} error={error} required maxLength={200} />
        <div class="field">
          <label for="talk-description">Description</label>
          <textarea
            id="talk-description"
            name="description"
            rows={3}
            value={f.description}
            onInput={(e) => set('description')((e.target as HTMLTextAreaElement).value)}
          />
          <p class="field-error" data-field-error="description">
            {error?.field === 'description' ? error.message : null}
          </p>
        </div>
        <div class="grid">
          <SelectField label="Room type" name="room_type" value={f.room_type} onValue={set('room_type')} options={roomTypes} error={error} />
          <SelectField
            label="Access"
            name="access"
            value={f.access}
            onValue={set('access')}
            options={[
              ['anyone', 'Anyone with the link'],
              ['invite_only', 'Invite only'],
            ]}
            error={error}
          />
          <SelectField
            label="Microphones of non-hosts"
            name="mic_behavior"
            value={f.mic_behavior}
            onValue={set('mic_behavior')}
            options={[
              ['start_off', 'Start off'],
              ['start_on', 'Start on'],
            ]}
            error={error}
          />
          <SelectField
            label="Theme"
            name="theme_id"
            value={f.theme_id}
            onValue={set('theme_id')}
            options={[['', 'Default theme'], ...(themes.data?.themes ?? []).map((t) => [t.id, t.name] as [string, string])]}
            error={error}
            hint={<Link href={orgPath(partner.id, 'themes')}>Manage themes</Link>}
          />
          <Field
            label="Start"
            name="start_time"
            type="datetime-local"
            value={f.start_time}
            onValue={set('start_time')}
            error={error}
            hint={`Your time zone: ${timeZone}`}
          />
          <Field
            label="End"
            name="end_time"
            type="datetime-local"
            value={f.end_time}
            onValue={set('end_time')}
            error={error}
            hint={`Your time zone: ${timeZone}`}
          />
          <SelectField
            label="Repeats"
            name="schedule"
            value={recurrence}
            onValue={(v) => setRecurrence(v as Recurrence)}
            options={[
              ['', 'Does not repeat'],
              ['FREQ=DAILY', 'Every day'],
              ['FREQ=WEEKLY', 'Every week'],
              ['FREQ=MONTHLY', 'Every month'],
              ['custom', 'Custom rule (RRULE)'],
            ]}
            error={recurrence === 'custom' ? null : error}
            hint="A repeating talk needs a start time."
          />
          {recurrence === 'custom' && (
            <Field label="RRULE" name="schedule" value={rule} onValue={setRule} error={error} placeholder="FREQ=WEEKLY;BYDAY=TH;COUNT=10" />
          )}
          <Field label="Thumbnail URL" name="thumbnail_url" type="url" value={f.thumbnail_url} onValue={set('thumbnail_url')} error={error} />
        </div>
        <div class="checks">
          <label>
            <input type="checkbox" checked={f.subscriptions_allowed} onChange={(e) => set('subscriptions_allowed')((e.target as HTMLInputElement).checked)} />{' '}
            Let people subscribe to this talk
          </label>
          <label>
            <input type="checkbox" checked={f.recording} onChange={(e) => set('recording')((e.target as HTMLInputElement).checked)} /> Record this talk
          </label>
        </div>
        <FormAlert error={error} fields={fields} />
        <div class="row">
          <button type="submit" disabled={busy}>
            {talk ? 'Save talk' : 'Create talk'}
          </button>
          {onDone ? (
            <button type="button" class="secondary" onClick={() => onDone(false)}>
              Cancel
            </button>
          ) : (
            <Link class="button secondary" href={talk ? orgPath(partner.id, `talks/${talk.id}`) : orgPath(partner.id, 'talks')}>
              Cancel
            </Link>
          )}
        </div>
      </form>
    </>
  );
}

export function TalkDetail({ partner, id }: { partner: Partner; id: string }) {
  const talk = useLoad(() => call<{ talk: Talk }>('GET', `/api/v1/partners/talks/${id}`, undefined, { partner: partner.id }), [partner.id, id]);
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<FormError | null>(null);
  if (!talk.data) return <Loading error={talk.error} />;
  const t = talk.data.talk;
  if (editing)
    return (
      <TalkForm
        partner={partner}
        talk={t}
        onDone={(saved) => {
          setEditing(false);
          if (saved) talk.reload();
        }}
      />
    );
  return (
    <>
      <div class="page-head">
        <h1>{t.name}</h1>
        <span class={`badge ${t.status}`}>{t.status}</span>
      </div>
      <div class="two">
        <section class="card" aria-labelledby="share">
          <h2 id="share">Share</h2>
          <p class="row">
            <a href={t.short_url} data-testid="short-url">
              {t.short_url}
            </a>{' '}
            <CopyButton text={t.short_url} what="short URL" />
          </p>
          <div
            class="qr"
            role="img"
            aria-label={`QR code for ${t.short_url}`}
            // uqr renders an SVG string locally; nothing is fetched.
            dangerouslySetInnerHTML={{ __html: renderSVG(t.short_url, { border: 2, whiteColor: '#ffffff', blackColor: '#000000' }) }}
          />
        </section>
        <section class="card" aria-labelledby="details">
          <h2 id="details">Details</h2>
          <dl class="facts">
            <dt>Starts</dt>
            <dd>{formatTime(t.start_time)}</dd>
            <dt>Ends</dt>
            <dd>{formatTime(t.end_time)}</dd>
            <dt>Repeats</dt>
            <dd>
              {t.schedule || t.schedule_talk_id ? (
                <>
                  {t.schedule ? describeRule(t.schedule, t.start_time) : 'Part of a series'} ·{' '}
                  <Link href={orgPath(partner.id, `series/${t.schedule_talk_id ?? t.id}`)}>The whole series</Link>
                </>
              ) : (
                'Does not repeat'
              )}
            </dd>
            <dt>Room type</dt>
            <dd>{t.room_type}</dd>
            <dt>Access</dt>
            <dd>{t.access}</dd>
            <dt>Microphones</dt>
            <dd>{t.mic_behavior}</dd>
            <dt>Theme</dt>
            <dd>{t.theme_id ? <ThemeName partner={partner} id={t.theme_id} /> : 'default'}</dd>
            <dt>Subscriptions</dt>
            <dd>{t.subscriptions_allowed ? 'allowed' : 'off'}</dd>
            <dt>Recording</dt>
            <dd>{t.recording ? 'on' : 'off'}</dd>
            <dt>Talk id</dt>
            <dd>
              <code>{t.id}</code>
            </dd>
          </dl>
          {t.description && <p>{t.description}</p>}
        </section>
      </div>
      <div class="row actions">
        <button type="button" onClick={() => setEditing(true)}>
          Edit talk
        </button>
        <Link class="button secondary" href={`${orgPath(partner.id, 'recordings')}?talk_id=${t.id}`}>
          Recordings
        </Link>
        {t.status === 'live' && (
          <ConfirmButton
            label="End talk"
            what={t.name}
            confirm="Everyone in the room is disconnected."
            onConfirm={async () => {
              try {
                await call('POST', `/api/v1/partners/talks/${t.id}/end`, undefined, { partner: partner.id });
                talk.reload();
              } catch (err) {
                setError(toFormError(err));
              }
            }}
          />
        )}
        <ConfirmButton
          label="Delete"
          what={t.name}
          confirm={t.schedule ? 'This deletes the whole series.' : 'The short URL stops working.'}
          onConfirm={async () => {
            try {
              await call('DELETE', `/api/v1/partners/talks/${t.id}`, undefined, { partner: partner.id });
              navigate(orgPath(partner.id, 'talks'));
            } catch (err) {
              setError(toFormError(err));
            }
          }}
        />
      </div>
      <FormAlert error={error} fields={[]} />
      <InTheRoom partner={partner} talk={t} />
      <div class="two">
        <JoinAsHost partner={partner} talk={t} />
        <Invites partner={partner} talk={t} />
      </div>
      <Subscribers partner={partner} talk={t} />
    </>
  );
}

const roleNames: [string, string][] = [
  ['host', 'Host: moderates and speaks'],
  ['speaker', 'Speaker: on stage'],
  ['listener', 'Listener: in the audience'],
];

/** Who is connected to the talk's room now; looked up again every five seconds. */
/** A theme by its name (its id is on the theme's page, for the API). */
function ThemeName({ partner, id }: { partner: Partner; id: string }) {
  const theme = useLoad(() => call<{ theme: { name: string } }>('GET', `/api/v1/partners/themes/${id}`, undefined, { partner: partner.id }), [partner.id, id]);
  return <Link href={orgPath(partner.id, `themes/${id}`)}>{theme.data?.theme.name ?? (theme.error ? 'a deleted theme' : 'loading…')}</Link>;
}

function InTheRoom({ partner, talk }: { partner: Partner; talk: Talk }) {
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
function JoinAsHost({ partner, talk }: { partner: Partner; talk: Talk }) {
  const { me } = useSession();
  const [name, setName] = useState('');
  const [role, setRole] = useState('speaker');
  const [error, setError] = useState<FormError | null>(null);
  const [link, setLink] = useState<{ url: string; who: string; role: string } | null>(null);
  const issue = async (body: { name: string; role: string; uid?: string }) => {
    setError(null);
    try {
      const r = await call<{ join_token: { join_url: string; role: string } }>('POST', `/api/v1/partners/talks/${talk.id}/join_tokens`, body, {
        partner: partner.id,
      });
      setLink({ url: r.join_token.join_url, who: body.name, role: r.join_token.role });
    } catch (err) {
      setError(toFormError(err));
    }
  };
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
              issue({ name, role });
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

function Invites({ partner, talk }: { partner: Partner; talk: Talk }) {
  const invites = useLoad(
    () => call<{ invites: TalkInvite[] }>('GET', `/api/v1/partners/talks/${talk.id}/invites`, undefined, { partner: partner.id }),
    [partner.id, talk.id],
  );
  const [maxUses, setMaxUses] = useState('');
  const [expiry, setExpiry] = useState('');
  const [error, setError] = useState<FormError | null>(null);
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
        onSubmit={async (e) => {
          e.preventDefault();
          setError(null);
          try {
            const r = await call<{ invite: TalkInvite }>(
              'POST',
              `/api/v1/partners/talks/${talk.id}/invites`,
              { max_uses: maxUses ? Number(maxUses) : null, expiry: fromLocalInput(expiry) },
              { partner: partner.id },
            );
            setMade(r.invite.join_url ?? null);
            setMaxUses('');
            invites.reload();
          } catch (err) {
            setError(toFormError(err));
          }
        }}
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

function Subscribers({ partner, talk }: { partner: Partner; talk: Talk }) {
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
