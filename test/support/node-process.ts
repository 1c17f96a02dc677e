import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

export interface NodeProcess {
  child: ChildProcess;
  url: string;
  /** The partner made in the node when one was named, else null. */
  partner: { partnerId: string; token: string } | null;
}

/**
 * One node of a scaled deployment in a process of its own (test/scaled/node-child.ts), for the tests
 * that SIGKILL a node and for bench:two-nodes. Resolves once it listens: on the first stdout line that
 * is the child's `{"url", "partner"}` (with TEST_LOG_LEVEL set, log lines may come before it). Kills the
 * child and rejects if it exits first or does not listen within `timeoutMs`.
 */
export async function startNodeProcess(opts: {
  schema: string;
  dataDir: string;
  env: Record<string, string>;
  partnerName?: string;
  timeoutMs?: number;
}): Promise<NodeProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(import.meta.dirname, '..', 'scaled', 'node-child.ts'),
      opts.schema,
      opts.dataDir,
      JSON.stringify(opts.env),
      ...(opts.partnerName ? [opts.partnerName] : []),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const timeoutMs = opts.timeoutMs ?? 60_000;
  try {
    const ready = await new Promise<Pick<NodeProcess, 'url' | 'partner'>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the node did not listen within ${timeoutMs / 1000} s`)), timeoutMs);
      // Read to the end (a child whose pipe fills up stops), passing its log lines on to stderr.
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        const ready = readyLine(line);
        if (!ready) return void process.stderr.write(`${line}\n`);
        clearTimeout(timer);
        resolve(ready);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the node exited (${signal ?? code}) before listening`));
      });
    });
    return { child, ...ready };
  } catch (err) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    throw err;
  }
}

/** node-child.ts's ready line, or null for any other line (a log line, say). */
function readyLine(line: string): Pick<NodeProcess, 'url' | 'partner'> | null {
  try {
    const parsed = JSON.parse(line);
    return parsed && typeof parsed.url === 'string' && 'partner' in parsed ? { url: parsed.url, partner: parsed.partner } : null;
  } catch {
    return null;
  }
}
