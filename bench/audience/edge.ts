/**
 * nginx as the caching edge in front of one or more smalltalk nodes, for the audience benches: runs
 * exactly docs/nginx-edge.conf (the front docs/operations.md recommends), its upstream being the nodes
 * given, in a directory of its own, logging each request's cache status to tell the hit ratio.
 * nginx comes from `bash scripts/setup-system.sh --bench`; startEdge throws when it is not installed.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../test/support/app.js';
import { waitFor } from '../../test/support/wait.js';
import { processTreeMicros } from '../sfu/threads.js';

export interface Edge {
  /** http://127.0.0.1:<port>, the edge's address. */
  url: string;
  /** nginx's master process. */
  process: ChildProcess;
  /** Empties the access log (the counts start again from here). */
  resetLog(): void;
  /** What the access log holds: requests, answered from the cache (HIT), passed to a node. */
  counts(): { requests: number; hits: number; toOrigin: number };
  /** CPU time of nginx's master and workers so far, µs. */
  cpuMicros(): number;
  stop(): void;
}

/**
 * `workers` nginx worker processes (one by default); with more than one, each has its own listening
 * socket (`reuseport`) so the kernel spreads the connections evenly, and up to 65,536 open files (two
 * connections per listener: 10,000 listeners are over 20,000 connections).
 */
export async function startEdge(nodes: string[], { workers = 1 }: { workers?: number } = {}): Promise<Edge> {
  execFileSync('nginx', ['-v'], { stdio: 'ignore' });
  const port = await freePort();
  const prefix = mkdtempSync(path.join(os.tmpdir(), 'bench-edge-'));
  const upstream = nodes.map((n) => `server ${new URL(n).host};`).join('\n  ');
  const conf = readFileSync(path.join(import.meta.dirname, '..', '..', 'docs', 'nginx-edge.conf'), 'utf8')
    .replace(/listen 80 backlog=4096;/, `listen 127.0.0.1:${port} backlog=4096${workers > 1 ? ' reuseport' : ''};`)
    .replace(/server 127\.0\.0\.1:8080;/, upstream)
    .replace(/\/var\/cache\/nginx\/smalltalk/g, path.join(prefix, 'cache'));
  const log = path.join(prefix, 'access.log');
  writeFileSync(
    path.join(prefix, 'nginx.conf'),
    `worker_processes ${workers};\nworker_rlimit_nofile 65536;\npid ${prefix}/nginx.pid;\nerror_log ${prefix}/error.log;\nevents { worker_connections 32768; }\nhttp {\n  log_format edge '$upstream_cache_status $status';\n  access_log ${log} edge;\n  client_body_temp_path ${prefix}/body; proxy_temp_path ${prefix}/proxy;\n${conf}\n}\n`,
  );
  const nginx = spawn('nginx', ['-p', prefix, '-c', path.join(prefix, 'nginx.conf'), '-g', 'daemon off; user root;'], { stdio: 'inherit' });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    () =>
      fetch(`${url}/`).then(
        () => true,
        () => false,
      ),
    'nginx up',
  ).catch((err) => {
    nginx.kill('SIGQUIT');
    throw err;
  });
  return {
    url,
    process: nginx,
    resetLog() {
      writeFileSync(log, '');
      // USR1: nginx reopens its log files.
      execFileSync('kill', ['-USR1', String(nginx.pid)]);
    },
    counts() {
      const statuses = readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(' ')[0]);
      return {
        requests: statuses.length,
        hits: statuses.filter((s) => s === 'HIT').length,
        toOrigin: statuses.filter((s) => s === 'MISS' || s === 'EXPIRED' || s === 'BYPASS' || s === '-').length,
      };
    },
    cpuMicros() {
      return processTreeMicros(nginx.pid as number);
    },
    stop() {
      nginx.kill('SIGQUIT');
    },
  };
}
