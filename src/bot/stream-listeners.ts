/**
 * Light LL-HLS listeners of a talk's audience stream (`smalltalk loadtest --stream-listeners`,
 * bench/audience), in their own process: each follows the live edge as hls.js does in
 * low-latency mode (a blocking playlist reload for the hinted part and that part, both at once,
 * then the next; the reload asks for a delta update when the playlist offers them), on its own
 * keep-alive connection; they arrive spread over the first second.
 *   node stream-listeners.js <playlist url> <listeners> <seconds>
 *   node stream-listeners.js <url> <listeners> <seconds> --static   (the baseline: the same pace of GETs of one URL)
 * Prints one JSON line: requests, errors, bytes, p50/p99 ms per kind, and this process's CPU.
 */
import http from 'node:http';

const [url, countArg, secondsArg, mode] = process.argv.slice(2);
const count = Number(countArg);
const deadline = Date.now() + Number(secondsArg) * 1000;
const PART_MS = 256;

const stats = { requests: 0, errors: 0, bytes: 0, errorSamples: [] as string[] };
const times: Record<string, number[]> = { playlist: [], part: [], static: [] };

function get(agent: http.Agent, target: string, kind: string): Promise<{ status: number; body: Buffer }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = http.get(target, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        stats.requests++;
        stats.bytes += body.length;
        times[kind].push(performance.now() - started);
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          stats.errors++;
          if (stats.errorSamples.length < 5) stats.errorSamples.push(`${status} ${kind} ${body.toString().slice(0, 120)}`);
        }
        resolve({ status, body });
      });
    });
    req.on('error', (err) => {
      stats.requests++;
      stats.errors++;
      if (stats.errorSamples.length < 5) stats.errorSamples.push(`${kind}: ${err.message}`);
      resolve({ status: 0, body: Buffer.alloc(0) });
    });
  });
}

const hint = (playlist: string) => /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^/"]+)\/(\d+)\.(\d+)\.m4s"/.exec(playlist);

async function listener(): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
  const base = url.slice(0, url.lastIndexOf('/') + 1);
  let next: RegExpExecArray | null = null;
  let skip = '';
  while (Date.now() < deadline) {
    if (!next) {
      const first = (await get(agent, url, 'playlist')).body.toString();
      skip = /CAN-SKIP-UNTIL=/.test(first) ? '&_HLS_skip=YES' : '';
      next = hint(first);
      if (!next) {
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
    }
    const [epoch, msn, part]: string[] = [next[1], next[2], next[3]];
    const [playlist, media]: { status: number; body: Buffer }[] = await Promise.all([
      get(agent, `${url}?_HLS_msn=${msn}&_HLS_part=${part}${skip}`, 'playlist'),
      get(agent, `${base}${epoch}/${msn}.${part}.m4s`, 'part'),
    ]);
    next = playlist.status === 200 && media.status === 200 ? hint(playlist.body.toString()) : null;
  }
  agent.destroy();
}

async function staticListener(): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
  while (Date.now() < deadline) {
    const started = Date.now();
    await Promise.all([get(agent, url, 'static'), get(agent, url, 'static')]);
    await new Promise((r) => setTimeout(r, Math.max(0, PART_MS - (Date.now() - started))));
  }
  agent.destroy();
}

function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] * 10) / 10;
}

const run = mode === '--static' ? staticListener : listener;
const listeners: Promise<void>[] = [];
for (let i = 0; i < count; i++) {
  // Arrivals spread over the first second.
  listeners.push(new Promise((r) => setTimeout(r, (i * 1000) / count)).then(run));
}
await Promise.all(listeners);
const cpu = process.cpuUsage();
const summary: Record<string, unknown> = { ...stats, cpuMicros: cpu.user + cpu.system };
for (const [kind, list] of Object.entries(times)) if (list.length) summary[kind] = { n: list.length, p50: percentile(list, 50), p99: percentile(list, 99) };
process.stdout.write(`${JSON.stringify(summary)}\n`);
