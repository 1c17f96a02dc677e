/**
 * The audience tier under load: one live hosted_events talk (a bot speaking a beep every 3 s), its
 * LL-HLS stream followed by N light listeners (src/bot/stream-listeners.ts, in CLIENT_PROCS other
 * processes), straight at the origin and through nginx as a caching edge (proxy_cache +
 * proxy_cache_lock, the front docs/operations.md recommends). Prints, for each N:
 *   - stream latency: a beep sent by the speaker's mic -> the part holding it available to a
 *     listener (p50/p95), and the same plus the player's PART-HOLD-BACK (what hls.js plays at);
 *   - origin: requests/s, main-thread CPU per request, and the ratio to a bare Node http server
 *     answering the same requests in this run (the baseline); listeners per origin core;
 *   - through the edge: origin requests/s, edge hit ratio, origin and nginx CPU;
 *   - listener errors (must be 0) and playlist/part p50/p99 (a blocking request waits for its part);
 *   - memory (RSS) of the server process.
 *   npm run bench:audience -- 500 1000       (listener counts; default 500 1000)
 *   npm run bench:audience -- 1000 --webrtc 200   (then the whole scenario at once: a second speaker,
 *       200 WebRTC listeners (10 libwebrtc bots decoding, for concealment; the rest light libdatachannel
 *       listeners) and the last count of LL-HLS listeners through the edge)
 *   npm run bench:audience -- 5000 10000 --edge-only --edge-workers 2   (only through the edge, with two
 *       nginx workers: the counts this machine cannot also run at the origin alone)
 * nginx comes from `bash scripts/setup-system.sh --bench`; without it the edge runs are skipped.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BotParticipant } from '../../src/bot/participant.js';
import { percentile, runStreamListeners, runSwarm, summarize, summarizeStream } from '../../src/bot/loadtest.js';
import { api } from '../../test/support/api.js';
import { createPartner, freePort, startApp } from '../../test/support/app.js';
import { waitFor } from '../../test/support/wait.js';
import { speechWav } from '../../test/live/media.js';
import { threadCpuMicros } from '../sfu/threads.js';
import { type Edge, startEdge } from './edge.js';
import { streamEncoders } from '../../test/support/processes.js';

const argv = process.argv.slice(2);
const webrtcAt = argv.indexOf('--webrtc');
const webrtc = webrtcAt >= 0 ? Number(argv.splice(webrtcAt, 2)[1]) : 0;
const workersAt = argv.indexOf('--edge-workers');
const edgeWorkers = workersAt >= 0 ? Number(argv.splice(workersAt, 2)[1]) : 1;
const edgeOnlyAt = argv.indexOf('--edge-only');
const edgeOnly = edgeOnlyAt >= 0 && argv.splice(edgeOnlyAt, 1).length > 0;
const counts = argv.map(Number).filter((n) => n > 0);
if (counts.length === 0) counts.push(500, 1000);
const CLIENT_PROCS = 2;
const RAMP_S = 4;
const WINDOW_S = 10;
const BEEP_EVERY_MS = 3000;
const PART_SAMPLES = 12 * 1024;
/** What one hls.js listener in low-latency mode asks of the origin without an edge: a blocking playlist and a part per 0.256 s part. */
const LL_REQUESTS_PER_S = 2 / 0.256;

/** A 3 s loop: 150 ms of 1 kHz at -10 dBFS, then silence; sample 0 is a beep's onset. */
function beeps(): Int16Array {
  const loop = new Int16Array((48_000 * BEEP_EVERY_MS) / 1000);
  for (let i = 0; i < 48_000 * 0.15; i++) loop[i] = Math.round(10_000 * Math.sin((2 * Math.PI * 1000 * i) / 48_000));
  return loop;
}

