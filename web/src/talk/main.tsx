import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import '../shared/theme.css';
import '../shared/page.css';
import './talk.css';
import { type CaptionLine, withCaption } from './captions';
import { Header } from './header';
import { PreJoin } from './join';
import { data, secrets } from './page-data';
import { type RemovedPerson, RoomClient, type RoomState } from './room';
import { InRoom, type Listening } from './room-view';
import { tabStorage } from './storage';

// A pasted invite or join link on an open page changes only the fragment: start over with it.
window.addEventListener('hashchange', () => location.reload());

/** The talk page's phases: before joining, in the room, and the ways out (ended, left, removed). */
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
