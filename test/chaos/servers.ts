import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../support/app.js';
import { skipUnlessCi } from '../support/needs.js';
import { which } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

/**
 * A Postgres cluster and a Redis of the test's own, on their own ports, that the chaos tests stop,
 * restart, stall and cut off (never the machine's shared servers).
 */
const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const run = promisify(execFile);

/**
 * Why these tests cannot run here, or false. Without the binaries they are skipped with this
 * notice, except under CI, where a missing binary is a failure (skipUnlessCi throws).
 */
export function missingBinaries(needs: { postgres?: boolean; redis?: boolean }): string | false {
  const missing: string[] = [];
  if (needs.postgres && !existsSync(path.join(PG_BIN, 'initdb'))) missing.push(`Postgres binaries (${PG_BIN}; set PG_BIN)`);
  if (needs.redis && !which('redis-server')) missing.push('redis-server');
  return skipUnlessCi(missing.length > 0 && `chaos tests need ${missing.join(' and ')} to start servers of their own`);
}

/** initdb refuses to run as root: as root, the cluster belongs to the postgres user. */
const asPostgres = process.getuid?.() === 0;
function pgCommand(bin: string, args: string[]): [string, string[]] {
  return asPostgres ? ['runuser', ['-u', 'postgres', '--', path.join(PG_BIN, bin), ...args]] : [path.join(PG_BIN, bin), args];
}

export class PrivatePostgres {
  readonly dir: string;
  port = 0;
  /** The password of the `smalltalk` role (the start-up test checks it never reaches a log). */
  readonly password = `pw-${Math.random().toString(36).slice(2)}`;

  constructor() {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'smalltalk-chaos-pg-'));
    if (asPostgres)
      chownSync(
        this.dir,
        Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })),
        Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })),
      );
  }

  get url() {
    return `postgres://smalltalk:${this.password}@127.0.0.1:${this.port}/smalltalk`;
  }

  get adminUrl() {
    return `postgres://${asPostgres ? 'postgres' : os.userInfo().username}@127.0.0.1:${this.port}/postgres`;
  }

  async init() {
    this.port = await freePort();
    const data = path.join(this.dir, 'data');
    await run(...pgCommand('initdb', ['-D', data, '-A', 'trust', '--no-sync', '-E', 'UTF8']));
    await this.start();
    const admin = new pg.Client({ connectionString: this.adminUrl });
    await admin.connect();
    await admin.query(`create role smalltalk login superuser password '${this.password}'`);
    await admin.query('create database smalltalk owner smalltalk');
    await admin.end();
    return this;
  }

  async start() {
    await run(
      ...pgCommand('pg_ctl', [
        '-D',
        path.join(this.dir, 'data'),
        '-l',
        path.join(this.dir, 'log'),
        '-w',
        '-o',
        `-p ${this.port} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
        'start',
      ]),
    );
  }

  /** Stops at once (like a crash or a failover: clients see their connections drop). */
  async stop() {
    await run(...pgCommand('pg_ctl', ['-D', path.join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop']));
  }

  /** Every process of the cluster (postmaster and backends). */
  private pids(): number[] {
    const pidFile = path.join(this.dir, 'data', 'postmaster.pid');
    const main = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    const children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(main)], { encoding: 'utf8' })
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter(Boolean);
    return [main, ...children];
  }

  /** A stalled database: every process of the cluster stopped (SIGSTOP), connections open and silent. */
  stall() {
    const pids = this.pids();
    for (const pid of pids) process.kill(pid, 'SIGSTOP');
    return () => {
      for (const pid of pids) process.kill(pid, 'SIGCONT');
    };
  }

  /** Terminates every backend connected to the app's database (as a restart or a failover would); returns how many. */
  async terminate(): Promise<number> {
    const admin = new pg.Client({ connectionString: this.adminUrl });
    await admin.connect();
    try {
      const { rows } = await admin.query(
        "select pg_terminate_backend(pid) as done from pg_stat_activity where datname = 'smalltalk' and pid <> pg_backend_pid()",
      );
      return rows.filter((r) => r.done).length;
    } finally {
      await admin.end();
    }
  }

  /** The application names connected now (pg_stat_activity). */
  async applications(): Promise<string[]> {
    const admin = new pg.Client({ connectionString: this.adminUrl });
    await admin.connect();
    try {
      const { rows } = await admin.query('select application_name from pg_stat_activity where pid <> pg_backend_pid()');
      return rows.map((r) => r.application_name as string);
    } finally {
      await admin.end();
    }
  }

  async destroy() {
    await this.stop().catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class PrivateRedis {
  port = 0;
  private child: ChildProcess | null = null;

  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start() {
    if (!this.port) this.port = await freePort();
    // Tied to this process (setpriv --pdeathsig) so that a killed test run does not leave it running.
    const child = spawn(
      existsSync('/usr/bin/setpriv') ? '/usr/bin/setpriv' : 'redis-server',
      [
        ...(existsSync('/usr/bin/setpriv') ? ['--pdeathsig', 'KILL', 'redis-server'] : []),
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { stdio: 'ignore' },
    );
    this.child = child;
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          const probe = spawn('redis-cli', ['-p', String(this.port), 'ping'], { stdio: ['ignore', 'pipe', 'ignore'] });
          let out = '';
          probe.stdout.on('data', (d) => (out += d));
          probe.on('close', () => resolve(out.includes('PONG')));
        }),
      'redis to answer',
      15_000,
    );
    return this;
  }

  /** A stalled Redis: the process stopped (SIGSTOP), its connections open and silent. Returns the resume. */
  stall() {
    const child = this.child;
    if (!child) throw new Error('redis is not running');
    child.kill('SIGSTOP');
    return () => child.kill('SIGCONT');
  }

  async stop() {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await gone;
    this.child = null;
  }
}
