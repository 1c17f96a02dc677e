import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from './wait.js';

/** The repository's root: the `smalltalk` command runs from here, as an operator's checkout would. */
export const root = path.resolve(import.meta.dirname, '..', '..');

export interface CliOptions {
  /** Set over this process's environment (a value '' clears a variable for the command, e.g. DATABASE_URL). */
  env?: Record<string, string>;
  /** Run the compiled CLI (`node bin/smalltalk.js`, dist/ from `npm run build`), as `npm start` does; else the sources through tsx. */
  compiled?: boolean;
}

export interface CliResult {
  /** The exit code; null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** It ran past its timeout and was killed (SIGKILL). */
  timedOut: boolean;
}

/** Node's arguments for `smalltalk <args>`. */
export function cliArgs(args: readonly string[], compiled = false): string[] {
  return [...(compiled ? [path.join(root, 'bin', 'smalltalk.js')] : ['--import', 'tsx', path.join(root, 'src', 'cli.ts')]), ...args];
}

/**
 * Runs `smalltalk <args>` to its end and resolves with its exit code and both outputs, failing or
 * not (a test asserts on them); after `timeoutMs` (default 180 s) it is killed.
 */
export function smalltalk(args: readonly string[], options: CliOptions & { timeoutMs?: number } = {}): Promise<CliResult> {
  const child = startSmalltalk(args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutMs ?? 180_000);
  return new Promise((resolve, reject) => {
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** `smalltalk` that must succeed: rejects with the command and its stderr unless it exits 0. */
export async function smalltalkOk(args: readonly string[], options: CliOptions & { timeoutMs?: number } = {}): Promise<CliResult> {
  const res = await smalltalk(args, options);
  if (res.code !== 0) {
    const how = res.timedOut ? 'timed out' : res.signal ? `was killed (${res.signal})` : `exited ${res.code}`;
    throw new Error(`smalltalk ${args.join(' ')} ${how}:\n${res.stderr}`);
  }
  return res;
}

/**
 * Starts `smalltalk <args>` (typically `serve`) as a child process and returns it; the caller waits
 * for it and ends it. `tied`: it dies with this process (setpriv --pdeathsig, where there is one), so
 * a test runner that kills this process on a timeout leaves no server behind.
 */
export function startSmalltalk(args: readonly string[], options: CliOptions & { stdio?: StdioOptions; detached?: boolean; tied?: boolean } = {}): ChildProcess {
  const tie = options.tied && existsSync('/usr/bin/setpriv') ? ['/usr/bin/setpriv', '--pdeathsig', 'KILL', process.execPath] : [process.execPath];
  return spawn(tie[0], [...tie.slice(1), ...cliArgs(args, options.compiled)], {
    cwd: root,
    env: { ...process.env, ...options.env },
    stdio: options.stdio ?? ['ignore', 'ignore', 'inherit'],
    detached: options.detached,
  });
}

/**
 * `smalltalk serve` as a child process that a test starts, waits for (/readyz), checks and SIGKILLs,
 * again and again on the same data (a data directory or a Postgres schema in `env` that outlives it).
 * Tied to this process, so a runner that kills this process on a timeout leaves no server behind.
 */
export class ServeProcess {
  child: ChildProcess | null = null;
  constructor(
    readonly env: Record<string, string>,
    readonly url: string,
    readonly options: { compiled?: boolean; readyTimeoutMs?: number } = {},
  ) {}

  /** Starts the server and resolves once it is ready; throws if it exits meanwhile. */
  async start() {
    const child = startSmalltalk(['serve'], { env: this.env, compiled: this.options.compiled, tied: true });
    this.child = child;
    let exited = false;
    child.once('exit', () => (exited = true));
    await this.ready(() => {
      if (exited) throw new Error(`the server exited (${child.exitCode ?? child.signalCode})`);
    });
  }

  /** Resolves once /readyz answers 200; throws if the server died meanwhile. */
  async ready(check: () => void = () => this.alive()) {
    await waitFor(
      async () => {
        check();
        return fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(5000) })
          .then((r) => r.ok)
          .catch(() => false);
      },
      'the server to be ready',
      // A fresh `serve` took over 2 minutes to its first ready on this 2-core machine at load 57.
      this.options.readyTimeoutMs ?? 300_000,
    );
  }

  /** Throws unless the server is running. */
  alive() {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) throw new Error(`the server died (${child?.exitCode ?? child?.signalCode})`);
  }

  /** SIGKILL, and resolves once it is gone. */
  async kill() {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await gone;
    this.child = null;
  }
}
