import { isIPv6 } from 'node:net';

/**
 * How often one client address may do something (join as a guest, sign up, try a password): a
 * token bucket per address holding `perWindow` actions, refilled at `perWindow` per `windowMs`. A
 * full bucket lets a venue behind one NAT arrive together; a script in a loop is held to the refill
 * rate. Each node keeps its own buckets. 0 turns the limit off. The address is `request.ip`, so
 * what TRUST_PROXY trusts decides it.
 */
export class AddressLimit {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  /** Buckets kept before full ones (the addresses that stopped joining) are dropped. */
  private static readonly SWEEP_AT = 10_000;

  /** Actions regained per millisecond. */
  private readonly rate: number;

  constructor(
    private readonly capacity: number,
    windowMs = 60_000,
  ) {
    this.rate = capacity / windowMs;
  }

  /** Takes one action for `address`: 0 if it may act now, else the seconds until it may. */
  take(clientAddress: string, now = Date.now()): number {
    if (this.capacity <= 0) return 0;
    const address = limitKey(clientAddress);
    const rate = this.rate;
    const b = this.buckets.get(address);
    const tokens = b ? Math.min(this.capacity, b.tokens + (now - b.at) * rate) : this.capacity;
    if (tokens < 1) return Math.ceil((1 - tokens) / rate / 1000);
    if (!b && this.buckets.size >= AddressLimit.SWEEP_AT) this.sweep(now);
    this.buckets.set(address, { tokens: tokens - 1, at: now });
    return 0;
  }

  private sweep(now: number) {
    const rate = this.rate;
    for (const [address, b] of this.buckets) if (b.tokens + (now - b.at) * rate >= this.capacity) this.buckets.delete(address);
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
