import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../support/app.js';
import { ServeProcess, smalltalkOk } from '../support/cli.js';
import { Prng } from '../support/seed.js';
import { waitFor } from '../support/wait.js';
import { Receiver } from '../webhooks/receiver.js';
import { PrivatePostgres, PrivateRedis } from './servers.js';
import { type InterruptedRecording, LiveTalk } from './talk.js';

/**
 * The chaos scenario, shared by the short test (test/chaos/chaos.test.ts) and the long run
 * (bench/chaos/run.ts): `smalltalk serve` as a child process on our own Postgres and Redis, webhooks
 * produced all along, a live talk with a host bot speaking all along (so the server records it), and a
 * random schedule (seeded, the seed printed) of SIGKILLs of the server mid-talk and mid-delivery,
 * every database connection terminated, Postgres restarted and Redis restarted.
 * After each fault the server must be ready again; after each SIGKILL the recording it cut must be
 * finalized once the server is back, every track playable and as long as the bot spoke before the
 * kill (to within 2 s); at the end every acknowledged webhook must have arrived, `recording_saved`
 * exactly once per recording, and no request may have answered a 5xx other than a 503 in our envelope.
 */
export type Fault = 'sigkill' | 'terminate' | 'postgres-restart' | 'redis-restart';

export interface ChaosOptions {
  faults: Fault[];
  seed: number;
  log?: (line: string) => void;
  /**
   * Run the compiled server (`node bin/smalltalk.js`, which loads dist/ once `npm run build` made it),
   * as `npm start` does in production, instead of the sources through tsx (the test's default).
   */
  compiled?: boolean;
}

