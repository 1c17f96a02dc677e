/**
 * A node that does not host a talk's room answers its stream requests by asking the node that does
 * (routes.ts). Done once per request, the hosting node served every listener of every node, and each
 * blocking playlist request held a connection between the two for up to nine seconds: with 250
 * listeners on each of two nodes, the passing node's requests timed out ("did not answer") and the
 * hosting node's listeners fell behind the window (bench/audience/two-nodes.ts). So the passing node
 * behaves as a small caching edge, as nginx with `proxy_cache_lock` does in front (docs/operations.md):
 *   - the same URL asked again while it is being fetched shares that one fetch (a blocking playlist
 *     reload or a hinted part is asked for by every listener at once);
 *   - an answer the hosting node marked immutable (parts, segments, init) is kept a while and served
 *     from memory.
 * Playlists are never kept beyond their fetch: a blocking one already names what its listeners wait for.
 */

export interface PassedAnswer {
  status: number;
  headers: [string, string][];
  body: Buffer;
}

/** Headers of the hosting node's answer that go on to the listener. */
const PASSED_HEADERS = ['content-type', 'cache-control', 'retry-after', 'access-control-allow-origin'];
/** How long an immutable answer is kept, and how many at most (a part is ~2 KB, a segment ~8 KB). */
const KEEP_MS = 30_000;
const KEEP_MAX = 1_000;

export class PassOn {
  private readonly inflight = new Map<string, Promise<PassedAnswer>>();
  private readonly kept = new Map<string, { until: number; answer: PassedAnswer }>();
  /** Fetches made to hosting nodes, and answers given from the in-flight or kept ones (tests and benches read them). */
  readonly counts = { fetched: 0, shared: 0, kept: 0 };

  constructor(
    private readonly hopHeader: string,
    private readonly timeoutMs = 15_000,
  ) {}

  /** The hosting node's answer for `url`: kept, being fetched, or fetched now. Rejects when it does not answer. */
  get(url: string): Promise<PassedAnswer> {
    const now = Date.now();
    const hit = this.kept.get(url);
    if (hit && hit.until > now) {
      this.counts.kept++;
      return Promise.resolve(hit.answer);
    }
    if (hit) this.kept.delete(url);
    const pending = this.inflight.get(url);
    if (pending) {
      this.counts.shared++;
      return pending;
    }
    this.counts.fetched++;
    const fetching = this.fetch(url).finally(() => this.inflight.delete(url));
    this.inflight.set(url, fetching);
    return fetching;
  }

  private async fetch(url: string): Promise<PassedAnswer> {
    const answer = await fetch(url, { headers: { [this.hopHeader]: '1' }, signal: AbortSignal.timeout(this.timeoutMs) });
    const headers: [string, string][] = [];
    for (const name of PASSED_HEADERS) {
      const value = answer.headers.get(name);
      if (value) headers.push([name, value]);
    }
    const passed = { status: answer.status, headers, body: Buffer.from(await answer.arrayBuffer()) };
    if (passed.status === 200 && /\bimmutable\b/.test(answer.headers.get('cache-control') ?? '')) this.keep(url, passed);
    return passed;
  }

  private keep(url: string, answer: PassedAnswer): void {
    if (this.kept.size >= KEEP_MAX) {
      const now = Date.now();
      for (const [key, entry] of this.kept) if (entry.until <= now) this.kept.delete(key);
      // Still full: drop the oldest (a Map iterates in insertion order).
      while (this.kept.size >= KEEP_MAX) this.kept.delete(this.kept.keys().next().value as string);
    }
    this.kept.set(url, { until: Date.now() + KEEP_MS, answer });
  }
}

/**
 * Where each talk's room is, for the requests a node passes on: one lookup at a time per talk
 * (hundreds of requests a second would each have asked the database when the answer went stale),
 * trusted `trustMs`. A lookup that finds no node with a fresh claim (the hosting node's heartbeat
 * late under load, the room moving), or fails, falls back to the last node found: if that node no
 * longer hosts the talk, or is gone, the request fails there (503, ask again), as it would have here.
 */
export class HostLookup {
  private readonly found = new Map<string, { nodeUrl: string; at: number }>();
  private readonly asking = new Map<string, Promise<string | null>>();
  /** Lookups made, and the times the last node found stood in for "none" (tests and benches read them). */
  readonly counts = { looked: 0, fellBack: 0 };

  constructor(
    private readonly lookup: (talkId: string) => Promise<string | null>,
    private readonly trustMs: number,
  ) {}

  hostOf(talkId: string): Promise<string | null> {
    const last = this.found.get(talkId);
    if (last && Date.now() - last.at < this.trustMs) return Promise.resolve(last.nodeUrl);
    let pending = this.asking.get(talkId);
    if (!pending) {
      this.counts.looked++;
      pending = this.lookup(talkId)
        .catch(() => null)
        .then((nodeUrl) => {
          if (nodeUrl) {
            if (this.found.size >= 10_000) this.found.clear();
            this.found.set(talkId, { nodeUrl, at: Date.now() });
            return nodeUrl;
          }
          const before = this.found.get(talkId)?.nodeUrl ?? null;
          if (before) this.counts.fellBack++;
          return before;
        })
        .finally(() => this.asking.delete(talkId));
      this.asking.set(talkId, pending);
    }
    return pending;
  }
}
