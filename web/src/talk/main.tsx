import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import '../shared/theme.css';
import '../shared/page.css';
import './talk.css';
import { type Participant, type RemovedPerson, RoomClient, type RoomState } from './room';
import { type CaptionLine, withCaption } from './captions';
import { HandQueue } from './hands';
import { QuestionPanel } from './questions';
import { Reactions } from './reactions';
import { tabStorage } from './storage';
import { MicCheck, RecordingNotice, WhoIsHere } from './prejoin';
import { ShareButton } from './share';
import { Shortcuts } from './shortcuts';
import { LiveStatus } from './status';

interface PageData {
  talk: {
    id: string;
    code: string;
    name: string;
    description: string | null;
    start_time: string | null;
    end_time: string | null;
    status: string;
    access: string;
    room_type: string;
    subscriptions_allowed: boolean;
    recording: boolean;
    transcribed: boolean;
    url: string;
    /** The series page, when the talk is one of a recurring series. */
    series_url: string | null;
  };
  theme: { logo_url: string | null; background_url: string | null };
  present: { name: string; role: string; photo_url: string | null }[];
}

const data = JSON.parse(document.getElementById('talk-data')?.textContent ?? '{}') as PageData;
const secrets = new URLSearchParams(location.hash.replace(/^#/, ''));
// A pasted invite or join link on an open page changes only the fragment: start over with it.
window.addEventListener('hashchange', () => location.reload());
const fmt = (iso: string | null) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'full', timeStyle: 'short' }) : null);

function Countdown({ to }: { to: string }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  const left = Math.max(0, new Date(to).getTime() - now);
  if (left === 0) return <span>starting now</span>;
  const s = Math.floor(left / 1000);
  const units: [number, string][] = [
    [Math.floor(s / 86400), 'd'],
    [Math.floor((s % 86400) / 3600), 'h'],
    [Math.floor((s % 3600) / 60), 'm'],
    [s % 60, 's'],
  ];
  // From the first unit that is not zero: "59m 57s", not "0h 59m 57s".
  const first = units.findIndex(([n]) => n > 0);
  const parts = units.slice(first).map(([n, unit]) => `${n}${unit}`);
  return <span aria-live="off">starts in {parts.join(' ')}</span>;
}

function Avatar({ p }: { p: { name: string; photo_url: string | null } }) {
  return p.photo_url ? (
    <img class="avatar" src={p.photo_url} alt="" />
  ) : (
    <span class="avatar initials" aria-hidden="true">
      {p.name.slice(0, 1).toUpperCase()}
    </span>
  );
}

function Header() {
  const { talk, theme } = data;
  return (
    <header class="talk-header">
      {theme.logo_url && <img class="logo" src={theme.logo_url} alt="" />}
      <h1>{talk.name}</h1>
      {talk.description && <p class="description">{talk.description}</p>}
      {talk.start_time && (
        <p>
          <time dateTime={talk.start_time}>{fmt(talk.start_time)}</time>
          {talk.end_time && (
            <>
              {' – '}
              <time dateTime={talk.end_time}>{fmt(talk.end_time)}</time>
            </>
          )}
        </p>
      )}
      {talk.series_url && (
        <p class="series-link">
          <a href={talk.series_url}>More talks in this series</a>
        </p>
      )}
    </header>
  );
}