const mainThread = `/proc/${process.pid}/task/${process.pid}/stat`;
const cpuOf = (pid: number) => threadCpuMicros(`/proc/${pid}/stat`);
/** Runs n listeners against url; measures `measured` pids' CPU over the steady window. */
async function measure(url: string, n: number, pids: Record<string, () => number>, mode?: '--static') {
  const per = Math.ceil(n / CLIENT_PROCS);
  const done = Promise.all(Array.from({ length: n > 0 ? CLIENT_PROCS : 0 }, () => runStreamListeners(url, per, RAMP_S + WINDOW_S + 2, mode)));
  await new Promise((r) => setTimeout(r, RAMP_S * 1000));
  const before = Object.fromEntries(Object.entries(pids).map(([k, f]) => [k, f()]));
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, WINDOW_S * 1000));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = Object.fromEntries(Object.entries(pids).map(([k, f]) => [k, (f() - before[k]) / 1e6 / seconds]));
  const report = summarizeStream(await done, n);
  return { ...report, cpu, rps: report.requests / (RAMP_S + WINDOW_S + 2) };
}

/** n listeners through the nginx edge: its hit ratio, the origin's and nginx's CPU, and the clients' own. */
async function throughEdge(edge: Edge, url: string, n: number) {
  edge.resetLog();
  const e = await measure(url, n, { main: () => threadCpuMicros(mainThread), nginx: () => edge.cpuMicros() });
  const { requests, hits, toOrigin } = edge.counts();
  const clientCores = e.clientCpuMicros / 1e6 / (RAMP_S + WINDOW_S + 2);
  console.log(
    `${n} listeners through nginx: ${e.rps.toFixed(0)} req/s (${(e.rps / n).toFixed(1)} per listener), errors ${e.errors}${e.errorSamples.length ? ` (${e.errorSamples.join('; ')})` : ''}; ` +
      `edge hit ratio ${((100 * hits) / Math.max(1, requests)).toFixed(1)}% (${requests} logged, ${toOrigin} went to the origin: ${(toOrigin / (RAMP_S + WINDOW_S + 2)).toFixed(1)}/s); ` +
      `origin main thread ${(e.cpu.main * 100).toFixed(0)}%, nginx ${(e.cpu.nginx * 100).toFixed(0)}% (${((e.cpu.nginx * 1e6) / e.rps).toFixed(1)} µs/request); ` +
      `clients ${(clientCores * 100).toFixed(0)}% (${((clientCores * 1e6) / e.rps).toFixed(1)} µs/request); playlist p50/p99 ${e.playlistP50}/${e.playlistP99} ms, part ${e.partP50}/${e.partP99} ms; ` +
      `load ${os.loadavg()[0].toFixed(1)}`,
  );
}

