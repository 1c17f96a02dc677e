import { createRequire } from 'node:module';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

const require = createRequire(import.meta.url);

/** @fastify/rate-limit's own stores (CommonJS, not exported by name). */
interface RateStore {
  incr(key: string, cb: (err: Error | null, res?: { current: number; ttl: number }) => void, timeWindow: number, max: number): void;
  child(routeOptions: unknown): RateStore;
}
type StoreCtor = new (continueExceeding: boolean, exponentialBackoff: boolean, ...rest: unknown[]) => RateStore;
const RedisStore = require('@fastify/rate-limit/store/RedisStore.js') as StoreCtor;
const LocalStore = require('@fastify/rate-limit/store/LocalStore.js') as StoreCtor;

const RECONNECT_MAX_MS = 5_000;

/**
 * The scaled mode's Redis (shared rate-limit counters). It may be unreachable at start or go
 * away later: then commands fail at once (no offline queue, so a request never waits on it; a
 * stalled one times out after a second), its
 * errors are logged through pino once per outage (never ioredis's raw "Unhandled error event"
 * lines), it reconnects with backoff, and `up` says whether the shared counters are in use.
 */
export class SharedRedis {
  readonly client: Redis;
  private down = false;

  constructor(url: string, log: Logger) {
    this.client = new Redis(url, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      connectTimeout: 2_000,
      // A stalled Redis (connected, silent) must not hold requests: the count falls back to memory.
      commandTimeout: 1_000,
      retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 10), RECONNECT_MAX_MS),
    });
    this.client.on('error', (err: Error & { code?: string }) => {
      if (this.down) return;
      this.down = true;
      log.warn({ err: { message: err.message, code: err.code } }, 'Redis unreachable: rate limits are counted per node until it is back');
    });
    this.client.on('ready', () => {
      if (this.down) log.info('Redis reachable again: rate limits are shared across nodes');
      this.down = false;
    });
  }

  get up(): boolean {
    return this.client.status === 'ready';
  }

  async close(): Promise<void> {
    if (this.client.status === 'ready') await this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
  }

  /**
   * A rate-limit store (`store` option of @fastify/rate-limit) that counts in Redis while it is up
   * and in this node's memory while it is not: the partner API keeps working, with each node's
   * limit the configured one, and goes back to shared counters when Redis returns.
   */
  rateLimitStore(nameSpace: string) {
    const redis = this;
    return class FallbackStore implements RateStore {
      constructor(
        params: { continueExceeding?: boolean; exponentialBackoff?: boolean },
        private readonly shared = new RedisStore(params.continueExceeding ?? false, params.exponentialBackoff ?? false, redis.client, nameSpace),
        private readonly local = new LocalStore(params.continueExceeding ?? false, params.exponentialBackoff ?? false),
      ) {}

      incr(key: string, cb: Parameters<RateStore['incr']>[1], timeWindow: number, max: number) {
        if (!redis.up) return this.local.incr(key, cb, timeWindow, max);
        this.shared.incr(key, (err, res) => (err ? this.local.incr(key, cb, timeWindow, max) : cb(null, res)), timeWindow, max);
      }

      child(routeOptions: unknown): RateStore {
        const store = Object.create(FallbackStore.prototype) as FallbackStore;
        Object.assign(store, { shared: this.shared.child(routeOptions), local: this.local.child(routeOptions) });
        return store;
      }
    };
  }
}
