import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Config } from '../platform/config.js';
import type { ParticipantReport } from './participant.js';

export interface LoadResult {
  listeners: number;
  /** Listeners the server put in the audience tier (the stream: a bot holds no peer there), at the end. */
  onStream: number;
  /** Listeners on WebRTC that received packets, and their share of the listeners on WebRTC. */
  receiving: number;
  fractionReceiving: number;
  joinP50: number | null;
  joinP99: number | null;
  /** Packets lost / (received + lost) over every listener. */
  loss: number;
  /** Concealed / total samples over the decoding listeners. */
  concealment: number;
  errors: string[];
}

/** The p-th percentile (nearest rank) of `values`; null when there are none. */
export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * Runs `count` participants in a child process (optionally pinned to `cpu` with taskset, and at
 * `nice` CPU priority), joining `spacingMs` apart, the first `delayMs` after the process is up.
 */
export function runSwarm(
  pageUrl: string,
  count: number,
  seconds: number,
  options: {
    decode?: number;
    play?: string;
    cpu?: number | null;
    spacingMs?: number;
    delayMs?: number;
    nice?: number;
    /** Light listeners with libdatachannel's peers (dc-listeners.ts) instead of libwebrtc bots: they only listen and decode nothing. */
    datachannel?: boolean;
  } = {},
): Promise<ParticipantReport[]> {
  const script = (name: string) => fileURLToPath(new URL(`./${name}${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));
  const args = options.datachannel
    ? ['--import', 'tsx', script('dc-listeners'), pageUrl, String(count), String(seconds), String(options.spacingMs ?? 20)]
    : [
        '--import',
        'tsx',
        script('swarm'),
        pageUrl,
        String(count),
        String(seconds),
        String(options.decode ?? 0),
        options.play ?? '',
        String(options.spacingMs ?? 20),
        String(options.delayMs ?? 0),
      ];
  // nice and taskset (coreutils, util-linux) exec the command, so every thread it starts inherits both.
  let argv = [process.execPath, ...args];
  if (options.cpu !== undefined && options.cpu !== null) argv = ['taskset', '-c', String(options.cpu), ...argv];
  if (options.nice) argv = ['nice', '-n', String(options.nice), ...argv];
  return runForJson(argv, 'a load-test process');
}

/**
 * CPU (µs) this process has spent starting load processes (`spawn` holds the thread until the child
 * has exec'd): a bench whose server runs in this process takes it out of the server's figures.
 */
export const loadProcessStarts = { cpuMicros: 0 };

/** Runs a load process (its stderr passed through) and resolves to the JSON of its last stdout line. */
function runForJson<T>(argv: string[], what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const before = process.cpuUsage();
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    const spent = process.cpuUsage(before);
    loadProcessStarts.cpuMicros += spent.user + spent.system;
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c;
    });
    child.on('error', reject);
    child.on('close', () => {
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? ''));
      } catch {
        reject(new Error(`${what} failed: ${out.slice(0, 200)}`));
      }
    });
  });
}

/**
 * Concealment of the decoding listeners between two instants (ms since the epoch), from their
 * once-a-second timelines: null where no listener was sampled on both sides.
 */
export function concealmentBetween(reports: ParticipantReport[], fromMs: number, toMs: number): number | null {
  let concealed = 0;
  let total = 0;
  for (const r of reports) {
    if (!r.decoding) continue;
    const first = r.concealmentTimeline.find(([at]) => at >= fromMs);
    const last = r.concealmentTimeline.filter(([at]) => at <= toMs).pop();
    if (!first || !last || last[0] <= first[0]) continue;
    concealed += last[1] - first[1];
    total += last[2] - first[2];
  }
  return total ? concealed / total : null;
}

export function summarize(reports: ParticipantReport[]): LoadResult {
  const ok = reports.filter((r) => !r.error);
  const onStream = reports.filter((r) => r.tier === 'audience').length;
  const receiving = ok.filter((r) => r.tier !== 'audience' && (r.packetsReceived > 0 || r.loudFrames > 0));
  const onWebRtc = reports.length - onStream;
  const joins = ok.map((r) => r.joinMs).filter((v): v is number => v !== null);
  const received = ok.reduce((a, r) => a + r.packetsReceived, 0);
  const lost = ok.reduce((a, r) => a + r.packetsLost, 0);
  // Light listeners' libwebrtc decodes too (its audio device pulls every stream), but they are
  // load, not measurement: concealment is the decoding listeners'.
  const decoded = ok.filter((r) => r.decoding && r.totalSamples > 0);
  const concealed = decoded.reduce((a, r) => a + r.concealedSamples, 0);
  const total = decoded.reduce((a, r) => a + r.totalSamples, 0);
  return {
    listeners: reports.length,
    onStream,
    receiving: receiving.length,
    fractionReceiving: onWebRtc ? receiving.length / onWebRtc : 0,
    joinP50: percentile(joins, 50),
    joinP99: percentile(joins, 99),
    loss: received + lost ? lost / (received + lost) : 0,
    concealment: total ? concealed / total : 0,
    errors: [...new Set(reports.map((r) => r.error).filter((e): e is string => !!e))],
  };
}

/** What a process of light LL-HLS listeners (stream-listeners.ts) reports. */
export interface StreamListenersReport {
  requests: number;
  errors: number;
  bytes: number;
  cpuMicros: number;
  errorSamples: string[];
  playlist?: { n: number; p50: number | null; p99: number | null };
  part?: { n: number; p50: number | null; p99: number | null };
  /** The --static baseline's requests. */
  static?: { n: number; p50: number | null; p99: number | null };
}

/** Runs `count` light LL-HLS listeners of `playlistUrl` for `seconds` in a child process (`--static`: the baseline's plain GETs). */
export function runStreamListeners(playlistUrl: string, count: number, seconds: number, mode?: '--static'): Promise<StreamListenersReport> {
  const self = fileURLToPath(new URL(`./stream-listeners${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));
  return runForJson(
    [process.execPath, '--import', 'tsx', self, playlistUrl, String(count), String(seconds), ...(mode ? [mode] : [])],
    'a stream listeners process',
  );
}

/** The stream listeners' reports as one: totals, and the worst process's percentiles. */
export function summarizeStream(reports: StreamListenersReport[], listeners: number) {
  const worst = (kind: 'playlist' | 'part' | 'static', p: 'p50' | 'p99') => Math.max(0, ...reports.map((r) => r[kind]?.[p] ?? 0));
  return {
    listeners,
    requests: reports.reduce((a, r) => a + r.requests, 0),
    errors: reports.reduce((a, r) => a + r.errors, 0),
    /** Parts the listeners fetched. */
    parts: reports.reduce((a, r) => a + (r.part?.n ?? 0), 0),
    /** CPU the listeners' own processes used (µs). */
    clientCpuMicros: reports.reduce((a, r) => a + r.cpuMicros, 0),
    staticP50: worst('static', 'p50'),
    staticP99: worst('static', 'p99'),
    errorSamples: reports.flatMap((r) => r.errorSamples).slice(0, 5),
    playlistP50: worst('playlist', 'p50'),
    playlistP99: worst('playlist', 'p99'),
    partP50: worst('part', 'p50'),
    partP99: worst('part', 'p99'),
  };
}

/**
 * `smalltalk loadtest <short_url> --speakers K --listeners N --seconds S [--play speech.wav] [--processes P]
 *   [--light datachannel] [--stream-url HLS_URL --stream-listeners M]`
 */
export async function loadtestCommand(args: string[], _config: () => Config): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      speakers: { type: 'string' },
      listeners: { type: 'string' },
      seconds: { type: 'string' },
      play: { type: 'string' },
      processes: { type: 'string' },
      'server-pid': { type: 'string' },
      'stream-url': { type: 'string' },
      'stream-listeners': { type: 'string' },
      light: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const light = values.light ?? 'libwebrtc';
  if (positionals.length !== 1 || !/^https?:\/\//.test(positionals[0]) || (light !== 'libwebrtc' && light !== 'datachannel')) {
    console.error(
      'usage: smalltalk loadtest <short_url|join_url> --speakers K --listeners N --seconds S [--play speech.wav] [--processes P] [--server-pid PID]\n' +
        '                          [--light libwebrtc|datachannel] [--stream-url HLS_URL --stream-listeners M] [--json]\n' +
        '(--light datachannel: past the first 5 listeners, which decode and measure in a process of their own, the listeners are\n' +
        ' libdatachannel peers that count packets only, in P processes: several times lighter for the machine running the test;\n' +
        ' the server must run SFU_ENGINE=datachannel)\n' +
        "(guests from one address are limited by the server's GUEST_JOINS_PER_MINUTE: pass a join_url, or set it to 0 on the server under test;\n" +
        " HLS_URL is the talk's hls_url from the partner API, while it is live: M light LL-HLS listeners follow it)",
    );
    return 2;
  }
  const url = positionals[0];
  const speakers = Number(values.speakers ?? 1);
  const listeners = Number(values.listeners ?? 10);
  const seconds = Number(values.seconds ?? 20);
  const processes = Math.max(1, Number(values.processes ?? Math.max(1, os.availableParallelism() - 1)));
  const serverPid = values['server-pid'] ? Number(values['server-pid']) : null;
  const cpu0 = serverPid ? processCpu(serverPid) : null;
  const wall0 = performance.now();
  const per = Math.ceil(listeners / processes);
  // Speakers stay until every listener (joining 20 ms apart in each process) has taken its stats:
  // once they leave, what listeners play is concealment.
  const speakerRun = speakers > 0 ? runSwarm(url, speakers, seconds + 5 + Math.ceil((per * 20) / 1000), { play: values.play }) : Promise.resolve([]);
  await new Promise((r) => setTimeout(r, 1500));
  const runs: Promise<ParticipantReport[]>[] = [];
  if (light === 'datachannel') {
    // Five libwebrtc listeners decode (concealment is measured on them); the rest are libdatachannel's.
    const decoding = Math.min(5, listeners);
    runs.push(runSwarm(url, decoding, seconds, { decode: decoding }));
    const lightPer = Math.ceil((listeners - decoding) / processes);
    for (let left = listeners - decoding; left > 0; left -= lightPer) runs.push(runSwarm(url, Math.min(lightPer, left), seconds, { datachannel: true }));
  } else {
    for (let i = 0, left = listeners; left > 0; i++, left -= per)
      runs.push(runSwarm(url, Math.min(per, left), seconds, { decode: i === 0 ? Math.min(5, per) : 0 }));
  }
  const streamListeners = values['stream-url'] ? Number(values['stream-listeners'] ?? 100) : 0;
  const streamPer = Math.ceil(streamListeners / processes);
  const streamRuns: Promise<StreamListenersReport>[] = [];
  for (let left = streamListeners; left > 0; left -= streamPer)
    streamRuns.push(runStreamListeners(values['stream-url'] as string, Math.min(streamPer, left), seconds));
  const [reports, streamReports] = await Promise.all([Promise.all(runs).then((r) => r.flat()), Promise.all(streamRuns)]);
  const cpu1 = serverPid ? processCpu(serverPid) : null;
  const wall = (performance.now() - wall0) / 1000;
  await speakerRun;
  const result = {
    ...summarize(reports),
    // Cores the server process kept busy over the run (1 = one core), all its threads included.
    serverCpu: cpu0 !== null && cpu1 !== null ? Math.round(((cpu1 - cpu0) / wall) * 1000) / 1000 : null,
    stream: streamListeners > 0 ? summarizeStream(streamReports, streamListeners) : null,
  };
  if (values.json) console.log(JSON.stringify(result));
  else console.log(JSON.stringify(result, null, 2));
  return 0;
}

/**
 * CPU seconds (user + system, every thread) a local process has used so far, from /proc/<pid>/stat.
 * The load test measures a server on the same machine; null when /proc is not there.
 */
export function processCpu(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces, inside parentheses): utime is 14th, stime 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/** USER_HZ: 100 on every Linux this runs on (`getconf CLK_TCK`). */
const CLOCK_TICKS = 100;
