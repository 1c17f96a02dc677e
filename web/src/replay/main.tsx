import { render } from 'preact';
import '../shared/theme.css';
import '../shared/page.css';
import './replay.css';
import { describeRule } from '../dashboard/recurrence';
import { type Download, type Line, TranscriptPlayer } from '../shared/player';

interface ReplayData {
  talk: { name: string; description: string | null; start_time: string | null; url: string; series_url: string | null };
  state: 'replay' | 'pending' | 'ended';
  recording: {
    audio_url: string | null;
    file_name: string;
    duration: number | null;
    segments: Line[] | null;
    transcript_pending: boolean;
    downloads: Download[];
  } | null;
  dashboard_url: string | null;
  theme: { logo_url: string | null };
}

const fmt = (iso: string | null) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'full', timeStyle: 'short' }) : null);

function Replay({ data }: { data: ReplayData }) {
  const { talk, recording } = data;
  if (!recording) return null;
  const downloads: Download[] = [
    ...(recording.audio_url
      ? [{ label: `Audio (${recording.file_name.replace(/^.*\./, '.')})`, href: recording.audio_url, download: recording.file_name }]
      : []),
    ...recording.downloads,
  ];
  return (
    <main class="page replay">
      <header class="talk-header">
        {data.theme.logo_url && <img class="logo" src={data.theme.logo_url} alt="" />}
        <p class="eyebrow">Replay</p>
        <h1>{talk.name}</h1>
        {talk.start_time && <p>{fmt(talk.start_time)}</p>}
        {talk.description && <p>{talk.description}</p>}
        {talk.series_url && (
          <p>
            <a href={talk.series_url}>More talks in this series</a>
          </p>
        )}
      </header>
      <TranscriptPlayer
        audioUrl={recording.audio_url}
        lines={recording.segments}
        downloads={downloads}
        transcriptNote={recording.transcript_pending ? 'The transcript will be here shortly: it is being written.' : 'This recording has no transcript.'}
      />
    </main>
  );
}

const replay = document.getElementById('replay-data');
if (replay) {
  const data = JSON.parse(replay.textContent ?? '{}') as ReplayData;
  // Ended or pending: the server's page says it all; the bundle only brings the player.
  const app = document.getElementById('app');
  if (data.state === 'replay' && app) {
    app.textContent = '';
    render(<Replay data={data} />, app);
  }
  // While the replay is being finished, look again every 30 s and show it once it is there.
  if (data.state === 'pending') {
    const timer = setInterval(async () => {
      const html = await fetch(location.href, { cache: 'no-store' })
        .then((r) => r.text())
        .catch(() => '');
      if (html && !html.includes('"state":"pending"')) {
        clearInterval(timer);
        location.reload();
      }
    }, 30_000);
  }
}

const series = document.getElementById('series-data');
if (series) {
  const data = JSON.parse(series.textContent ?? '{}') as { series: { schedule: string | null; start_time: string | null } };
  const rule = document.getElementById('series-rule');
  if (rule && data.series.schedule) rule.textContent = describeRule(data.series.schedule, data.series.start_time);
  for (const t of document.querySelectorAll<HTMLTimeElement>('time[datetime]')) t.textContent = fmt(t.dateTime);
}
