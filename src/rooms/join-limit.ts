import { isIPv6 } from 'node:net';

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
  take(clientAddress: string, now = Date.now()): number {
    if (this.perMinute <= 0) return 0;
    const address = limitKey(clientAddress);
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

/**
 * What one client is counted by: an IPv4 address (also written IPv4-mapped, ::ffff:a.b.c.d), or an
 * IPv6 address's /64, since one host or home network holds a whole /64 and can rotate through it.
 */
export function limitKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1];
  if (!isIPv6(address)) return address;
  const [head, tail = ''] = address.toLowerCase().split('%')[0].split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
