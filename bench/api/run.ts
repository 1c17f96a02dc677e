// bench/api: req/s and latency of the partner API against a bare Fastify route measured in the
// same run, on PGlite and (when BENCH_DATABASE_URL or TEST_DATABASE_URL is set) on Postgres.
//   npm run bench:api            (CONNECTIONS=100 SECONDS=10 by default)
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import path from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';

const root = path.resolve(import.meta.dirname, '..', '..');
const connections = Number(process.env.CONNECTIONS ?? 100);
const seconds = Number(process.env.SECONDS ?? 10);
const postgresUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
const haveTaskset = spawnSync('taskset', ['--version']).status === 0;

interface Result {
  scenario: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

async function startServer(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; token: string }> {
  const port = 39_000 + Math.floor(Math.random() * 1000);
  // The server on core 0, the load generator (this process) on core 1, when taskset exists.
  const cmd = haveTaskset ? 'taskset' : process.execPath;
  const args = [...(haveTaskset ? ['-c', '0', process.execPath] : []), '--import', 'tsx', path.join(import.meta.dirname, 'server.ts')];
  const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const msg = JSON.parse(line);
    if (msg.ready) return { child, url: `http://127.0.0.1:${port}`, token: msg.token };
  }
  throw new Error('bench server exited before it was ready');
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  return exited;
}

function load(title: string, opts: autocannon.Options): Promise<Result> {
  return new Promise((resolve, reject) => {
    autocannon({ connections, duration: seconds, ...opts }, (err, r) => {
      if (err) return reject(err);
      resolve({ scenario: title, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors, non2xx: r.non2xx });
    });
  });
}

function createTalk(url: string, token: string): autocannon.Options {
  return {
    url: `${url}/api/p/talk`,
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Bench talk', room_type: 'questions' }),
  };
}

function print(title: string, rows: Result[], bare: Result) {
  console.log(`\n${title} (${connections} connections, ${seconds} s each${haveTaskset ? '; server on core 0, load on core 1' : ''})`);
  console.log('scenario'.padEnd(66), 'req/s'.padStart(8), 'p50 ms'.padStart(8), 'p99 ms'.padStart(8), 'ratio'.padStart(7), 'errors'.padStart(7));
  for (const r of rows) {
    console.log(
      r.scenario.padEnd(66),
      r.rps.toFixed(0).padStart(8),
      String(r.p50).padStart(8),
      String(r.p99).padStart(8),
      (r.rps / bare.rps).toFixed(2).padStart(7),
      String(r.errors + r.non2xx).padStart(7),
    );
  }
}

/** Renames one of the partner's talks every `everyMs` while `during` runs: each rename drops the cached pages. */
async function whileRenaming<T>(url: string, token: string, everyMs: number, during: () => Promise<T>): Promise<{ result: T; renames: number }> {
  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const first = (await (await fetch(`${url}/api/v1/partners/talks?limit=1`, { headers: auth })).json()) as { talks: { id: string }[] };
  const id = first.talks[0].id;
  let renames = 0;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    fetch(`${url}/api/v1/partners/talks/${id}`, { method: 'PATCH', headers: auth, body: JSON.stringify({ name: `Renamed ${renames}` }) })
      .then((r) => r.ok && renames++)
      .finally(() => {
        busy = false;
      });
  }, everyMs);
  try {
    return { result: await during(), renames };
  } finally {
    clearInterval(timer);
  }
}

async function benchDatabase(name: string, env: Record<string, string>) {
  const { child, url, token } = await startServer(env);
  try {
    const auth = { authorization: `Bearer ${token}` };
    const listUrl = `${url}/api/v1/partners/talks?limit=50`;
    // Warm up (JIT, caches) before measuring.
    await load('warmup', { url: listUrl, headers: auth, duration: 2 });
    const bare = await load('bare Fastify route', { url: `${url}/__bare` });
    const list = await load('GET /api/v1/partners/talks (auth, 100 talks, page of 50)', { url: listUrl, headers: auth });
    const changing = await whileRenaming(url, token, 100, () => load('', { url: listUrl, headers: auth }));
    changing.result.scenario = `  the same while a talk is renamed 10 times/s (${changing.renames} renames)`;
    const create = await load('POST /api/p/talk', createTalk(url, token));
    print(name, [bare, list, changing.result, create], bare);
  } finally {
    await stop(child);
  }
  // The list with its page cache off (TALK_LIST_CACHE_MB=0): every request reads the database.
  const off = await startServer({ ...env, TALK_LIST_CACHE_MB: '0' });
  try {
    const auth = { authorization: `Bearer ${off.token}` };
    await load('warmup', { url: `${off.url}/api/v1/partners/talks?limit=50`, headers: auth, duration: 2 });
    const bare = await load('bare Fastify route', { url: `${off.url}/__bare` });
    const list = await load('GET /api/v1/partners/talks, cache off', { url: `${off.url}/api/v1/partners/talks?limit=50`, headers: auth });
    // What keeping the cache honest costs a write (announcing the change to other nodes).
    const create = await load('POST /api/p/talk, cache off', createTalk(off.url, off.token));
    print(`${name}, talk list cache off`, [bare, list, create], bare);
  } finally {
    await stop(off.child);
  }
}

await benchDatabase('PGlite (embedded)', { DATA_DIR: path.join(root, '.bench-data'), DATABASE_URL: '' });
if (postgresUrl) {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  try {
    await benchDatabase('Postgres', { DATABASE_URL: postgresUrl, DATABASE_SCHEMA: schema, SECRET_KEY: randomBytes(32).toString('hex') });
  } finally {
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    await client.query(`drop schema if exists ${schema} cascade`);
    await client.query(`drop schema if exists ${schema}_pgboss cascade`);
    await client.end();
  }
} else {
  console.log('\nPostgres: skipped (set BENCH_DATABASE_URL or TEST_DATABASE_URL)');
}
