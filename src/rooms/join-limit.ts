/**
 * How many guests may join from one address: a token bucket per client address holding
 * `perMinute` joins, refilled at `perMinute` a minute. A full bucket lets a venue behind one NAT
 * arrive together; a script joining in a loop is held to the refill rate. Each node keeps its own
 * buckets (a talk's joins all reach the node hosting it). 0 turns the limit off.
 */
export class JoinLimit {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  /** Buckets kept before full ones (the addresses that stopped joining) are dropped. */
  private static readonly SWEEP_AT = 10_000;

  constructor(private readonly perMinute: number) {}

  /** Takes one join for `address`: 0 if it may join now, else the seconds until it may. */
  take(address: string, now = Date.now()): number {
    if (this.perMinute <= 0) return 0;
    const rate = this.perMinute / 60_000;
    const b = this.buckets.get(address);
    const tokens = b ? Math.min(this.perMinute, b.tokens + (now - b.at) * rate) : this.perMinute;
    if (tokens < 1) return Math.ceil((1 - tokens) / rate / 1000);
    if (!b && this.buckets.size >= JoinLimit.SWEEP_AT) this.sweep(now);
    this.buckets.set(address, { tokens: tokens - 1, at: now });
    return 0;
  }

  private sweep(now: number) {
    const rate = this.perMinute / 60_000;
    for (const [address, b] of this.buckets) if (b.tokens + (now - b.at) * rate >= this.perMinute) this.buckets.delete(address);
  }
}
