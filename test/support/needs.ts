import net from 'node:net';
import tls from 'node:tls';
import pg from 'pg';

/**
 * The servers a test needs from outside this process: a real Postgres (TEST_DATABASE_URL) and a
 * real Redis (TEST_REDIS_URL). CI sets both to the machine's own; a run that skipped them would
 * pass without testing scaled mode at all, so under CI (`CI` set) a missing or unreachable one is a
 * failure. Elsewhere the test is skipped with a notice saying what to set.
 */
export interface Needs {
  postgres?: boolean;
  redis?: boolean;
}

const examples = {
  TEST_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
  TEST_REDIS_URL: 'redis://127.0.0.1:6379',
};

/**
 * Why a test that needs `what` for `purpose` cannot run here (its skip reason), or false when every
 * server it needs answers. Under CI it throws instead of returning a reason.
 */
export async function needs(what: Needs, purpose: string): Promise<string | false> {
  const problems: string[] = [];
  if (what.postgres) problems.push(...(await check('TEST_DATABASE_URL', pingPostgres)));
  if (what.redis) problems.push(...(await check('TEST_REDIS_URL', pingRedis)));
  return skipUnlessCi(problems.length ? `${purpose}: ${problems.join('; ')}` : false);
}

/**
 * A test's reason to skip (something it needs is missing), or false. Without CI the reason is
 * printed as a notice; under CI it is thrown, because CI provides what the tests need.
 */
export function skipUnlessCi(reason: string | false): string | false {
  if (!reason) return false;
  if (process.env.CI) throw new Error(`CI: ${reason}. Under CI this is required, not skipped.`);
  process.stderr.write(`SKIPPED: ${reason}\n`);
  return reason;
}

/** TEST_DATABASE_URL, for a test that must have it (`who` says which: e.g. "TEST_DB=postgres"). */
export function postgresUrl(who: string): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error(`${who} needs TEST_DATABASE_URL (e.g. ${examples.TEST_DATABASE_URL})`);
  return url;
}

async function check(name: keyof typeof examples, ping: (url: string) => Promise<void>): Promise<string[]> {
  const url = process.env[name];
  if (!url) return [`${name} is not set (set it, e.g. ${name}=${examples[name]})`];
  try {
    await ping(url);
    return [];
  } catch (err) {
    return [`${name} (${redact(url)}) is unreachable: ${(err as Error).message}`];
  }
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(not a URL)';
  }
}

async function pingPostgres(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('select 1');
  } finally {
    await client.end().catch(() => {});
  }
}

/** One PING over RESP: any reply (PONG, or NOAUTH from a server that wants a password) means a Redis answers. */
function pingRedis(url: string): Promise<void> {
  const u = new URL(url);
  const port = Number(u.port || 6379);
  const host = u.hostname || '127.0.0.1';
  return new Promise((resolve, reject) => {
    const socket = u.protocol === 'rediss:' ? tls.connect({ host, port, servername: host }) : net.connect({ host, port });
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer within 5 s')));
    socket.once('error', reject);
    socket.once('data', (data) => {
      socket.destroy();
      const reply = data.toString('utf8');
      if (/^(\+PONG|-NOAUTH)/.test(reply)) resolve();
      else reject(new Error(`not a Redis reply: ${JSON.stringify(reply.slice(0, 40))}`));
    });
    socket.once(u.protocol === 'rediss:' ? 'secureConnect' : 'connect', () => socket.write('PING\r\n'));
  });
}