function Subscribe() {
  const [email, setEmail] = useState('');
  const [done, setDone] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const res = await fetch(`/t/${data.talk.code}/subscribe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email }),
    });
    const body = await res.json();
    if (body.error) setError(body.error.message);
    else setDone(body.subscription.calendar_url);
  };
  if (done)
    return (
      <p role="status" class="card">
        Subscribed. <a href={done}>Add it to your calendar (.ics)</a>
      </p>
    );
  return (
    <form class="card" onSubmit={submit}>
      <h2>Subscribe</h2>
      <label>
        Email
        <input type="email" required value={email} onInput={(e) => setEmail((e.target as HTMLInputElement).value)} />
      </label>
      <button type="submit">Subscribe</button>
      {error && <p role="alert">{error}</p>}
    </form>
  );
}

function PreJoin({ onJoin, error }: { onJoin(f: { name: string; username: string; photo_url: string }, micId: string): void; error: string | null }) {
  const mic = useRef('');
  const [name, setName] = useState('');
  const [username, setUsername] = useState('');
  const [photo, setPhoto] = useState('');
  const hasSecret = secrets.has('token') || secrets.has('invite');
  const inviteOnly = data.talk.access === 'invite_only' && !hasSecret;
  return (
    <main class="page">
      <Header />
      <RecordingNotice recording={data.talk.recording} transcribed={data.talk.transcribed} />
      <WhoIsHere code={data.talk.code} initial={data.present} />
      {data.talk.start_time && new Date(data.talk.start_time).getTime() > Date.now() && (
        <p class="lobby">
          <Countdown to={data.talk.start_time} />
        </p>
      )}
      {inviteOnly ? (
        <p role="alert" class="card">
          This talk is invite only: open it with your invite link.
        </p>
      ) : (
        <form
          class="card join"
          onSubmit={(e) => {
            e.preventDefault();
            onJoin({ name, username, photo_url: photo }, mic.current);
          }}
        >
          <h2>Join the talk</h2>
          {!secrets.has('token') && (
            <>
              <label>
                Display name
                <input name="name" required maxLength={60} value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
              </label>
              <label>
                Username (optional)
                <input name="username" maxLength={60} value={username} onInput={(e) => setUsername((e.target as HTMLInputElement).value)} />
              </label>
              <label>
                Photo URL (optional)
                <input name="photo_url" type="url" value={photo} onInput={(e) => setPhoto((e.target as HTMLInputElement).value)} />
              </label>
            </>
          )}
          <button type="submit" class="primary">
            Join
          </button>
        </form>
      )}
      {!inviteOnly && (
        <MicCheck
          onPick={(id) => {
            mic.current = id;
          }}
        />
      )}
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <div class="prejoin-share">
        <ShareButton url={data.talk.url} title={data.talk.name} />
      </div>
      {data.talk.subscriptions_allowed && <Subscribe />}
    </main>
  );
}

/**
 * A button that asks first: a modal dialog (focus moves into it, Escape cancels) with the
 * consequence spelled out and the action's own name on the confirming button.
 */
function ConfirmButton({
  label,
  title,
  body,
  confirm,
  onConfirm,
  class: cls,
}: {
  label: string;
  title: string;
  body: string;
  confirm: string;
  onConfirm(): void;
  class?: string;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const id = useRef(`confirm-${Math.random().toString(36).slice(2)}`).current;
  return (
    <>
      <button type="button" class={cls} onClick={() => dialog.current?.showModal()}>
        {label}
      </button>
      <dialog ref={dialog} class="confirm" aria-labelledby={`${id}-title`} aria-describedby={`${id}-body`}>
        <h2 id={`${id}-title`}>{title}</h2>
        <p id={`${id}-body`}>{body}</p>
        <form method="dialog" class="row">
          <button type="submit" autofocus>
            Cancel
          </button>
          <button
            type="button"
            class="danger"
            onClick={() => {
              dialog.current?.close();
              onConfirm();
            }}
          >
            {confirm}
          </button>
        </form>
      </dialog>
    </>
  );
}

/** The badge: a listener brought on stage speaks, and is shown as a speaker. */
function roleLabel(p: Participant): string {
  return p.role === 'listener' && p.can_speak ? 'speaker' : p.role;
}

/** What a screen reader hears for someone's mic. */
function micLabel(p: Participant): string {
  return p.can_speak ? (p.muted ? 'Microphone off' : 'Microphone on') : 'Listening (no microphone)';
}

/** Mic state as inline SVG (no emoji font needed); the label is on the wrapping element. */
function MicIcon({ state }: { state: 'on' | 'muted' | 'listening' }) {
  const props = { width: 18, height: 18, viewBox: '0 0 24 24', 'aria-hidden': true, fill: 'none', stroke: 'currentColor', 'stroke-width': 2 } as const;
  if (state === 'listening')
    return (
      <svg {...props} data-icon="listening" role="presentation">
        <path d="M3 14v-2a9 9 0 0 1 18 0v2" />
        <rect x="3" y="14" width="4" height="6" rx="1" />
        <rect x="17" y="14" width="4" height="6" rx="1" />
      </svg>
    );
  return (
    <svg {...props} data-icon={state === 'on' ? 'mic-on' : 'mic-muted'} role="presentation">
      <rect x="9" y="3" width="6" height="11" rx="3" />
      <path d="M5 11a7 7 0 0 0 14 0M12 18v3" />
      {state === 'muted' && <path d="M4 4l16 16" />}
    </svg>
  );
}

/** What a screen reader hears when the room changes: mic, hand and stage changes, who starts speaking. */
function useAnnouncements(state: RoomState, levels: Record<string, number>, me: string): string {
  const [text, setText] = useState('');
  const before = useRef<Map<string, Participant> | null>(null);
  const speaking = useRef<Set<string>>(new Set());
  useEffect(() => {
    const prev = before.current;
    const said: string[] = [];
    // The audience tier's pages are shown the stage only: people come onto it and leave it without joining or leaving.
    const stageOnly = state.counts.participants > state.participants.length;
    if (prev) {
      for (const p of state.participants) {
        const was = prev.get(p.id);
        const who = p.id === me ? 'You' : p.name;
        if (!was && stageOnly) {
          if (p.hand_raised) said.push(`${who} raised a hand`);
          else if (p.can_speak) said.push(`${who} can speak now`);
          continue;
        }
        if (!was) {
          said.push(`${p.name} joined`);
          continue;
        }
        const whose = p.id === me ? 'Your' : `${p.name}'s`;
        if (was.can_speak !== p.can_speak) said.push(p.can_speak ? `${who} can speak now` : `${who} went back to listening`);
        else if (p.can_speak && was.muted !== p.muted) said.push(`${whose} microphone is ${p.muted ? 'off' : 'on'}`);
        if (was.hand_raised !== p.hand_raised) said.push(`${who} ${p.hand_raised ? 'raised a hand' : 'lowered a hand'}`);
      }
      if (!stageOnly) for (const id of prev.keys()) if (!state.participants.some((p) => p.id === id)) said.push(`${prev.get(id)?.name} left`);
    }
    before.current = new Map(state.participants.map((p) => [p.id, p]));
    if (said.length) setText(said.join('. '));
  }, [state, me]);
  useEffect(() => {
    const now = new Set(Object.keys(levels).filter((id) => (levels[id] ?? 0) > 0.08));
    const started = [...now].filter((id) => !speaking.current.has(id) && id !== me);
    speaking.current = now;
    const names = started.map((id) => state.participants.find((p) => p.id === id)?.name).filter(Boolean);
    if (names.length) setText(`${names.join(', ')} speaking`);
  }, [levels, state, me]);
  return text;
}

