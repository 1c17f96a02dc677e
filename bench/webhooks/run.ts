/**
 * Webhook delivery benchmark: emits events through the real outbox (services.events.emit in a
 * transaction) to a local HTTP receiver and reports deliveries/s and event-to-receipt latency,
 * beside a baseline of raw HTTP POSTs to the same receiver measured in the same run.
 *
 *   npm run bench:webhooks                       # PGlite, then Postgres if reachable
 *   npm run bench:webhooks -- --db pglite --events 10000
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:webhooks -- --db postgres
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../../src/platform/config.js';
import { closeServices, createServices, startBackground } from '../../src/compose.js';
import type { Services } from '../../src/compose.js';

const { values } = parseArgs({
  options: {
    db: { type: 'string' },
    events: { type: 'string', default: '10000' },
    rate: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '16' },
  },
});
const total = Number(values.events);
const paced = Math.min(total, 3000);
const rate = Number(values.rate);
const concurrency = Number(values.concurrency);
const pgUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

function pct(sorted: number[], p: number) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : Number.NaN;
}

/** The receiver: records receipt time by event id (or by a baseline request id). */
async function startReceiver() {
  const seen = new Map<string, number>();
  let waiter: { n: number; resolve: () => void } | null = null;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = (req.headers['webhook-id'] as string) ?? (JSON.parse(Buffer.concat(chunks).toString()).id as string);
      if (!seen.has(id)) seen.set(id, performance.now());
      res.writeHead(200).end('ok');
      if (waiter && seen.size >= waiter.n) {
        waiter.resolve();
        waiter = null;
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return {
    url,
    seen,
    waitFor: (n: number) => (seen.size >= n ? Promise.resolve() : new Promise<void>((resolve) => (waiter = { n, resolve }))),
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

async function runPool(n: number, workers: number, fn: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

const body = (i: number) => ({
  message: `caption ${i} ${'x'.repeat(80)}`,
  fullname: 'Bench',
  avatar_url: null,
  username: 'bench',
  timestamp: new Date().toISOString(),
  // Spread over talks: one talk's captions serialize on its seq row (see docs/benchmarks.md).
  talkId: `bench-talk-${i % 100}`,
});

async function baseline(url: string, seen: Map<string, number>) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const lat: number[] = [];
  const started = performance.now();
  await runPool(total, 64, async (i) => {
    const payload = JSON.stringify({ event_name: 'next_caption', body: body(i), id: `base-${i}` });
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const req = http.request(
        url,
        { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
        (res) => {
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
    lat.push(performance.now() - t0);
  });
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  seen.clear();
  lat.sort((a, b) => a - b);
  return { perSecond: total / seconds, p50: pct(lat, 50), p99: pct(lat, 99) };
}

async function webhooks(services: Services, partnerId: string, receiver: Awaited<ReturnType<typeof startReceiver>>) {
  const emitted = new Map<string, number>();
  const emit = async (i: number) => {
    const t0 = performance.now();
    const { id } = await services.db.db.transaction().execute((tx) => services.events.emit(tx, partnerId, 'next_caption', body(i)));
    emitted.set(id, t0);
  };
  // Throughput: all events as fast as the emitters can write them.
  const started = performance.now();
  await runPool(total, concurrency, emit);
  const emitSeconds = (performance.now() - started) / 1000;
  await receiver.waitFor(total);
  while ([...emitted.keys()].some((id) => !receiver.seen.has(id))) await new Promise((r) => setTimeout(r, 20));
  const seconds = (performance.now() - started) / 1000;
  const satLat = [...emitted].map(([id, t]) => (receiver.seen.get(id) ?? Number.NaN) - t).sort((a, b) => a - b);
  // Latency while not saturated: a steady rate well under the throughput.
  emitted.clear();
  receiver.seen.clear();
  // Paced emits with a bound on those in flight: a late emit waits for a free slot instead of
  // queueing on the pool ahead of the worker (which is what starved the first version).
  const interval = 1000 / rate;
  const pacedStart = performance.now();
  let inFlight = 0;
  let maxLagMs = 0;
  const slotFreed: (() => void)[] = [];
  const pending: Promise<void>[] = [];
  for (let i = 0; i < paced; i++) {
    const due = pacedStart + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    while (inFlight >= concurrency) await new Promise<void>((r) => slotFreed.push(r));
    maxLagMs = Math.max(maxLagMs, performance.now() - due);
    inFlight++;
    pending.push(
      emit(i).finally(() => {
        inFlight--;
        slotFreed.shift()?.();
      }),
    );
  }
  await Promise.all(pending);
  const pacedRate = paced / ((performance.now() - pacedStart) / 1000);
  await receiver.waitFor(paced);
  // The count can include late duplicates of the previous phase: wait for these very events.
  while ([...emitted.keys()].some((id) => !receiver.seen.has(id))) await new Promise((r) => setTimeout(r, 20));
  const lat = [...emitted].map(([id, t]) => (receiver.seen.get(id) ?? Number.NaN) - t).sort((a, b) => a - b);
  // Delivery alone: a backlog emitted while the worker is stopped, then drained.
  const worker = services.background.find((b) => b.name === 'webhook-delivery');
  if (!worker) throw new Error('no webhook-delivery worker');
  await worker.stop();
  receiver.seen.clear();
  await runPool(total, concurrency, async (i) => {
    await services.db.db.transaction().execute((tx) => services.events.emit(tx, partnerId, 'next_caption', body(i)));
  });
  const drainStart = performance.now();
  await worker.start();
  await receiver.waitFor(total);
  const drainPerSecond = total / ((performance.now() - drainStart) / 1000);
  return {
    drainPerSecond,
    perSecond: total / seconds,
    emitPerSecond: total / emitSeconds,
    satP50: pct(satLat, 50),
    satP99: pct(satLat, 99),
    p50: pct(lat, 50),
    p99: pct(lat, 99),
    pacedRate,
    maxLagMs,
  };
}

async function bench(kind: 'pglite' | 'postgres') {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'smalltalk-bench-'));
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    SECRET_KEY: 'bench-secret-key-0123456789abcdefghijklmnop',
    WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
    WEBHOOK_ALLOW_HTTP: 'true',
    SFU_WORKERS: '0',
  };
  if (kind === 'postgres') Object.assign(env, { DATABASE_URL: pgUrl, DATABASE_SCHEMA: schema });
  const services = await createServices(loadConfig(env));
  const receiver = await startReceiver();
  try {
    await startBackground(services);
    const base = await baseline(receiver.url, receiver.seen);
    const user = await services.accounts.signUp({ email: `bench-${schema}@example.test`, password: 'correct horse battery staple', name: 'Bench' });
    const partner = await services.accounts.createPartner(user.id, 'Bench');
    await services.webhooks.create(partner.id, { url: receiver.url, events: ['next_caption'] });
    const wh = await webhooks(services, partner.id, receiver);
    const f = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : 'n/a');
    console.log(
      `\n== ${kind}: ${total} events, ${concurrency} concurrent emitters (${os.cpus().length} cores, load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')})`,
    );
    console.log(`baseline raw POSTs (64 in flight):  ${f(base.perSecond)} req/s   p50 ${base.p50.toFixed(1)} ms   p99 ${base.p99.toFixed(1)} ms`);
    console.log(
      `webhooks, saturated:                ${f(wh.perSecond)} deliveries/s (emits ${f(wh.emitPerSecond)}/s)  event-to-receipt p50 ${f(wh.satP50)} ms  p99 ${f(wh.satP99)} ms`,
    );
    console.log(
      `webhooks, steady ${rate}/s x ${paced}:     event-to-receipt p50 ${wh.p50.toFixed(1)} ms   p99 ${wh.p99.toFixed(1)} ms  (achieved ${f(wh.pacedRate)} emits/s, max emit lag ${f(wh.maxLagMs)} ms)`,
    );
    console.log(`webhooks, draining a ${total} backlog:  ${f(wh.drainPerSecond)} deliveries/s (delivery path alone)`);
    console.log(`ratio drain deliveries/s : baseline req/s = ${(wh.drainPerSecond / base.perSecond).toFixed(3)}`);
    console.log(`ratio deliveries/s : baseline req/s = ${(wh.perSecond / base.perSecond).toFixed(3)}`);
  } finally {
    await receiver.close();
    await closeServices(services);
    rmSync(dataDir, { recursive: true, force: true });
    if (kind === 'postgres') {
      const c = new pg.Client({ connectionString: pgUrl });
      await c.connect();
      await c.query(`drop schema if exists ${schema} cascade; drop schema if exists ${schema}_pgboss cascade`);
      await c.end();
    }
  }
}

const kinds = values.db ? [values.db as 'pglite' | 'postgres'] : (['pglite', 'postgres'] as const);
for (const kind of kinds) await bench(kind);
process.exit(0);