export interface ChaosResult {
  seed: number;
  faults: { fault: Fault; readyMs: number }[];
  acknowledged: number;
  delivered: number;
  lost: string[];
  /** Answers other than 200/503-with-our-envelope (and other than refused connections while the server is down). */
  bad: string[];
  answered503: number;
  requests: number;
  /** Each recording a SIGKILL cut, as checked once the server was back. */
  interrupted: InterruptedRecording[];
  /** Every recording of the talk, and how many distinct `recording_saved` events named it. */
  saved: { id: string; status: string; failureReason: string | null; events: number }[];
  /** Bots that gave up reconnecting while the server was away (joined again as new ones). */
  botsReplaced: number;
  /** For each SIGKILL: ms from the server ready again to the bot back in the talk with media (null: it did not come back within 60 s). */
  botBackMs: (number | null)[];
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? (() => {});
  const prng = new Prng(options.seed);
  const rand = () => prng.next();
  const cluster = await new PrivatePostgres().init();
  const redis = await new PrivateRedis().start();
  const receiver = await new Receiver().start();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'smalltalk-chaos-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: url,
    LOG_LEVEL: 'error',
    DATABASE_URL: cluster.url,
    REDIS_URL: redis.url,
    SECRET_KEY: randomBytes(24).toString('hex'),
    WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
    WEBHOOK_ALLOW_HTTP: 'true',
    WEBHOOK_TIMEOUT_MS: '1500',
    WEBHOOK_RETRY_SCHEDULE: '0,0.3,0.5,1,1,1,1,1,2,2,2,2,5,5,5,5,5',
    // The live talk: media on loopback, one SFU worker, no transcription (it would only add load).
    RTC_LISTEN_IP: '127.0.0.1',
    SFU_WORKERS: '1',
    TRANSCRIBE_ENGINE: 'none',
    // Four producers send as fast as the server answers: on a quiet machine that is past the default
    // 600 a minute, and a 429 is not what this run is about (test/chaos/redis.test.ts tests the limit).
    RATE_LIMIT_PER_MINUTE: '1000000',
  };
  // Slow answers keep deliveries in flight; some fail (and are retried).
  let flaky = true;
  receiver.respond = () => {
    if (!flaky) return { status: 200 };
    const dice = rand();
    if (dice < 0.15) return { status: 500 };
    return { status: 200, delayMs: 50 + Math.floor(rand() * 400) };
  };
  const server = new ServeProcess(env, url, { compiled: options.compiled });
  const result: ChaosResult = {
    seed: options.seed,
    faults: [],
    acknowledged: 0,
    delivered: 0,
    lost: [],
    bad: [],
    answered503: 0,
    requests: 0,
    interrupted: [],
    saved: [],
    botsReplaced: 0,
    botBackMs: [],
  };
  const acknowledged = new Set<string>();
  let producing = true;
  let talk: LiveTalk | null = null;
  try {
    const { stdout } = await smalltalkOk(
      ['partner', 'create', '--name', 'Chaos', '--email', `chaos-${randomBytes(3).toString('hex')}@example.test`, '--json'],
      {
        env,
        compiled: options.compiled,
      },
    );
    const token = (JSON.parse(stdout) as { api_token: string }).api_token;
    const call = async (method: string, route: string, json?: unknown) => {
      const res = await fetch(`${url}${route}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(json ? { 'content-type': 'application/json' } : {}) },
        body: json ? JSON.stringify(json) : undefined,
        signal: AbortSignal.timeout(30_000),
      });
      return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
    };
    await server.start();
    log('server started');
    const hook = await call('POST', '/api/v1/partners/webhooks', { url: `${receiver.url}/hook` });
    if (hook.status !== 200) throw new Error(`webhook not created: ${JSON.stringify(hook.body)}`);
    const hookId = hook.body.webhook.id as string;
    talk = new LiveTalk(call, dataDir, log);
    await talk.create();
    const live = talk;

    const produce = async () => {
      while (producing) {
        let res: Awaited<ReturnType<typeof call>>;
        try {
          res = await call('POST', `/api/v1/partners/webhooks/${hookId}/test`);
        } catch {
          // Refused or cut while the server is down: try again.
          await new Promise((resolve) => setTimeout(resolve, 100));
          continue;
        }
        result.requests++;
        if (res.status === 200) acknowledged.add(res.body.delivery.event_id);
        else if (res.status === 503 && res.body.error?.code === 'service_unavailable' && res.headers.get('retry-after')) {
          result.answered503++;
          await new Promise((resolve) => setTimeout(resolve, 200));
        } else result.bad.push(`${res.status} ${JSON.stringify(res.body)}`);
      }
    };
    const producers = Array.from({ length: 4 }, produce);

    for (const [i, fault] of options.faults.entries()) {
      // The bot speaking into a recording (joined again if it gave up while the server was away).
      const recording = await live.speakingInto();
      // A moment while deliveries are in flight, the talk recording for 1-4 s more.
      const seen = receiver.received.length;
      await waitFor(() => receiver.received.length >= seen + 3 && receiver.pending > 0, 'deliveries in flight', 60_000);
      await new Promise((resolve) => setTimeout(resolve, 1000 + Math.floor(rand() * 3000)));
      const started = Date.now();
      let readyAt = 0;
      if (fault === 'sigkill') {
        const spokeFrom = live.speakingSince;
        const bytesAtKill = live.trackBytes(recording);
        const bot = live.bot;
        const reconnectsBefore = bot?.report.reconnects ?? 0;
        await server.kill();
        const killedAt = Date.now();
        await server.start();
        readyAt = Date.now();
        const checked = await live.checkInterrupted(recording, killedAt, spokeFrom, readyAt, bytesAtKill);
        result.interrupted.push(checked);
        // The bot in the talk: back with media (as the same participant), counted from the server's return.
        const back = await waitFor(() => bot && (bot.report.reconnects > reconnectsBefore || bot.report.error !== null), 'the bot back', 60_000)
          .then(() => (bot?.report.error === null ? (bot.report.reconnectedAtMs.at(-1) ?? 0) - readyAt : null))
          .catch(() => null);
        result.botBackMs.push(back);
        log(`  the bot was back with media ${back === null ? 'NOT within 60 s' : `${back} ms after the server was ready`}`);
        log(
          checked.status === 'failed'
            ? `  recording cut ${checked.untilKillS.toFixed(1)} s in (bot spoke ${checked.spokeS.toFixed(1)} s) before its capture wrote a byte: failed, "${checked.failureReason}", ${checked.savedAfterReadyMs} ms after ready`
            : `  recording cut ${checked.untilKillS.toFixed(1)} s in (bot spoke ${checked.spokeS.toFixed(1)} s): mix ${checked.mixS.toFixed(1)} s, tracks ${checked.trackS.map((d) => d.toFixed(1)).join(', ')} s (last ends ${checked.trackEndS.toFixed(1)} s in, started ${checked.startLagS.toFixed(1)} s after the voice came), saved ${checked.savedAfterReadyMs} ms after ready, ${checked.bytesAtKill} track bytes on disk at the kill${checked.problems.length ? `; PROBLEMS: ${checked.problems.join('; ')}` : ''}`,
        );
      } else if (fault === 'terminate') {
        await cluster.terminate();
        await server.ready();
      } else if (fault === 'postgres-restart') {
        await cluster.stop();
        await cluster.start();
        await server.ready();
      } else {
        await redis.stop();
        await redis.start();
        await waitFor(
          async () => {
            server.alive();
            const body = (await fetch(`${url}/readyz`).then((r) => r.json())) as { checks?: { redis?: string } };
            return body.checks?.redis === 'ok';
          },
          'redis back in use',
          60_000,
        );
      }
      const readyMs = (readyAt || Date.now()) - started;
      result.faults.push({ fault, readyMs });
      log(`${i + 1}/${options.faults.length} ${fault}: ready after ${readyMs} ms (${receiver.received.length} deliveries so far)`);
    }
    producing = false;
    await Promise.all(producers);
    await live.end();
    flaky = false;
    server.alive();
    const delivered = () => new Set(receiver.received.filter((r) => r.answered !== undefined && r.answered < 300).map((r) => r.json.id));
    await receiver
      .until(() => [...acknowledged].every((id) => delivered().has(id)), `all ${acknowledged.size} acknowledged events delivered`, 240_000)
      .catch(() => {});
    const got = delivered();
    result.acknowledged = acknowledged.size;
    result.delivered = got.size;
    result.lost = [...acknowledged].filter((id) => !got.has(id));
    // Every recording of the talk finalized, and announced exactly once (retries repeat an event's id).
    await waitFor(
      async () => (await live.recordings()).every((r) => r.status === 'ready' || r.status === 'failed'),
      'every recording of the talk finalized',
      120_000,
    ).catch(() => {});
    const recordings = await live.recordings();
    const announced = (id: string) =>
      new Set(receiver.received.filter((r) => r.json.event_name === 'recording_saved' && r.json.body.id === id).map((r) => r.json.id)).size;
    await receiver
      .until(() => recordings.every((r) => r.status === 'failed' || announced(r.id) >= 1), 'recording_saved for every recording saved', 60_000)
      .catch(() => {});
    result.saved = (await live.recordings()).map((r) => ({ id: r.id, status: r.status, failureReason: r.failure_reason, events: announced(r.id) }));
    result.botsReplaced = live.replaced;
    return result;
  } finally {
    producing = false;
    await talk?.end().catch(() => {});
    await server.kill();
    await receiver.close();
    await redis.stop();
    await cluster.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * A schedule of `kills` SIGKILLs (each mid-talk and mid-delivery) with one other fault after every `every` kills
 * (terminate, Postgres restart, Redis restart in turn, from a seeded start).
 */
export function killSchedule(kills: number, every: number, seed: number): Fault[] {
  const first = new Prng(seed ^ 0x5eed).int(3);
  const others: Fault[] = ['terminate', 'postgres-restart', 'redis-restart'];
  const out: Fault[] = [];
  for (let i = 1; i <= kills; i++) {
    out.push('sigkill');
    if (i % every === 0) out.push(others[(first + i / every) % others.length]);
  }
  return out;
}

/** A random schedule of `n` faults, half of them SIGKILLs (each mid-talk and mid-delivery). */
export function schedule(n: number, seed: number): Fault[] {
  const prng = new Prng(seed ^ 0x5eed);
  const rand = () => prng.next();
  const kinds: Fault[] = ['sigkill', 'sigkill', 'sigkill', 'terminate', 'postgres-restart', 'redis-restart'];
  return Array.from({ length: n }, () => kinds[Math.floor(rand() * kinds.length)]);
}
