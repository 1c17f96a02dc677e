// bench/idle: the CPU an embedded server uses while nothing happens (no request, no talk), against a
// bare Fastify server measured in the same run. What a laptop or a small community's box pays to keep
// smalltalk running.
//   npm run bench:idle            (SECONDS=20 of measuring, after 10 s of settling)
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..', '..');
const seconds = Number(process.env.SECONDS ?? 20);
const SETTLE_MS = 10_000;

/** utime + stime of a process and all its threads, in ms (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

async function until(url: string) {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never answered`);
}

/** ms of CPU per second the process uses over `seconds`, once up and settled. */
async function idleCpu(child: ChildProcess, healthUrl: string): Promise<number> {
  await until(healthUrl);
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const pid = child.pid as number;
  const c0 = cpuMs(pid);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  return (cpuMs(pid) - c0) / seconds;
}

function stop(child: ChildProcess) {
  return new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function main() {
  const port = 38_000 + Math.floor(Math.random() * 1000);
  const bare = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import Fastify from 'fastify'; const app = Fastify(); app.get('/healthz', async () => ({ ok: true })); await app.listen({ port: ${port}, host: '127.0.0.1' });`,
    ],
    { cwd: root, stdio: 'ignore' },
  );
  const bareCpu = await idleCpu(bare, `http://127.0.0.1:${port}/healthz`).finally(() => stop(bare));

  const dataDir = mkdtempSync(path.join(tmpdir(), 'smalltalk-idle-'));
  const server = spawn(process.execPath, [path.join(root, 'bin', 'smalltalk.js'), 'serve'], {
    cwd: root,
    env: { ...process.env, DATA_DIR: dataDir, PORT: String(port + 1), LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  try {
    const cpu = await idleCpu(server, `http://127.0.0.1:${port + 1}/healthz`);
    // A bare Fastify server idles at (nearly) nothing, so what smalltalk uses is its own overhead:
    // printed as is and against one core, with the baseline beside it.
    console.log(`idle CPU over ${seconds} s, after ${SETTLE_MS / 1000} s of settling (ms of CPU per second):`);
    console.log('| server | ms/s | % of a core | over the baseline |');
    console.log('|---|---|---|---|');
    console.log(`| bare Fastify (baseline) | ${bareCpu.toFixed(1)} | ${(bareCpu / 10).toFixed(1)}% | |`);
    console.log(
      `| smalltalk, embedded defaults (PGlite, SFU workers, job queue) | ${cpu.toFixed(1)} | ${(cpu / 10).toFixed(1)}% | +${(cpu - bareCpu).toFixed(1)} ms/s |`,
    );
  } finally {
    await stop(server);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

void main();
