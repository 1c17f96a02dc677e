/**
 * Live status on the talk page: LIVE and Recording, who is speaking now, speakers against
 * listeners, and the network quality. "Speaking" comes from the SFU's per-publisher audio levels,
 * which the server already broadcasts (`levels`, about 4 a second): one measurement per speaker for
 * everyone, the same in every page, and right even though a page receives speakers through shared,
 * reassigned slots (a level read in the page, by getSynchronizationSources or an analyser per
 * slot, would have to follow every slot change, and costs every listener the work).
 */
import { useEffect, useState } from 'preact/hooks';
import { type NetworkSample, type Quality, classify, sample } from './network';
import type { RoomClient, RoomState } from './room';
import './live.css';

/** Above this level (0..1, as the SFU measures it) someone counts as speaking. */
export const SPEAKING_LEVEL = 0.08;

export function speakingNow(state: RoomState, levels: Record<string, number>) {
  return state.participants.filter((p) => (levels[p.id] ?? 0) > SPEAKING_LEVEL);
}

export function LiveStatus({
  state,
  levels,
  me,
  recording,
  client,
}: {
  state: RoomState;
  levels: Record<string, number>;
  me: string;
  recording: boolean;
  client: RoomClient;
}) {
  // From the room's counts: an audience-tier page's list has only the stage.
  const { speakers } = state.counts;
  const listeners = state.counts.participants - speakers;
  const talking = speakingNow(state, levels);
  return (
    <section class="card status-bar" aria-label="Talk status">
      <div class="badges">
        {state.talk.live ? (
          <span class="badge live" data-testid="live-badge">
            <span class="dot" aria-hidden="true" />
            LIVE
          </span>
        ) : (
          <span class="badge" data-testid="live-badge">
            Not started
          </span>
        )}
        {recording && (
          <span class="badge rec" data-testid="recording-badge">
            <span class="rec-dot" aria-hidden="true" />
            {state.talk.live ? 'Recording' : 'Will be recorded'}
          </span>
        )}
        <span class="counts" data-testid="counts">
          {speakers} {speakers === 1 ? 'speaker' : 'speakers'} · {listeners} {listeners === 1 ? 'listener' : 'listeners'}
        </span>
        {/* The stream (the audience tier) has no peer connection to measure: HTTP and hls.js's buffer take care of it. */}
        {client.tier !== 'audience' && <NetworkIndicator client={client} />}
      </div>
      {/* Not a live region: the page's announcer already says who starts speaking. */}
      <p class="speaking-now" data-testid="speaking-now">
        <span class="bars" aria-hidden="true" data-active={talking.length > 0 ? 'true' : 'false'}>
          <i />
          <i />
          <i />
        </span>
        {talking.length === 0 ? 'Nobody is speaking' : `Speaking: ${talking.map((p) => (p.id === me ? 'you' : p.name)).join(', ')}`}
      </p>
    </section>
  );
}

const words: Record<Quality, string> = { good: 'Good', fair: 'Fair', poor: 'Poor', unknown: 'Measuring' };

/** Good / fair / poor from the connection's getStats() every two seconds, with the figures behind it. */
export function NetworkIndicator({ client }: { client: RoomClient }) {
  const [last, setLast] = useState<NetworkSample | null>(null);
  useEffect(() => {
    let previous: NetworkSample | null = null;
    let stopped = false;
    const tick = async () => {
      const report = await client.stats()?.catch(() => null);
      if (!report || stopped) return;
      previous = sample(report.values() as Iterable<Record<string, unknown> & { type: string; id: string }>, previous);
      setLast(previous);
    };
    void tick();
    const timer = setInterval(tick, 2000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [client]);
  const quality = last ? classify(last) : 'unknown';
  const figures = last
    ? [
        last.rttMs !== null ? `round trip ${last.rttMs} ms` : null,
        last.loss !== null ? `loss ${(last.loss * 100).toFixed(1)} %` : null,
        last.jitterMs !== null ? `jitter ${last.jitterMs} ms` : null,
      ].filter(Boolean)
    : [];
  return (
    <span class={`badge network ${quality}`} data-testid="network" data-quality={quality} title={figures.join(', ')}>
      <svg width="16" height="14" viewBox="0 0 16 14" aria-hidden="true" role="presentation">
        <rect x="1" y="9" width="3" height="5" fill="currentColor" />
        <rect x="6" y="5" width="3" height="9" fill={quality === 'good' || quality === 'fair' ? 'currentColor' : 'none'} stroke="currentColor" />
        <rect x="11" y="1" width="3" height="13" fill={quality === 'good' ? 'currentColor' : 'none'} stroke="currentColor" />
      </svg>
      <span class="word">Network: {words[quality]}</span>
      {figures.length > 0 && (
        <span class="figures" data-testid="network-figures">
          {' '}
          ({figures.join(', ')})
        </span>
      )}
    </span>
  );
}
