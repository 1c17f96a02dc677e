import { useMemo, useRef, useState } from 'preact/hooks';
import { type Partner, type Recording, type Segment, type Talk, call } from '../api';
import { Link, navigate } from '../router';
import { orgPath } from '../session';
import { ConfirmButton, Empty, FormAlert, type FormError, Loading, SelectField, formatTime, toFormError, useLoad } from '../ui';

const clock = (s: number) => {
  const t = Math.max(0, Math.floor(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
};

const vttTime = (s: number) => {
  const ms = Math.round(s * 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}.${pad(ms % 1000, 3)}`;
};

export function transcriptText(segments: Segment[]): string {
  return segments.map((s) => `[${clock(s.start)}] ${s.speaker.name}: ${s.text}`).join('\n') + '\n';
}

export function transcriptVtt(segments: Segment[]): string {
  return `WEBVTT\n\n${segments.map((s, i) => `${i + 1}\n${vttTime(s.start)} --> ${vttTime(s.end)}\n<v ${s.speaker.name}>${s.text}\n`).join('\n')}`;
}

export function RecordingsPage({ partner, talkId }: { partner: Partner; talkId: string | null }) {
  const p = { partner: partner.id };
  const talks = useLoad(() => call<{ talks: Talk[] }>('GET', '/api/v1/partners/talks', undefined, { ...p, query: { limit: 200 } }), [partner.id]);
  const recs = useLoad(
    () => call<{ recordings: Recording[] }>('GET', '/api/v1/partners/recordings', undefined, { ...p, query: { talk_id: talkId, limit: 100 } }),
    [partner.id, talkId],
  );
  const names = new Map((talks.data?.talks ?? []).map((t) => [t.id, t.name]));
  return (
    <>
      <h1>Recordings</h1>
      <SelectField
        label="Talk"
        name="talk_id"
        value={talkId ?? ''}
        onValue={(v) => navigate(`${orgPath(partner.id, 'recordings')}${v ? `?talk_id=${v}` : ''}`)}
        options={[['', 'All talks'], ...(talks.data?.talks ?? []).map((t) => [t.id, t.name] as [string, string])]}
      />
      {!recs.data ? (
        <Loading error={recs.error} />
      ) : recs.data.recordings.length === 0 ? (
        <Empty title="No recordings yet">
          <p>Talks with recording on are recorded while they are live; the recording and its transcript appear here when the talk ends.</p>
        </Empty>
      ) : (
        <ul class="cards" aria-label="Recordings">
          {recs.data.recordings.map((r) => (
            <li key={r.id} class="card" data-recording={r.id}>
              <h2>
                <Link href={orgPath(partner.id, `recordings/${r.id}`)}>{names.get(r.talk_id) ?? 'Talk'}</Link>
              </h2>
              <p class="muted">
                {formatTime(r.start_time)} · {r.duration !== null ? clock(r.duration) : 'length unknown'} · <span class={`badge ${r.status}`}>{r.status}</span>{' '}
                · {r.share_permission}
                {r.transcription ? ' · transcript' : ''}
              </p>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

export function RecordingDetail({ partner, id }: { partner: Partner; id: string }) {
  const p = { partner: partner.id };
  const rec = useLoad(() => call<{ recording: Recording }>('GET', `/api/v1/partners/recordings/${id}`, undefined, p), [partner.id, id]);
  const audio = useRef<HTMLAudioElement>(null);
  const [now, setNow] = useState(0);
  const [error, setError] = useState<FormError | null>(null);
  const r = rec.data?.recording;
  const files = useMemo(() => {
    const segments = r?.transcription?.segments;
    if (!segments) return null;
    return {
      txt: URL.createObjectURL(new Blob([transcriptText(segments)], { type: 'text/plain' })),
      vtt: URL.createObjectURL(new Blob([transcriptVtt(segments)], { type: 'text/vtt' })),
    };
  }, [r?.transcription]);
  if (!r) return <Loading error={rec.error} />;
  const base = r.file_name.replace(/\.[^.]+$/, '');
  return (
    <>
      <h1>Recording of {formatTime(r.start_time)}</h1>
      <div class="player-layout">
        <section class="card" aria-labelledby="player">
          <h2 id="player">Listen</h2>
          {r.url ? (
            // biome-ignore lint/a11y/useMediaCaption: the transcript beside the player is the caption track
            <audio ref={audio} controls preload="metadata" src={r.url} onTimeUpdate={(e) => setNow((e.target as HTMLAudioElement).currentTime)} />
          ) : (
            <p class="muted">The file is not ready ({r.status}).</p>
          )}
          <ul class="plain downloads">
            {r.url && (
              <li>
                <a href={r.url} download={r.file_name}>
                  Download {r.file_name}
                </a>
              </li>
            )}
            {files && (
              <>
                <li>
                  <a href={files.txt} download={`${base}-transcript.txt`}>
                    Download transcript (.txt)
                  </a>
                </li>
                <li>
                  <a href={files.vtt} download={`${base}-transcript.vtt`}>
                    Download subtitles (.vtt)
                  </a>
                </li>
              </>
            )}
          </ul>
          <SelectField
            label="Who may download"
            name="share_permission"
            value={r.share_permission}
            onValue={async (v) => {
              setError(null);
              try {
                await call('PATCH', `/api/v1/partners/recordings/${r.id}`, { share_permission: v }, p);
                rec.reload();
              } catch (err) {
                setError(toFormError(err));
              }
            }}
            options={[
              ['private', 'Private: signed, expiring links only'],
              ['public', 'Public: anyone with the link'],
            ]}
            error={error}
          />
          <FormAlert error={error} fields={['share_permission']} />
          <ConfirmButton
            label="Delete recording"
            what=""
            confirm="The files and transcript are deleted for good."
            onConfirm={async () => {
              await call('DELETE', `/api/v1/partners/recordings/${r.id}`, undefined, p);
              navigate(`${orgPath(partner.id, 'recordings')}?talk_id=${r.talk_id}`);
            }}
          />
        </section>
        <section class="card transcript" aria-labelledby="transcript">
          <h2 id="transcript">Transcript</h2>
          {!r.transcription ? (
            <p class="muted">No transcript yet. It appears here once transcription finishes.</p>
          ) : (
            <ol class="plain">
              {r.transcription.segments.map((s, i) => (
                <li key={i} class={now >= s.start && now < s.end ? 'current' : undefined}>
                  <button
                    type="button"
                    class="link"
                    aria-label={`Play from ${clock(s.start)}`}
                    onClick={() => {
                      if (!audio.current) return;
                      audio.current.currentTime = s.start;
                      setNow(s.start);
                      audio.current.play().catch(() => {});
                    }}
                  >
                    {clock(s.start)}
                  </button>{' '}
                  <strong class="speaker">{s.speaker.name}</strong> <span>{s.text}</span>
                </li>
              ))}
            </ol>
          )}
        </section>
      </div>
    </>
  );
}
