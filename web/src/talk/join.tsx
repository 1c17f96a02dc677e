import { useRef, useState } from 'preact/hooks';
import { Countdown, Header } from './header';
import { data, secrets } from './page-data';
import { MicCheck, RecordingNotice, WhoIsHere } from './prejoin';
import { ShareButton } from './share';

/** Subscribing by email to a talk that has not started (a calendar file comes back). */
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

/** The page before joining: who is here, the join form, the mic check, sharing and subscribing. */
export function PreJoin({ onJoin, error }: { onJoin(f: { name: string; username: string; photo_url: string }, micId: string): void; error: string | null }) {
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