async function main() {
  console.log(
    `bench:audience on ${os.cpus().length} cores, load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  const t = await startApp({ env: { RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '1', LIVE_CAPTIONS: 'false', GUEST_JOINS_PER_MINUTE: '0' } });
  const p = await createPartner(t, 'Bench');
  const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Bench', room_type: 'hosted_events', recording: false } })).body.talk;
  const joinUrl = (await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/join_tokens`, { token: p.token, json: { name: 'Host', role: 'host', uid: 'h' } }))
    .body.join_token.join_url;
  const host = new BotParticipant({ pageUrl: joinUrl, audio: beeps(), decode: false });
  const bare = spawn(
    process.execPath,
    [
      '-e',
      "const b=Buffer.alloc(2200,1);require('http').createServer((q,s)=>{s.writeHead(200,{'content-type':'audio/mp4'});s.end(b)}).listen(+process.argv[1],'127.0.0.1')",
      String(await freePort()),
    ],
    { stdio: 'ignore' },
  );
  let edge: Edge | null = null;
  try {
    await host.join();
    host.send({ type: 'mute', muted: false });
    const hlsUrl: string = await waitFor(async () => {
      const r = await api(t, 'GET', `/api/v1/partners/talks?talk_id=${talk.id}`, { token: p.token });
      return r.body.talks[0].hls_url;
    }, 'hls_url');
    const origin = `${t.url}${new URL(hlsUrl).pathname}`;

    // Latency: follow the edge for 24 s and find each beep's onset in what arrived.
    const arrivals: number[] = [];
    const media: Buffer[] = [];
    const first = await (await fetch(origin)).text();
    let hint = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^/"]+)\/(\d+)\.(\d+)\.m4s"/.exec(first);
    const epoch = hint?.[1];
    media.push(Buffer.from(await (await fetch(new URL(`${epoch}/init.mp4`, origin))).arrayBuffer()));
    const until = Date.now() + 24_000;
    while (hint && Date.now() < until) {
      const [pl, part] = await Promise.all([
        fetch(`${origin}?_HLS_msn=${hint[2]}&_HLS_part=${hint[3]}`).then((r) => r.text()),
        fetch(new URL(`${epoch}/${hint[2]}.${hint[3]}.m4s`, origin)).then(async (r) => Buffer.from(await r.arrayBuffer())),
      ]);
      arrivals.push(Date.now());
      media.push(part);
      hint = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^/"]+)\/(\d+)\.(\d+)\.m4s"/.exec(pl);
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-audience-'));
    writeFileSync(path.join(dir, 'stream.mp4'), Buffer.concat(media));
    const pcm = execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-i', path.join(dir, 'stream.mp4'), '-f', 's16le', '-ac', '1', '-ar', '48000', '-'], {
      maxBuffer: 1 << 28,
    });
    const samples = new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length >> 1);
    const micStart = host.report.micStartedAtMs ?? 0;
    const latencies: number[] = [];
    let quiet = 0;
    for (let at = 0; at + 240 <= samples.length; at += 240) {
      let sq = 0;
      for (let i = at; i < at + 240; i++) sq += (samples[i] / 32768) ** 2;
      const loud = Math.sqrt(sq / 240) > 0.05;
      if (loud && quiet >= 100) {
        const arrived = arrivals[Math.floor(at / PART_SAMPLES)];
        if (arrived !== undefined) {
          const sent = micStart + Math.floor((arrived - micStart) / BEEP_EVERY_MS) * BEEP_EVERY_MS;
          latencies.push(arrived - sent);
        }
      }
      quiet = loud ? 0 : quiet + 1;
    }
    const holdBack = Number(/PART-HOLD-BACK=([\d.]+)/.exec(first)?.[1] ?? 0) * 1000;
    console.log(
      `latency, beep sent -> its part at the listener: p50 ${percentile(latencies, 50)} ms, p95 ${percentile(latencies, 95)} ms (${latencies.length} beeps); ` +
        `plus PART-HOLD-BACK ${holdBack} ms (where hls.js plays): p50 ${(percentile(latencies, 50) ?? 0) + holdBack} ms, p95 ${(percentile(latencies, 95) ?? 0) + holdBack} ms`,
    );

    const encoder = streamEncoders()[0];
    const idle = await measure(origin, 0, { main: () => threadCpuMicros(mainThread), encoder: () => cpuOf(Number(encoder)) });
    console.log(
      `stream with no listeners: main thread ${(idle.cpu.main * 100).toFixed(1)}% of a core (the bot's mic and the mixer), encoder ffmpeg ${(idle.cpu.encoder * 100).toFixed(1)}%`,
    );

    let edgeUrl: string | null = null;
    try {
      edge = await startEdge([t.url], { workers: edgeWorkers });
      edgeUrl = `${edge.url}${new URL(hlsUrl).pathname}`;
    } catch (err) {
      console.log(`no nginx edge (${(err as Error).message.split('\n')[0]}): bash scripts/setup-system.sh --bench installs it`);
    }

    const rssAtStart = Math.round(process.memoryUsage().rss / 1e6);
    const bareUrl = `http://127.0.0.1:${bare.spawnargs.at(-1) as string}/part`;
    for (const n of counts) {
      if (edgeOnly && edge && edgeUrl) {
        await throughEdge(edge, edgeUrl, n);
        continue;
      }
      const base = await measure(bareUrl, n, { bare: () => cpuOf(bare.pid as number) }, '--static');
      const o = await measure(origin, n, { main: () => threadCpuMicros(mainThread), encoder: () => cpuOf(Number(encoder)) });
      const rss = Math.round(process.memoryUsage().rss / 1e6);
      const heap = Math.round(process.memoryUsage().heapUsed / 1e6);
      const perReq = ((o.cpu.main - idle.cpu.main) * 1e6) / o.rps;
      const perBare = (base.cpu.bare * 1e6) / base.rps;
      console.log(
        `${n} listeners at the origin: ${o.rps.toFixed(0)} req/s, errors ${o.errors}${o.errorSamples.length ? ` (${o.errorSamples.join('; ')})` : ''}; main thread ${(o.cpu.main * 100).toFixed(0)}% ` +
          `(${perReq.toFixed(1)} µs/request above idle); bare http ${base.rps.toFixed(0)} req/s at ${(base.cpu.bare * 100).toFixed(0)}% (${perBare.toFixed(1)} µs/request): ratio ${(perReq / perBare).toFixed(2)}x; ` +
          `~${Math.round(1e6 / (perReq * LL_REQUESTS_PER_S))} listeners per origin core at ${LL_REQUESTS_PER_S.toFixed(1)} req/s each (the clients here reached ${(o.rps / n).toFixed(1)}); playlist p50/p99 ${o.playlistP50}/${o.playlistP99} ms, part ${o.partP50}/${o.partP99} ms; ` +
          `clients' CPU ${((o.clientCpuMicros / 1e6 / (RAMP_S + WINDOW_S + 2) / n) * 1e6).toFixed(0)} µs/s per listener; server RSS ${rss} MB (heap ${heap} MB; ${rssAtStart} MB before any listener, with the bot and PGlite in it)`,
      );
      if (edge && edgeUrl) await throughEdge(edge, edgeUrl, n);
    }
    if (webrtc > 0) {
      // The whole scenario at once: two speakers, WebRTC listeners and LL-HLS listeners (through the edge when there is one).
      const n = counts.at(-1) ?? 1000;
      const speakerUrl = (
        await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/join_tokens`, { token: p.token, json: { name: 'Second', role: 'speaker', uid: 's' } })
      ).body.join_token.join_url;
      const stay = RAMP_S + WINDOW_S + 2 + Math.ceil(webrtc / 40) + 8;
      const second = runSwarm(speakerUrl, 1, stay + 5, { play: speechWav() });
      // 10 libwebrtc bots that decode (concealment is measured on them) and light libdatachannel
      // listeners for the rest (dc-listeners.ts), as bench:two-nodes: 200 libwebrtc bots alone would
      // keep this 2-core machine busy beside the LL-HLS clients.
      const swarm = Promise.all([
        runSwarm(talk.short_url, 10, stay, { decode: 10, spacingMs: 100 }),
        runSwarm(talk.short_url, Math.ceil((webrtc - 10) / 2), stay, { datachannel: true, spacingMs: 25 }),
        runSwarm(talk.short_url, Math.floor((webrtc - 10) / 2), stay, { datachannel: true, spacingMs: 25 }),
      ]);
      await new Promise((r) => setTimeout(r, Math.ceil(webrtc / 40) * 1000 + 4000));
      const target = edgeUrl ?? origin;
      const e = await measure(target, n, { main: () => threadCpuMicros(mainThread), encoder: () => cpuOf(Number(encoder)) });
      const result = summarize((await swarm).flat());
      await second;
      console.log(
        `scenario: 2 speakers, ${webrtc} WebRTC listeners (receiving ${(100 * result.fractionReceiving).toFixed(1)}%, loss ${(100 * result.loss).toFixed(2)}%, ` +
          `concealment ${(100 * result.concealment).toFixed(2)}% over the 10 decoding, join p50/p99 ${result.joinP50}/${result.joinP99} ms${result.errors.length ? `, errors: ${result.errors.join('; ')}` : ''}) ` +
          `and ${n} LL-HLS listeners ${edgeUrl ? 'through nginx' : 'at the origin'} (${e.rps.toFixed(0)} req/s, errors ${e.errors}, playlist p99 ${e.playlistP99} ms, part p99 ${e.partP99} ms): ` +
          `server main thread ${(e.cpu.main * 100).toFixed(0)}%, encoder ${(e.cpu.encoder * 100).toFixed(1)}%, RSS ${Math.round(process.memoryUsage().rss / 1e6)} MB`,
      );
    }
  } finally {
    edge?.stop();
    bare.kill();
    await host.leave().catch(() => undefined);
    await t.close();
  }
}

await main();
process.exit(0);
