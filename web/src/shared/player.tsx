import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import './player.css';

/** One line of a transcript: its times in seconds, who spoke and what. */
export interface Line {
  start: number;
  end: number;
  speaker: string;
  text: string;
}

export interface Download {
  label: string;
  href: string;
  /** The file name to save as (a same-origin link or a blob). */
  download?: string;
}

export const clock = (s: number) => {
  const t = Math.max(0, Math.floor(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
};

/** The line being spoken at `now`: the last one that started, while it lasts (none in a pause). */
export function currentLine(lines: Line[], now: number): number {
  let found = -1;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] as Line;
    if (l.start > now) break;
    if (now < l.end) found = i;
  }
  return found;
}

function marked(text: string, query: string) {
  if (!query) return text;
  const parts: (string | preact.JSX.Element)[] = [];
  const lower = text.toLocaleLowerCase();
  let at = 0;
  for (let i = lower.indexOf(query); i >= 0; i = lower.indexOf(query, at)) {
    parts.push(text.slice(at, i), <mark key={i}>{text.slice(i, i + query.length)}</mark>);
    at = i + query.length;
  }
  parts.push(text.slice(at));
  return parts;
}

/**
 * The audio beside its transcript, shared by the public replay page and the dashboard's recording
 * page: the line being spoken is highlighted as it plays (and kept in view), a click on a line plays
 * from there, a search narrows the transcript to the lines that say it.
 */
export function TranscriptPlayer({
  audioUrl,
  lines,
  downloads,
  audioNote = 'The audio is not ready yet.',
  transcriptNote,
  children,
}: {
  audioUrl: string | null;
  lines: Line[] | null;
  downloads: Download[];
  /** Said in place of the player when there is no audio. */
  audioNote?: string;
  /** Said in place of the transcript when there is none. */
  transcriptNote: string;
  /** More controls under the downloads (the dashboard's share setting). */
  children?: preact.ComponentChildren;
}) {
  const audio = useRef<HTMLAudioElement>(null);
  const list = useRef<HTMLOListElement>(null);
  const [now, setNow] = useState(0);
  const [query, setQuery] = useState('');
  const q = query.trim().toLocaleLowerCase();
  const current = lines ? currentLine(lines, now) : -1;
  const shown = useMemo(
    () => (lines ?? []).map((l, i) => ({ l, i })).filter(({ l }) => !q || `${l.speaker} ${l.text}`.toLocaleLowerCase().includes(q)),
    [lines, q],
  );

  // Keeps the current line in view inside the transcript's own scroll box (never scrolls the page).
  useEffect(() => {
    const box = list.current;
    const li = box?.querySelector<HTMLElement>('li.current');
    if (!box || !li || box.scrollHeight <= box.clientHeight) return;
    if (li.offsetTop < box.scrollTop || li.offsetTop + li.offsetHeight > box.scrollTop + box.clientHeight)
      box.scrollTop = li.offsetTop - box.offsetTop - box.clientHeight / 3;
  }, [current]);

  const playFrom = (s: number) => {
    const a = audio.current;
    if (!a) return;
    a.currentTime = s;
    setNow(s);
    a.play().catch(() => {});
  };

  return (
    <div class="player-layout">
      <section class="card player" aria-labelledby="listen">
        <h2 id="listen">Listen</h2>
        {audioUrl ? (
          // biome-ignore lint/a11y/useMediaCaption: the transcript beside the player is the caption track
          <audio
            ref={audio}
            controls
            preload="metadata"
            src={audioUrl}
            onTimeUpdate={(e) => setNow((e.target as HTMLAudioElement).currentTime)}
            onSeeked={(e) => setNow((e.target as HTMLAudioElement).currentTime)}
          />
        ) : (
          <p>{audioNote}</p>
        )}
        {downloads.length > 0 && (
          <>
            <h3>Download</h3>
            <ul class="plain downloads">
              {downloads.map((d) => (
                <li key={d.href}>
                  <a href={d.href} download={d.download ?? ''}>
                    {d.label}
                  </a>
                </li>
              ))}
            </ul>
          </>
        )}
        {children}
      </section>
      <section class="card transcript" aria-labelledby="transcript">
        <h2 id="transcript">Transcript</h2>
        {!lines ? (
          <p>{transcriptNote}</p>
        ) : (
          <>
            <label for="transcript-search">Search the transcript</label>
            <input id="transcript-search" type="search" value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} />
            <p class="found" role="status">
              {q ? `${shown.length} of ${lines.length} lines say “${query.trim()}”` : ''}
            </p>
            <ol class="plain lines" ref={list}>
              {shown.map(({ l, i }) => (
                <li key={i} class={i === current ? 'current' : undefined} aria-current={i === current ? 'true' : undefined}>
                  <button type="button" class="line" onClick={() => playFrom(l.start)}>
                    <span class="time">
                      <span class="visually-hidden">Play from </span>
                      {clock(l.start)}
                    </span>{' '}
                    <strong class="speaker">{marked(l.speaker, q)}</strong> <span class="text">{marked(l.text, q)}</span>
                  </button>
                </li>
              ))}
            </ol>
          </>
        )}
      </section>
    </div>
  );
}
