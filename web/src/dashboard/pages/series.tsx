import { clock } from '../../shared/player';
import { type Partner, type Recording, type Talk, call } from '../api';
import { describeRule, foldSeries } from '../recurrence';
import { Link } from '../router';
import { orgPath } from '../session';
import { Empty, Loading, formatTime, useLoad } from '../ui';

interface SeriesData {
  head: Talk;
  talks: Talk[];
  recordings: Recording[];
}

/** A series' first talk (its rule), every talk of it in time order, and their recordings. */
async function loadSeries(partner: string, id: string): Promise<SeriesData> {
  const opened = (await call<{ talk: Talk }>('GET', `/api/v1/partners/talks/${id}`, undefined, { partner })).talk;
  const headId = opened.schedule_talk_id ?? opened.id;
  const [head, rest, recs] = await Promise.all([
    headId === opened.id ? opened : call<{ talk: Talk }>('GET', `/api/v1/partners/talks/${headId}`, undefined, { partner }).then((r) => r.talk),
    call<{ talks: Talk[] }>('GET', '/api/v1/partners/talks', undefined, { partner, query: { schedule_talk_id: headId } }),
    call<{ recordings: Recording[] }>('GET', '/api/v1/partners/recordings', undefined, { partner }),
  ]);
  const talks = [head, ...rest.talks.filter((t) => t.id !== head.id)].sort((a, b) => (a.start_time ?? '').localeCompare(b.start_time ?? ''));
  const ids = new Set(talks.map((t) => t.id));
  return { head, talks, recordings: recs.recordings.filter((r) => ids.has(r.talk_id)) };
}

function When({ talk }: { talk: Talk }) {
  return <>{talk.start_time ? formatTime(talk.start_time) : 'No start time'}</>;
}

/**
 * A recurring talk's page: the rule in words, the next occurrence first, the upcoming ones, and the
 * past ones with their recordings. `id` is any talk of the series (the talks list links its first).
 */
export function SeriesPage({ partner, id }: { partner: Partner; id: string }) {
  const series = useLoad(() => loadSeries(partner.id, id), [partner.id, id]);
  if (!series.data) return <Loading error={series.error} />;
  const { head, talks, recordings } = series.data;
  const [folded] = foldSeries(talks);
  const next = folded && folded.talk.status !== 'ended' ? folded.talk : null;
  const upcoming = talks.filter((t) => t.status !== 'ended' && t !== next);
  const past = talks.filter((t) => t.status === 'ended').reverse();
  const recordingsOf = (t: Talk) => recordings.filter((r) => r.talk_id === t.id);
  const talkPath = (t: Talk) => orgPath(partner.id, `talks/${t.id}`);
  return (
    <>
      <div class="page-head">
        <div>
          <p class="eyebrow">Series</p>
          <h1>{head.name}</h1>
        </div>
        <a class="button secondary" href={`${head.short_url}/series`}>
          Public series page
        </a>
      </div>
      <p data-testid="series-rule">
        {head.schedule ? describeRule(head.schedule, head.start_time) : 'Part of a recurring series'} · {talks.length} {talks.length === 1 ? 'talk' : 'talks'}
      </p>
      {head.description && <p>{head.description}</p>}
      <section class="card" aria-labelledby="next">
        <h2 id="next">Next</h2>
        {next ? (
          <p class="next-talk">
            <Link href={talkPath(next)}>
              <When talk={next} />
            </Link>{' '}
            <span class={`badge ${next.status}`}>{next.status === 'live' ? 'live now' : next.status}</span> ·{' '}
            <a href={next.short_url}>{next.status === 'live' ? 'Join' : 'Talk page'}</a>
          </p>
        ) : (
          <p>No talk of this series is coming up.</p>
        )}
      </section>
      <section class="card" aria-labelledby="upcoming">
        <h2 id="upcoming">Later</h2>
        {upcoming.length ? (
          <ol class="plain occurrences">
            {upcoming.map((t) => (
              <li key={t.id}>
                <Link href={talkPath(t)}>
                  <When talk={t} />
                </Link>
              </li>
            ))}
          </ol>
        ) : (
          <p>Nothing after the next talk.</p>
        )}
      </section>
      <section class="card" aria-labelledby="past">
        <h2 id="past">Past talks and recordings</h2>
        {past.length === 0 ? (
          <Empty title="No past talks yet">
            <p>Each talk of the series is listed here once it has ended, with its recordings.</p>
          </Empty>
        ) : (
          <ol class="plain occurrences">
            {past.map((t) => (
              <li key={t.id} data-past-talk>
                <Link href={talkPath(t)}>
                  <When talk={t} />
                </Link>
                {recordingsOf(t).length === 0 ? (
                  <span class="muted"> · no recording</span>
                ) : (
                  <ul class="plain recordings-of">
                    {recordingsOf(t).map((r) => (
                      <li key={r.id}>
                        <Link href={orgPath(partner.id, `recordings/${r.id}`)}>Recording{r.duration !== null ? ` (${clock(r.duration)})` : ''}</Link>{' '}
                        <span class={`badge ${r.status}`}>{r.status}</span>
                        {r.transcription ? ' · transcript' : ''}
                      </li>
                    ))}
                  </ul>
                )}
              </li>
            ))}
          </ol>
        )}
      </section>
    </>
  );
}
