import { useEffect, useState } from 'preact/hooks';
import { type Download, TranscriptPlayer, clock } from '../../shared/player';
import { type Partner, type Recording, type Talk, call, callText } from '../api';
import { Link, navigate } from '../router';
import { orgPath } from '../session';
import { useForm } from '../form';
import { ConfirmButton, Empty, FormAlert, Loading, SelectField, formatTime, useLoad } from '../ui';

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

const transcriptFiles = [
  ['txt', 'Download transcript (.txt)', 'text/plain'],
  ['vtt', 'Download subtitles (.vtt)', 'text/vtt'],
  ['srt', 'Download subtitles (.srt)', 'application/x-subrip'],
] as const;

/**
 * The transcript as the partner API writes it (the same VTT, SRT and text as the public replay's
 * downloads), fetched with the session and offered as files to save: a link cannot send X-Partner-Id.
 */
function useTranscriptDownloads(partnerId: string, rec: Recording | undefined): Download[] {
  const [files, setFiles] = useState<Download[]>([]);
  const id = rec?.transcription ? rec.id : null;
  const base = rec?.file_name.replace(/\.[^.]+$/, '') ?? '';
  useEffect(() => {
    setFiles([]);
    if (!id) return;
    let live = true;
    const urls: string[] = [];
    Promise.all(transcriptFiles.map(([ext]) => callText(`/api/v1/partners/recordings/${id}/transcript.${ext}`, partnerId))).then(
      (texts) => {
        if (!live) return;
        setFiles(
          transcriptFiles.map(([ext, label, type], i) => {
            const href = URL.createObjectURL(new Blob([texts[i] as string], { type }));
            urls.push(href);
            return { label, href, download: `${base}-transcript.${ext}` };
          }),
        );
      },
      () => {},
    );
    return () => {
      live = false;
      for (const u of urls) URL.revokeObjectURL(u);
    };
  }, [partnerId, id, base]);
  return files;
}

export function RecordingDetail({ partner, id }: { partner: Partner; id: string }) {
  const p = { partner: partner.id };
  const rec = useLoad(() => call<{ recording: Recording }>('GET', `/api/v1/partners/recordings/${id}`, undefined, p), [partner.id, id]);
  const form = useForm();
  const r = rec.data?.recording;
  const transcriptDownloads = useTranscriptDownloads(partner.id, r);
  if (!r) return <Loading error={rec.error} />;
  const downloads: Download[] = [...(r.url ? [{ label: `Download ${r.file_name}`, href: r.url, download: r.file_name }] : []), ...transcriptDownloads];
  return (
    <>
      <h1>Recording of {formatTime(r.start_time)}</h1>
      <TranscriptPlayer
        audioUrl={r.url}
        lines={r.transcription?.segments.map((s) => ({ start: s.start, end: s.end, text: s.text, speaker: s.speaker.name })) ?? null}
        downloads={downloads}
        audioNote={`The file is not ready (${r.status}).`}
        transcriptNote="No transcript yet. It appears here once transcription finishes."
      >
        <SelectField
          label="Who may download"
          name="share_permission"
          value={r.share_permission}
          onValue={(v) =>
            form.run(async () => {
              await call('PATCH', `/api/v1/partners/recordings/${r.id}`, { share_permission: v }, p);
              rec.reload();
            })
          }
          options={[
            ['private', 'Private: signed, expiring links only'],
            ['public', "Public: anyone with the link, and a replay page at the talk's short URL"],
          ]}
          error={form.error}
        />
        <FormAlert error={form.error} fields={['share_permission']} />
        <ConfirmButton
          label="Delete recording"
          what=""
          confirm="The files and transcript are deleted for good."
          onConfirm={async () => {
            await call('DELETE', `/api/v1/partners/recordings/${r.id}`, undefined, p);
            navigate(`${orgPath(partner.id, 'recordings')}?talk_id=${r.talk_id}`);
          }}
        />
      </TranscriptPlayer>
    </>
  );
}
