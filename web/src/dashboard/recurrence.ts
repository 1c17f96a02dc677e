/** Recurring talks for people: an RRULE in words, and a series folded into one entry. */

const DAYS: Record<string, string> = { MO: 'Monday', TU: 'Tuesday', WE: 'Wednesday', TH: 'Thursday', FR: 'Friday', SA: 'Saturday', SU: 'Sunday' };
const UNITS: Record<string, [string, string]> = { DAILY: ['day', 'days'], WEEKLY: ['week', 'weeks'], MONTHLY: ['month', 'months'], YEARLY: ['year', 'years'] };

function list(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/**
 * "Every week on Tuesday", "Every 2 weeks on Monday and Thursday, 10 times", "Every month on day 5".
 * The start time supplies what the rule leaves out (the weekday of a weekly rule). A rule this does
 * not understand is described as "Repeats (custom rule)", never shown raw.
 */
export function describeRule(rule: string | null, start: string | null): string {
  if (!rule) return 'Does not repeat';
  const parts = new Map(
    rule
      .replace(/^RRULE:/i, '')
      .split(';')
      .map((p) => p.split('=') as [string, string])
      .map(([k, v]) => [k?.toUpperCase() ?? '', v ?? '']),
  );
  const unit = UNITS[parts.get('FREQ') ?? ''];
  if (!unit) return 'Repeats (custom rule)';
  const interval = Number(parts.get('INTERVAL') ?? '1') || 1;
  let text = interval === 1 ? `Every ${unit[0]}` : `Every ${interval} ${unit[1]}`;
  const startDate = start ? new Date(start) : null;
  if (parts.get('FREQ') === 'WEEKLY') {
    const byDay = (parts.get('BYDAY') ?? '')
      .split(',')
      .map((d) => DAYS[d.replace(/^[+-]?\d+/, '')])
      .filter(Boolean) as string[];
    const days = byDay.length ? byDay : startDate ? [startDate.toLocaleDateString('en-GB', { weekday: 'long' })] : [];
    if (days.length) text += ` on ${list(days)}`;
  } else if (parts.get('FREQ') === 'MONTHLY') {
    const day = parts.get('BYMONTHDAY') ?? (startDate ? String(startDate.getDate()) : '');
    if (day) text += ` on day ${day}`;
  }
  const count = parts.get('COUNT');
  const until = parts.get('UNTIL');
  if (count) text += `, ${count} times`;
  else if (until && /^\d{8}/.test(until)) {
    const d = new Date(`${until.slice(0, 4)}-${until.slice(4, 6)}-${until.slice(6, 8)}T00:00:00Z`);
    text += `, until ${d.toLocaleDateString(undefined, { dateStyle: 'medium' })}`;
  }
  return text;
}

interface Occurrence {
  id: string;
  start_time: string | null;
  status: string;
  schedule: string | null;
  schedule_talk_id: string | null;
}

/**
 * Talks with each recurring series as one entry: its next occurrence (live, else the next to
 * start, else the last one) first, the rest folded behind it in time order. Order otherwise kept.
 */
export function foldSeries<T extends Occurrence>(talks: T[], now = Date.now()): { talk: T; rest: T[] }[] {
  const bySeries = new Map<string, T[]>();
  const order: string[] = [];
  for (const t of talks) {
    const key = t.schedule_talk_id ?? (t.schedule ? t.id : `single:${t.id}`);
    if (!bySeries.has(key)) {
      bySeries.set(key, []);
      order.push(key);
    }
    bySeries.get(key)?.push(t);
  }
  return order.map((key) => {
    const all = [...(bySeries.get(key) ?? [])].sort((a, b) => (a.start_time ?? '').localeCompare(b.start_time ?? ''));
    const next =
      all.find((t) => t.status === 'live') ??
      all.find((t) => t.status !== 'ended' && t.start_time !== null && Date.parse(t.start_time) >= now) ??
      (all[all.length - 1] as T);
    return { talk: next, rest: all.filter((t) => t !== next) };
  });
}
