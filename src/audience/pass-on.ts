import http from 'node:http';
import https from 'node:https';

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

/**
 * Connections to the hosting nodes, kept open between requests. A busy node accepts new connections
 * slowly: libuv takes one per listening socket per turn of the event loop, and bench:two-nodes at
 * 1,000 listeners saw a passing node's new connections wait 15-20 s in the hosting node's listen queue
 * while requests on open ones were answered at once (fetch's pool closes idle connections after 4 s).
 * Idle ones are closed after 30 s, before the server (Fastify: 72 s) would close them under a request.
 */
const KEPT = {
  http: new http.Agent({ keepAlive: true, maxFreeSockets: 64, timeout: 30_000 }),
  https: new https.Agent({ keepAlive: true, maxFreeSockets: 64, timeout: 30_000 }),
};

/** Headers of the hosting node's answer that go on to the listener. */
const PASSED_HEADERS = ['content-type', 'cache-control', 'retry-after', 'access-control-allow-origin'];
/** How long an immutable answer is kept, and how many at most (a part is ~2 KB, a segment ~8 KB). */
const KEEP_MS = 30_000;
const KEEP_MAX = 1_000;

/** One call at a time per key: a call asked for while one is under way shares its promise. */
class SingleFlight<V> {
  private readonly pending = new Map<string, Promise<V>>();

  /** The call under way for `key`, if any. */
  get(key: string): Promise<V> | undefined {
    return this.pending.get(key);
  }

  /** The call under way for `key`, or `start()` now. */
  run(key: string, start: () => Promise<V>): Promise<V> {
    const under = this.pending.get(key);
    if (under) return under;
    const call = start().finally(() => this.pending.delete(key));
    this.pending.set(key, call);
    return call;
  }
}

export class PassOn {
  private readonly inflight = new SingleFlight<PassedAnswer>();
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
    return this.inflight.run(url, () => this.fetch(url));
  }

  /** One GET to the hosting node; asked again once when a kept connection turns out closed by it (the keep-alive race). */
  private async fetch(url: string): Promise<PassedAnswer> {
    try {
      return await this.fetchOnce(url);
    } catch (err) {
      if ((err as { reusedSocket?: boolean; code?: string }).reusedSocket && (err as { code?: string }).code === 'ECONNRESET') return this.fetchOnce(url);
      throw err;
    }
  }

  private fetchOnce(url: string): Promise<PassedAnswer> {
    return new Promise((resolve, reject) => {
      const target = new URL(url);
      const secure = target.protocol === 'https:';
      const request = (secure ? https : http).get(target, { agent: secure ? KEPT.https : KEPT.http, headers: { [this.hopHeader]: '1' } }, (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('error', reject);
        answer.on('end', () => {
          const headers: [string, string][] = [];
          for (const name of PASSED_HEADERS) {
            const value = answer.headers[name];
            if (typeof value === 'string' && value) headers.push([name, value]);
          }
          const passed = { status: answer.statusCode ?? 502, headers, body: Buffer.concat(chunks) };
          if (passed.status === 200 && /\bimmutable\b/.test(String(answer.headers['cache-control'] ?? ''))) this.keep(url, passed);
          resolve(passed);
        });
      });
      const timer = setTimeout(() => request.destroy(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      request.on('error', (err) => reject(Object.assign(err, { reusedSocket: request.reusedSocket })));
      request.on('close', () => clearTimeout(timer));
    });
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
 * Answers looked up by key (a talk by its short code, the node hosting a talk), for every stream
 * request of every listener. An answer is fresh for `freshMs`; after that the next request starts one
 * lookup, and until `staleMs` every request meanwhile gets the answer before it (an older one is not
 * served: the requests wait for the lookup). One lookup at a time per key: when a trusted answer went
 * stale, the hundreds of requests a second that found it so each queried the database (bench:two-nodes
 * at 1,000 listeners: 3,400 queries in 30 s, the last ones waiting 4 s for a pooled connection, and the
 * parts behind them 15 s). `merge` decides what a lookup's answer leaves (the node hosting a talk: a
 * lookup that finds none keeps the last node found a while). A lookup that fails keeps the answer
 * before as a fresh one (the next lookup comes `freshMs` later: the database is not asked again at
 * once), or fails those waiting when there is none.
 */
export class Lookups<V> {
  private readonly answers = new Map<string, { value: V; at: number }>();
  private readonly asking = new SingleFlight<V>();
  /** Lookups made (tests and benches read it). */
  readonly counts = { looked: 0 };

  constructor(
    private readonly lookup: (key: string) => Promise<V>,
    private readonly freshMs: number,
    private readonly merge: (found: V, before: V | undefined) => V = (found) => found,
    private readonly staleMs = 3 * freshMs,
  ) {}

  get(key: string): Promise<V> {
    const known = this.answers.get(key);
    const age = known ? Date.now() - known.at : Number.POSITIVE_INFINITY;
    if (known && age < this.freshMs) return Promise.resolve(known.value);
    const asking = this.asking.get(key) ?? this.ask(key);
    return known && age < this.staleMs ? Promise.resolve(known.value) : asking;
  }

  private ask(key: string): Promise<V> {
    this.counts.looked++;
    const asking = this.asking.run(key, () =>
      this.lookup(key)
        .then(
          (found) => this.merge(found, this.answers.get(key)?.value),
          (err) => {
            const before = this.answers.get(key);
            if (!before) throw err;
            return before.value;
          },
        )
        .then((value) => {
          if (this.answers.size >= 10_000) this.answers.clear();
          this.answers.set(key, { value, at: Date.now() });
          return value;
        }),
    );
    // A request served the answer before does not wait for this one: its failure is nobody's then.
    asking.catch(() => undefined);
    return asking;
  }
}
