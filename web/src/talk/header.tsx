import { useEffect, useState } from 'preact/hooks';
import { data, fmt } from './page-data';

/** Time left until `to`, ticking every second. */
export function Countdown({ to }: { to: string }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  const left = Math.max(0, new Date(to).getTime() - now);
  if (left === 0) return <span>starting now</span>;
  const s = Math.floor(left / 1000);
  const units: [number, string][] = [
    [Math.floor(s / 86400), 'd'],
    [Math.floor((s % 86400) / 3600), 'h'],
    [Math.floor((s % 3600) / 60), 'm'],
    [s % 60, 's'],
  ];
  // From the first unit that is not zero: "59m 57s", not "0h 59m 57s".
  const first = units.findIndex(([n]) => n > 0);
  const parts = units.slice(first).map(([n, unit]) => `${n}${unit}`);
  return <span aria-live="off">starts in {parts.join(' ')}</span>;
}

/** The talk's name, logo, description, times and series link, above every phase of the page. */
export function Header() {
  const { talk, theme } = data;
  return (
    <header class="talk-header">
      {theme.logo_url && <img class="logo" src={theme.logo_url} alt="" />}
      <h1>{talk.name}</h1>
      {talk.description && <p class="description">{talk.description}</p>}
      {talk.start_time && (
        <p>
          <time dateTime={talk.start_time}>{fmt(talk.start_time)}</time>
          {talk.end_time && (
            <>
              {' – '}
              <time dateTime={talk.end_time}>{fmt(talk.end_time)}</time>
            </>
          )}
        </p>
      )}
      {talk.series_url && (
        <p class="series-link">
          <a href={talk.series_url}>More talks in this series</a>
        </p>
      )}
    </header>
  );
}
