/** Before joining: the recording notice, who is in the talk already, and the microphone check. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { browserFamily, systemHint, unblockSteps } from './blocked';
import './live.css';

export interface PresentPerson {
  name: string;
  role: string;
  photo_url: string | null;
}

/** Said before anyone joins: this talk is recorded (and transcribed). */
export function RecordingNotice({ recording, transcribed }: { recording: boolean; transcribed: boolean }) {
  if (!recording) return null;
  return (
    <p class="card notice" data-testid="recording-notice">
      <span class="rec-dot" aria-hidden="true" />
      {transcribed
        ? 'This talk is recorded and transcribed. If you speak, your voice and your words will be in the recording and its transcript.'
        : 'This talk is recorded. If you speak, your voice will be in the recording.'}
    </p>
  );
}

function plural(n: number, one: string, many: string) {
  return `${n} ${n === 1 ? one : many}`;
}

/** Who is in the talk now, refreshed every few seconds from /t/:code/present, without joining the media. */
export function WhoIsHere({ code, initial }: { code: string; initial: PresentPerson[] }) {
  const [present, setPresent] = useState(initial);
  useEffect(() => {
    let stopped = false;
    const refresh = async () => {
      try {
        const res = await fetch(`/t/${encodeURIComponent(code)}/present`, { headers: { accept: 'application/json' } });
        const body = (await res.json()) as { present?: PresentPerson[] };
        if (!stopped && Array.isArray(body.present)) setPresent(body.present);
      } catch {
        // Offline for a moment: keep the last list.
      }
    };
    const timer = setInterval(refresh, 5000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [code]);
  const speakers = present.filter((p) => p.role !== 'listener').length;
  return (
    <section class="card" aria-labelledby="who-is-here">
      <h2 id="who-is-here">In the talk now</h2>
      <p data-testid="present-count">
        {present.length === 0
          ? 'Nobody yet: you would be the first.'
          : `${plural(present.length, 'person', 'people')}: ${plural(speakers, 'host or speaker', 'hosts and speakers')}, ${plural(present.length - speakers, 'listener', 'listeners')}`}
      </p>
      {present.length > 0 && (
        <ul class="people" data-testid="present">
          {present.map((p, i) => (
            <li key={`${p.name}-${i}`}>
              {p.photo_url ? (
                <img class="avatar" src={p.photo_url} alt="" />
              ) : (
                <span class="avatar initials" aria-hidden="true">
                  {p.name.slice(0, 1).toUpperCase()}
                </span>
              )}{' '}
              {p.name} <span class="role">{p.role}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

type MicProblem = { kind: 'blocked' } | { kind: 'missing' } | { kind: 'busy'; message: string };

/** The RMS level (0..1) an analyser reads now. */
function rms(analyser: AnalyserNode, buf: Float32Array<ArrayBuffer>) {
  analyser.getFloatTimeDomainData(buf);
  let sq = 0;
  for (const v of buf) sq += v * v;
  return Math.sqrt(sq / buf.length);
}

/**
 * The microphone check: pick a microphone, watch its level, hear yourself (through headphones).
 * Asks for the microphone only when clicked (or at once when the browser already allows it), and
 * explains a blocked microphone for the browser in use. `onPick` gets the chosen device id.
 */
export function MicCheck({ onPick }: { onPick(deviceId: string): void }) {
  const [devices, setDevices] = useState<MediaDeviceInfo[]>([]);
  const [picked, setPicked] = useState('');
  const [level, setLevel] = useState(0);
  const [problem, setProblem] = useState<MicProblem | null>(null);
  const [on, setOn] = useState(false);
  const [hearing, setHearing] = useState(false);
  const media = useRef<{ stream: MediaStream; ctx: AudioContext; source: MediaStreamAudioSourceNode; timer: number } | null>(null);

  const stop = () => {
    const m = media.current;
    if (!m) return;
    clearInterval(m.timer);
    for (const t of m.stream.getTracks()) t.stop();
    void m.ctx.close().catch(() => undefined);
    media.current = null;
    setHearing(false);
    setLevel(0);
  };

  const start = async (deviceId: string) => {
    stop();
    setProblem(null);
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: { deviceId: deviceId || undefined, echoCancellation: true, noiseSuppression: true } });
    } catch (err) {
      const name = (err as DOMException).name;
      setOn(false);
      if (name === 'NotAllowedError' || name === 'SecurityError') setProblem({ kind: 'blocked' });
      else if (name === 'NotFoundError' || name === 'OverconstrainedError') setProblem({ kind: 'missing' });
      else setProblem({ kind: 'busy', message: (err as Error).message });
      return;
    }
    const ctx = new AudioContext();
    const source = ctx.createMediaStreamSource(stream);
    const analyser = Object.assign(ctx.createAnalyser(), { fftSize: 1024 });
    source.connect(analyser);
    const buf = new Float32Array(analyser.fftSize);
    const timer = window.setInterval(() => setLevel(rms(analyser, buf)), 100);
    media.current = { stream, ctx, source, timer };
    const id = stream.getAudioTracks()[0]?.getSettings().deviceId ?? deviceId;
    setPicked(id);
    onPick(id);
    setOn(true);
    // Labels are only given once the page may use a microphone.
    setDevices((await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'audioinput'));
  };

  useEffect(() => {
    // Already allowed: show the meter at once. Already blocked: say how to fix it before a click.
    let cancelled = false;
    void navigator.permissions
      ?.query({ name: 'microphone' as PermissionName })
      .then((status) => {
        if (cancelled) return;
        if (status.state === 'granted') void start('');
        if (status.state === 'denied') setProblem({ kind: 'blocked' });
      })
      .catch(() => undefined);
    return () => {
      cancelled = true;
      stop();
    };
    // Once, on the first render.
  }, []);

  const hear = () => {
    const m = media.current;
    if (!m) return;
    if (hearing) m.source.disconnect(m.ctx.destination);
    else {
      m.source.connect(m.ctx.destination);
      void m.ctx.resume();
    }
    setHearing(!hearing);
  };

  // A level of 0.3 RMS is loud speech close to the mic: the meter is full there.
  const shown = Math.min(1, level / 0.3);
  return (
    <section class="card mic-check" aria-labelledby="mic-check-title">
      <h2 id="mic-check-title">Your microphone</h2>
      {!on && !problem && (
        <button type="button" onClick={() => void start(picked)}>
          Check microphone
        </button>
      )}
      {on && (
        <>
          <label for="mic-select">Microphone</label>
          <select id="mic-select" value={picked} onChange={(e) => void start((e.target as HTMLSelectElement).value)}>
            {devices.map((d, i) => (
              <option key={d.deviceId} value={d.deviceId}>
                {d.label || `Microphone ${i + 1}`}
              </option>
            ))}
          </select>
          <div class="meter-row">
            <span id="mic-level-label">Level</span>
            <meter
              aria-labelledby="mic-level-label"
              min={0}
              max={1}
              low={0.05}
              high={0.85}
              optimum={0.5}
              value={shown}
              data-testid="mic-level"
              data-level={level.toFixed(3)}
            />
            <span class="meter-word" aria-hidden="true">
              {level > 0.02 ? 'hearing you' : 'silent'}
            </span>
          </div>
          <div class="row">
            <button type="button" aria-pressed={hearing} onClick={hear}>
              Hear yourself
            </button>
            <button
              type="button"
              class="secondary"
              onClick={() => {
                stop();
                setOn(false);
              }}
            >
              Stop test
            </button>
          </div>
          <p class="hint">Use headphones to hear yourself without echo. The microphone you pick is the one used when you join.</p>
        </>
      )}
      {problem?.kind === 'blocked' && <Blocked onRetry={() => void start(picked)} />}
      {problem?.kind === 'missing' && (
        <p role="alert" class="error">
          No microphone was found. Plug one in and{' '}
          <button type="button" onClick={() => void start('')}>
            try again
          </button>
          , or join to listen.
        </p>
      )}
      {problem?.kind === 'busy' && (
        <p role="alert" class="error">
          The microphone could not be opened ({problem.message}). Another application may be using it. You can still join to listen.
        </p>
      )}
    </section>
  );
}

function Blocked({ onRetry }: { onRetry(): void }) {
  const family = browserFamily(navigator.userAgent);
  return (
    <div role="alert" class="error" data-testid="mic-blocked" data-browser={family}>
      <p>
        <strong>Your browser blocks the microphone for this page.</strong> To speak in the talk, allow it:
      </p>
      <ol>
        {unblockSteps(family).map((s) => (
          <li key={s}>{s}</li>
        ))}
      </ol>
      <p>{systemHint}</p>
      <button type="button" onClick={onRetry}>
        Try again
      </button>
    </div>
  );
}