function InRoom({
  client,
  state,
  levels,
  me,
  captions,
  bans,
  listening,
}: {
  client: RoomClient;
  state: RoomState;
  levels: Record<string, number>;
  me: string;
  captions: CaptionLine[];
  bans: RemovedPerson[];
  listening: Listening;
}) {
  const [showCaptions, setShowCaptions] = useState(true);
  const self = state.participants.find((p) => p.id === me);
  const isHost = self?.role === 'host';
  const announcement = useAnnouncements(state, levels, me);
  return (
    <main class="page room">
      <Header />
      <p class="visually-hidden" aria-live="polite" data-testid="announcer">
        {announcement}
      </p>
      <LiveStatus state={state} levels={levels} me={me} recording={data.talk.recording} client={client} />
      {listening.tier === 'audience' && (
        <p class="stream-note" data-testid="stream-note">
          {listening.fallback
            ? 'Your connection could not carry live audio directly, so you listen through the stream, a second or two behind the stage.'
            : 'You listen through the live stream, a second or two behind the stage.'}
        </p>
      )}
      {!state.talk.live && (
        <p class="lobby" role="status">
          Lobby: {state.talk.start_time ? <Countdown to={state.talk.start_time} /> : 'waiting for a host'}
          {isHost && (
            <button type="button" onClick={() => client.send({ type: 'start' })}>
              Start now
            </button>
          )}
        </p>
      )}
      <section aria-label="Participants" class="card">
        <h2>Participants ({state.counts.participants})</h2>
        <ul class="people">
          {state.participants.map((p) => (
            <li key={p.id} class={(levels[p.id] ?? 0) > 0.08 ? 'speaking' : ''} data-participant={p.id}>
              <Avatar p={p} />
              <span class="name">
                {p.name}
                {p.id === me && ' (you)'}
              </span>
              <span class="role" data-testid="role">
                {roleLabel(p)}
              </span>
              <span class="mic" role="img" aria-label={micLabel(p)}>
                <MicIcon state={p.can_speak ? (p.muted ? 'muted' : 'on') : 'listening'} />
              </span>
              {(levels[p.id] ?? 0) > 0.08 && <span class="visually-hidden">speaking</span>}
              {isHost && p.id !== me && (
                <span class="controls">
                  {p.can_speak && !p.muted && (
                    <button type="button" onClick={() => client.send({ type: 'moderate', action: 'mute', target: p.id })}>
                      Mute
                    </button>
                  )}
                  {state.talk.room_type !== 'default' && p.role !== 'host' && (
                    <button type="button" onClick={() => client.send({ type: 'moderate', action: p.can_speak ? 'bring_down' : 'bring_up', target: p.id })}>
                      {p.can_speak ? 'Bring down' : 'Bring up'}
                    </button>
                  )}
                  {p.role !== 'host' && (
                    <ConfirmButton
                      class="danger"
                      label={`Remove ${p.name}`}
                      title={`Remove ${p.name} from this talk?`}
                      body={`${p.name} leaves at once and cannot join this talk again (from this browser or network) unless you let them back in.`}
                      confirm="Remove"
                      onConfirm={() => client.send({ type: 'moderate', action: 'remove', target: p.id })}
                    />
                  )}
                </span>
              )}
            </li>
          ))}
        </ul>
        {/* The audience tier is shown the stage only: the rest are counted. */}
        {state.counts.participants > state.participants.length && (
          <p class="more-listening" data-testid="more-listening">
            and {state.counts.participants - state.participants.length} more listening
          </p>
        )}
      </section>
      <HandQueue client={client} state={state} me={me} isHost={isHost} />
      <QuestionPanel client={client} state={state} me={me} isHost={isHost} />
      {isHost && bans.length > 0 && (
        <section aria-label="Removed from this talk" class="card">
          <h2>Removed from this talk</h2>
          <ul class="removed-list">
            {bans.map((b) => (
              <li key={b.id}>
                {b.name}
                <button type="button" onClick={() => client.send({ type: 'lift_ban', ban: b.id })}>
                  Let {b.name} back in
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
      <section class="card captions" aria-label="Captions">
        <button type="button" aria-pressed={showCaptions} onClick={() => setShowCaptions(!showCaptions)}>
          {showCaptions ? 'Hide captions' : 'Show captions'}
        </button>
        {showCaptions && (
          <div aria-live="polite" class="caption-lines">
            {/* Interim text (a phrase still being spoken) is shown dimmed and left out of what screen readers announce. */}
            {captions.slice(-4).map((c, i) => (
              <p key={i} class={c.interim ? 'interim' : undefined} aria-hidden={c.interim ? 'true' : undefined}>
                <strong>{c.name}:</strong> {c.text}
              </p>
            ))}
          </div>
        )}
      </section>
      <Reactions client={client} participants={state.participants} />
      <nav class="toolbar" aria-label="Your controls">
        {self?.can_speak ? (
          // The label says what the button does; the state is said once, next to it (no aria-pressed:
          // a toggle whose name also flips reads as "Unmute mic, pressed").
          <>
            <button
              type="button"
              class={self.muted ? 'mic-off' : 'mic-on primary'}
              aria-keyshortcuts="M"
              onClick={() => client.send({ type: 'mute', muted: !self.muted })}
            >
              {self.muted ? 'Unmute mic' : 'Mute mic'}
            </button>
            <span class="visually-hidden" data-testid="my-mic">
              {micLabel(self)}
            </span>
          </>
        ) : (
          <button type="button" aria-keyshortcuts="H" onClick={() => client.send({ type: 'hand', raised: !self?.hand_raised })}>
            {self?.hand_raised ? 'Lower hand' : 'Raise hand'}
          </button>
        )}
        {isHost && (
          <ConfirmButton
            class="danger"
            label="End talk"
            title="End this talk for everyone?"
            body="Everyone is disconnected and the talk cannot be restarted."
            confirm="End talk"
            onConfirm={() => client.send({ type: 'end' })}
          />
        )}
        <button type="button" onClick={() => client.leave()}>
          Leave
        </button>
        <ShareButton url={data.talk.url} title={data.talk.name} />
        <Shortcuts
          canSpeak={!!self?.can_speak}
          muted={!!self?.muted}
          handRaised={!!self?.hand_raised}
          onMute={() => client.send({ type: 'mute', muted: !self?.muted })}
          onHand={() => client.send({ type: 'hand', raised: !self?.hand_raised })}
        />
      </nav>
    </main>
  );
}

/** How this page hears the room (room.ts): WebRTC, or the stream (the audience tier), and why. */
interface Listening {
  tier: 'webrtc' | 'audience';
  fallback: boolean;
}

function TalkPage() {
  // Ended, or past its end time with nobody in it (the server ends it at the next join attempt).
  const over = data.talk.status === 'ended' || (data.talk.end_time !== null && Date.parse(data.talk.end_time) <= Date.now());
  const [phase, setPhase] = useState<'prejoin' | 'room' | 'ended' | 'left' | 'removed'>(over ? 'ended' : 'prejoin');
  const [bans, setBans] = useState<RemovedPerson[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [removedMessage, setRemovedMessage] = useState('');
  const [state, setState] = useState<RoomState | null>(null);
  const [levels, setLevels] = useState<Record<string, number>>({});
  const [captions, setCaptions] = useState<CaptionLine[]>([]);
  const [listening, setListening] = useState<Listening>({ tier: 'webrtc', fallback: false });
  const client = useRef<RoomClient | null>(null);
  const join = (form: { name: string; username: string; photo_url: string }, micId = '') => {
    // Still connecting (a slow or restarting server): a second click must not join twice.
    if (client.current?.active) return;
    setError(null);
    const c = new RoomClient(data.talk.code, {
      onState: (s) => {
        setState(s);
        setPhase('room');
      },
      onLevels: setLevels,
      onCaption: (cap) => setCaptions((all) => withCaption(all, cap)),
      onError: (e) => setError(e),
      onEnded: () => setPhase('ended'),
      onLeft: () => setPhase('left'),
      onRemoved: (message) => {
        setError(null);
        setRemovedMessage(message);
        setPhase('removed');
      },
      onBans: setBans,
      onTier: (tier, fallback) => setListening({ tier, fallback }),
    });
    client.current = c;
    void c.join({ ...form, token: secrets.get('token') ?? undefined, invite: secrets.get('invite') ?? undefined }, micId);
  };
  // A reload within the server's grace period comes back as the same participant, without the form.
  // biome-ignore lint/correctness/useExhaustiveDependencies: once, on the first render
  useEffect(() => {
    if (phase === 'prejoin' && tabStorage.get(`smalltalk:resume:${data.talk.code}`)) join({ name: '', username: '', photo_url: '' });
  }, []);
  if (phase === 'ended')
    return (
      <main class="page">
        <Header />
        <p role="status" class="card ended">
          This talk has ended.
        </p>
      </main>
    );
  if (phase === 'removed')
    return (
      <main class="page">
        <Header />
        <p role="alert" class="card error" data-testid="removed">
          {removedMessage.replace(/\.?$/, '.')}
        </p>
      </main>
    );
  if (phase === 'left')
    return (
      <main class="page">
        <Header />
        <p role="status" class="card">
          You left the talk. <a href={location.pathname}>Join again</a>
        </p>
      </main>
    );
  if (phase === 'room' && state && client.current) {
    return (
      <>
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
        <InRoom
          client={client.current}
          state={state}
          levels={levels}
          me={client.current.participantId ?? ''}
          captions={captions}
          bans={bans}
          listening={listening}
        />
      </>
    );
  }
  return <PreJoin onJoin={join} error={error} />;
}

render(<TalkPage />, document.getElementById('app') as HTMLElement);
