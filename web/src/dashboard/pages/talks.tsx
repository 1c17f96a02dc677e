import { useMemo, useState } from 'preact/hooks';
import { call, type Partner, type Talk } from '../api';
import { Link } from '../router';
import { describeRule, foldSeries } from '../recurrence';
import { orgPath } from '../session';
import { Empty, Field, formatTime, Loading, SelectField, useLoad } from '../ui';

export const roomTypes: [string, string][] = [
  ['default', 'Default: everyone may speak'],
  ['questions', 'Questions: raise hands to ask'],
  ['hosted_events', 'Hosted event: speakers on stage, audience listens'],
];
const PAGE = 20;

/** A room type as people say it. */
export function roomTypeName(value: string): string {
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

/** Creates a talk, or edits one in place (then `onDone` closes the form on the talk's page). */
