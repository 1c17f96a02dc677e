/**
 * The network quality indicator's arithmetic: from two getStats() samples of the room's
 * RTCPeerConnection, the round trip (the ICE pair's consent checks, which run even when nobody
 * speaks), the share of received audio packets lost since the previous sample, and the receive
 * jitter; then good / fair / poor. No DOM here, so tests import it as it is.
 */

export type Quality = 'good' | 'fair' | 'poor' | 'unknown';

export interface NetworkSample {
  /** Round trip to the server, ms (null: not measured yet). */
  rttMs: number | null;
  /** Received audio packets lost since the previous sample, 0..1 (null: none expected). */
  loss: number | null;
  /** Interarrival jitter of received audio, ms (the worst stream), null when nothing arrives. */
  jitterMs: number | null;
  /** Counters to compute the next sample's loss from. */
  counters: { received: number; lost: number };
}

/**
 * The limits, for speech: a round trip under 250 ms is not noticed in conversation (ITU-T G.114
 * puts one-way delay under 150 ms as good), Opus with its packet-loss concealment hides about 2 %
 * loss and degrades audibly past about 8 %, and a jitter buffer absorbs 30 ms without effort.
 */
export const LIMITS = {
  good: { rttMs: 250, loss: 0.02, jitterMs: 30 },
  poor: { rttMs: 500, loss: 0.08, jitterMs: 75 },
};

/** good / fair / poor from one sample: the worst of its three measures decides. */
export function classify(s: Pick<NetworkSample, 'rttMs' | 'loss' | 'jitterMs'>): Quality {
  if (s.rttMs === null && s.loss === null && s.jitterMs === null) return 'unknown';
  const over = (limit: typeof LIMITS.good) => (s.rttMs ?? 0) >= limit.rttMs || (s.loss ?? 0) >= limit.loss || (s.jitterMs ?? 0) >= limit.jitterMs;
  if (over(LIMITS.poor)) return 'poor';
  if (over(LIMITS.good)) return 'fair';
  return 'good';
}

type Stat = Record<string, unknown> & { type: string; id: string };

/** One sample from a getStats() report (its values), the previous sample giving the loss's baseline. */
export function sample(stats: Iterable<Stat>, previous: NetworkSample | null): NetworkSample {
  const all = [...stats];
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  // The pair in use: the transport's selected pair, else a nominated succeeded one.
  const transport = all.find((s) => s.type === 'transport' && typeof s.selectedCandidatePairId === 'string');
  const pair =
    all.find((s) => s.type === 'candidate-pair' && s.id === transport?.selectedCandidatePairId) ??
    all.find((s) => s.type === 'candidate-pair' && s.nominated === true && s.state === 'succeeded');
  let rtt = num(pair?.currentRoundTripTime);
  if (rtt === null) {
    // What the server reported back about our sent audio (RTCP), when the pair has no figure.
    const remote = all.find((s) => s.type === 'remote-inbound-rtp' && num(s.roundTripTime) !== null);
    rtt = num(remote?.roundTripTime);
  }
  let received = 0;
  let lost = 0;
  let jitter: number | null = null;
  for (const s of all) {
    if (s.type !== 'inbound-rtp' || s.kind !== 'audio') continue;
    const r = num(s.packetsReceived) ?? 0;
    if (r === 0) continue;
    received += r;
    lost += Math.max(0, num(s.packetsLost) ?? 0);
    const j = num(s.jitter);
    if (j !== null) jitter = Math.max(jitter ?? 0, j);
  }
  const base = previous?.counters ?? { received: 0, lost: 0 };
  const expected = received - base.received + (lost - base.lost);
  return {
    rttMs: rtt === null ? null : Math.round(rtt * 1000),
    loss: expected > 0 ? Math.max(0, lost - base.lost) / expected : (previous?.loss ?? null),
    jitterMs: jitter === null ? null : Math.round(jitter * 1000),
    counters: { received, lost },
  };
}
