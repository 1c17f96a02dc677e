import { createHash } from 'node:crypto';

/** A rendered list page: the response body as sent, and its entity tag. */
export interface CachedPage {
  body: Buffer;
  etag: string;
}

interface Entry extends CachedPage {
  /** The clock when its read began. */
  ticket: number;
  /** When it was stored (ms). */
  storedAt: number;
}

/**
 * Rendered `GET /api/v1/partners/talks` pages, per partner and query, kept until one of the
 * partner's talks changes. Partners poll their talk list far more often than they change it; a
 * page served from here costs no database work at all.
 *
 * Correctness rests on hearing about every change (changes.ts):
 * - the code that changes talks calls `invalidate` on its node after its commit, so a partner's
 *   next read sees its own write;
 * - other nodes hear of it through a Postgres NOTIFY (their staleness: the announcement's delay,
 *   milliseconds);
 * - while a node's LISTEN connection is down (`disable`) it serves and keeps nothing, and after
 *   it comes back (`enable`) everything kept before is dropped;
 * - no page is kept longer than maxAge, the bound on anything missed (a talk edited in SQL).
 * A page read from the database is stored only if no invalidation of its partner (or reset)
 * happened since the read began (its ticket), so a slow read never stores a page older than a
 * change it raced with.
 */
export class TalkListCache {
  private readonly entries = new Map<string, Entry>();
  /** Database reads under way, by key: concurrent misses of one page share one read. */
  private readonly reading = new Map<string, { ticket: number; page: Promise<CachedPage> }>();
  /** A counter moved by every invalidation and reset; tickets are its readings. */
  private clock = 0;
  /** The clock at each partner's last change, and at the last reset. */
  private readonly changedAt = new Map<string, number>();
  private resetAt = 0;
  private enabled = false;
  private bytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly maxAgeMs = 60_000,
  ) {}

  get active(): boolean {
    return this.enabled && this.maxBytes > 0;
  }

  /**
   * The page, kept or read with `read`. After a change, the requests that miss together share one
   * database read; one begun before the partner's last change is not shared (it may not show it).
   */
  async page(partnerId: string, query: string, read: () => Promise<Buffer>): Promise<CachedPage> {
    const kept = this.get(partnerId, query);
    if (kept) return kept;
    if (!this.active) return this.tag(await read());
    const key = `${partnerId}\n${query}`;
    const under = this.reading.get(key);
    if (under && this.current(partnerId, under.ticket)) return under.page;
    const ticket = this.ticket();
    const page = read().then((body) => this.store(partnerId, query, ticket, body));
    this.reading.set(key, { ticket, page });
    const done = () => {
      if (this.reading.get(key)?.page === page) this.reading.delete(key);
    };
    page.then(done, done);
    return page;
  }

  /** The page if kept (and marks it recently used). */
  get(partnerId: string, query: string): CachedPage | undefined {
    if (!this.active) return undefined;
    const key = `${partnerId}\n${query}`;
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (!this.current(partnerId, entry.ticket) || Date.now() - entry.storedAt > this.maxAgeMs) {
      this.drop(key, entry);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry;
  }

  /** Call before reading a page from the database; pass the result to `store`. */
  ticket(): number {
    return this.clock;
  }

  /** Tags the page and keeps it, unless the partner's talks changed (or all was reset) since `ticket`. */
  store(partnerId: string, query: string, ticket: number, body: Buffer): CachedPage {
    const page = this.tag(body);
    if (!this.active || !this.current(partnerId, ticket) || body.length > this.maxBytes / 4) return page;
    const key = `${partnerId}\n${query}`;
    const old = this.entries.get(key);
    if (old) this.drop(key, old);
    this.entries.set(key, { ...page, ticket, storedAt: Date.now() });
    this.bytes += body.length + key.length;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.drop(k, e);
    }
    return page;
  }

  /** One of the partner's talks changed. */
  invalidate(partnerId: string) {
    this.changedAt.set(partnerId, ++this.clock);
  }

  /** Changes are heard from now on: start afresh. */
  enable() {
    this.reset();
    this.enabled = true;
  }

  /** Changes may go unheard: keep and serve nothing. */
  disable() {
    this.enabled = false;
    this.reset();
  }

  stats() {
    return { active: this.active, pages: this.entries.size, bytes: this.bytes };
  }

  private reset() {
    this.entries.clear();
    this.bytes = 0;
    this.resetAt = ++this.clock;
  }

  /** Whether a read begun at `ticket` saw the partner's last change and the last reset. */
  private current(partnerId: string, ticket: number): boolean {
    return ticket >= (this.changedAt.get(partnerId) ?? 0) && ticket >= this.resetAt;
  }

  private tag(body: Buffer): CachedPage {
    return { body, etag: entityTag(body) };
  }

  private drop(key: string, entry: Entry) {
    this.entries.delete(key);
    this.bytes -= entry.body.length + key.length;
  }
}

/** A strong entity tag for a body. */
export function entityTag(body: Buffer): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}
