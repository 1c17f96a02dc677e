/**
 * One speaker (Festival speech) to N listeners through the SFU. The server (with its SFU worker
 * threads) runs in this process pinned to core 0 where taskset exists; the bots run in other
 * processes pinned to core 1. Prints SFU CPU, forwarded packets/s per core, fraction receiving,
 * join p50/p99, and the per-packet cost as a ratio to a plain UDP send loop measured in this run.
 *   npm run bench:sfu -- 50 100      (listener counts; default 50 100)
 *   npm run bench:sfu -- 100 --spacing 200   (listeners arriving 10/s instead of about 100/s)
 *   npm run bench:sfu -- 100 --bulk-nice 0   (the bulk listeners at the measured bots' priority)
 *   npm run bench:sfu -- 100 --engines werift,datachannel   (each SFU engine in turn, one server each, same run)
 *   npm run bench:sfu -- 1000 --engines datachannel --light datachannel   (the bulk listeners' peers in libdatachannel:
 *     lighter than libwebrtc bots, for loads those cannot generate here; they count packets and decode nothing)
 */
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { LiveRooms } from '../../src/rooms/service.js';
import type { WorkerStats } from '../../src/sfu/protocol.js';
import { concealmentBetween, loadProcessStarts, percentile, runSwarm, summarize } from '../../src/bot/loadtest.js';
import { api } from '../../test/support/api.js';
import { createPartner, startApp } from '../../test/support/app.js';
import { speechWav } from '../../test/live/media.js';
import { pin, udpBaseline } from './machine.js';
import { profileMainThread } from './profile.js';
import { busyThreads, coreBusy, coreTicks, threadDeltas, threadTimes } from './threads.js';

const args = process.argv.slice(2);
const spacingAt = args.indexOf('--spacing');
/** ms between two joins in each of the two bulk listener processes (20: about 100 joins/s in all). */
const spacingMs = spacingAt >= 0 ? Number(args.splice(spacingAt, 2)[1]) : 20;
const niceAt = args.indexOf('--bulk-nice');
/**
 * CPU priority (nice) of the bulk listeners' processes. They stand in for other people's devices
 * but share core 1 with the speaker, the decoding listeners and the late joiners; at 10 they
 * take what those leave. 0 gives them all the same priority.
 */
const bulkNice = niceAt >= 0 ? Number(args.splice(niceAt, 2)[1]) : 10;
const enginesAt = args.indexOf('--engines');
/** The SFU engines measured, one after the other, each with its own server (SFU_ENGINE). */
const engines = (enginesAt >= 0 ? args.splice(enginesAt, 2)[1] : 'werift').split(',') as ('werift' | 'datachannel')[];
const lightAt = args.indexOf('--light');
/** Whose peers the bulk listeners have: libwebrtc bots (the default) or libdatachannel (src/bot/dc-listeners.ts). */
const lightDatachannel = lightAt >= 0 && args.splice(lightAt, 2)[1] === 'datachannel';
const counts = args.map(Number).filter((n) => n > 0);
/** Listeners who join one at a time once the room holds n, to time a join into a full room. */
const LATE_JOINERS = 10;
const LATE_SPACING_MS = 1000;
/** The steady window, measured once every listener is connected. */
const WINDOW_MS = 6000;
/** The longest wait for every listener to connect, for n listeners. */
const settleMs = (n: number) => Math.max(8000, n * 80) + (n / 2) * spacingMs;
/** How long each listener stays (s): the wait, the steady window, then the late joiners. */
const stayFor = (n: number) => Math.ceil((settleMs(n) + 2000 + WINDOW_MS + LATE_JOINERS * LATE_SPACING_MS) / 1000) + 8;

/**
 * CPU (µs) of the SFU's media process so far: the datachannel engine runs in a child process, whose
 * CPU this process's own figures miss (each worker's stats give its process's). werift's worker
 * threads are in this process: 0, they are counted already.
 */
function mediaProcessMicros(engine: string, stats: WorkerStats[]): number {
  return engine === 'datachannel' ? stats.reduce((a, s) => a + s.cpuMicros, 0) : 0;
}

async function main() {
  const pinned = pin(0);
  const baseline = await udpBaseline();
  console.log(`baseline: ${baseline.toFixed(1)} µs CPU per 100-byte UDP send (${pinned ? 'server pinned to core 0, bots to core 1' : 'no taskset: unpinned'})`);
  const rows: string[] = [];
  /** Per engine and listener count: µs of CPU per forwarded packet and ms per join. */
  const figures = new Map<string, { perPacket: number; perJoin: number }>();
  for (const engine of engines) {
    console.log(`== SFU_ENGINE=${engine}`);
    // Captions and recording off: their speech recognizer and ffmpeg would share core 0 with the SFU.
    // Every bot joins as a guest from 127.0.0.1: no per-address limit.
    const t = await startApp({
      // Every listener on WebRTC, however many (a hosted event puts those past AUDIENCE_WEBRTC_LISTENERS on the stream).
      env: {
        RTC_LISTEN_IP: '127.0.0.1',
        SFU_WORKERS: '1',
        SFU_ENGINE: engine,
        LOG_LEVEL: 'silent',
        LIVE_CAPTIONS: 'false',
        GUEST_JOINS_PER_MINUTE: '0',
        AUDIENCE_WEBRTC_LISTENERS: String(Math.max(200, ...counts) + LATE_JOINERS + 10),
      },
    });
    const p = await createPartner(t, 'Bench');
    const wav = speechWav();
    try {
      for (const n of counts.length ? counts : [50, 100]) {
        // A hosted event: one host speaks (join token), the audience only listens and sends nothing.
        const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: `bench ${n}`, recording: false, room_type: 'hosted_events' } })).body
          .talk;
        const jt = (await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/join_tokens`, { token: p.token, json: { name: 'Speaker', role: 'host' } })).body
          .join_token;
        const live = t.services.live as LiveRooms;
        const stay = stayFor(n);
        const decoding = Math.min(5, n);
        const bulk = n - decoding;
        const half = Math.ceil(bulk / 2);
        const rampMs = half * spacingMs;
        // The speaker speaks until every listener has taken its stats: once it leaves, their audio is
        // concealment (a second of it at the end counted as 4% of a run before it stayed).
        const speaker = runSwarm(jt.join_url, 1, stay + Math.ceil(rampMs / 1000) + 15, { play: wav, cpu: pinned ? 1 : null });
        await new Promise((r) => setTimeout(r, 2000));
        // Five decoding listeners (concealment is measured on them) in one process, spread over the
        // arrivals; the bulk of light listeners (ICE/DTLS/SRTP done, packets counted) in two more, at
        // `bulkNice`. All on core 1; they stay long enough for the late joiners below to join a room of n.
        const joinStats0 = await live.sfu.stats();
        const joinCpu0 = process.cpuUsage();
        const starts0 = loadProcessStarts.cpuMicros;
        const joinThreads0 = threadTimes();
        // The server's main thread (HTTP, signalling, database) runs in this process: how late its event
        // loop ran while the n joined says whether the joins waited for it.
        const loopDelay = monitorEventLoopDelay({ resolution: 5 });
        loopDelay.enable();
        const traffic0 = live.traffic(talk.id);
        const cores0 = coreTicks();
        const profileDir = process.env.BENCH_CPU_PROFILE;
        const stopProfile = profileDir ? await profileMainThread(`${profileDir}/joins-${engine}-${n}.cpuprofile`) : null;
        const joinStart = performance.now();
        const joinStartAt = Date.now();
        const cpu = pinned ? 1 : null;
        const listeners = Promise.all([
          runSwarm(talk.short_url, decoding, stay, { decode: decoding, cpu, spacingMs: Math.max(spacingMs, rampMs / decoding) }),
          ...(half > 0 ? [runSwarm(talk.short_url, half, stay, { decode: 0, cpu, spacingMs, nice: bulkNice, datachannel: lightDatachannel })] : []),
          ...(bulk > half ? [runSwarm(talk.short_url, bulk - half, stay, { decode: 0, cpu, spacingMs, nice: bulkNice, datachannel: lightDatachannel })] : []),
        ]).then((r) => r.flat());
        // Late joiners: once the n listeners are connected and the steady window below is measured,
        // LATE_JOINERS more join one at a time (one every LATE_SPACING_MS), each timed alone: the join
        // a new listener sees in a room of n. Their process starts now, so loading it does not take
        // CPU from the decoding listeners later.
        const settle = settleMs(n);
        const lateJoiners = runSwarm(talk.short_url, LATE_JOINERS, 3, {
          decode: 0,
          cpu,
          spacingMs: LATE_SPACING_MS,
          delayMs: settle + 2000 + WINDOW_MS,
        });
        // Measure the steady window: once every listener (and the speaker) is connected, or `settle`
        // has passed if some never connect; before the leaves.
        const until = Date.now() + settle;
        while (Date.now() < until) {
          const connected = (await live.sfu.stats()).reduce((a, s) => a + s.connected, 0);
          if (connected >= n + 1) break;
          await new Promise((r) => setTimeout(r, 200));
        }
        const fullAt = Date.now();
        loopDelay.disable();
        // Whether the machine itself was the limit: the server's core and the bots' core, busy while the n joined.
        const cores = coreBusy(cores0, coreTicks());
        console.log(
          `cores busy while the ${n} joined: ${cores.map((pct, i) => `core ${i}${pinned ? (i === 0 ? ' (server)' : i === 1 ? ' (bots)' : '') : ''} ${pct}%`).join(', ')}`,
        );
        const traffic1 = live.traffic(talk.id);
        // The SFU's side of the n listeners' joins (the latest n at the worker): from their offer's
        // arrival, the wait for a negotiation turn, the answer, and connected. What is not in these
        // is the client's and the signalling's.
        const sfuJoins = (await live.sfu.stats()).flatMap((w) => w.joins).slice(-n);
        // The whole server's CPU while the n listeners joined (HTTP, database, handshakes, and the
        // forwarding to those already in): what a join costs it, and so how many per second one core takes.
        const joinCpu = process.cpuUsage(joinCpu0);
        await stopProfile?.();
        const joinStats1 = await live.sfu.stats();
        const joinMediaMs = (mediaProcessMicros(engine, joinStats1) - mediaProcessMicros(engine, joinStats0)) / 1000;
        // Not the server's: this process starting the listeners' processes (about 20 ms each here).
        const startsMs = (loadProcessStarts.cpuMicros - starts0) / 1000;
        const joinCpuMs = (joinCpu.user + joinCpu.system) / 1000 - startsMs + joinMediaMs;
        const joinThreads = threadTimes();
        const threadMs = threadDeltas(joinThreads0, joinThreads, process.pid).map((x) => ({ ...x, ms: x.micros / 1000 }));
        // Where the rest goes (libuv's pool, V8's GC helpers, ...): every thread with 50 ms or more.
        const joinBusy = threadMs.filter((x) => x.ms >= 50).map((x) => `${x.name}:${Math.round(x.ms)}`);
        console.log(`server threads while the ${n} joined (ms of CPU): ${joinBusy.join(' ')}`);
        const mainMs = (threadMs.find((x) => x.main)?.ms ?? 0) - startsMs;
        const sfuMs = engine === 'datachannel' ? joinMediaMs : (threadMs.find((x) => !x.main)?.ms ?? 0);
        const joinWallMs = performance.now() - joinStart;
        const joinForwarded = (await live.sfu.stats()).reduce((a, s) => a + s.forwardedPackets, 0) - joinStats0.reduce((a, s) => a + s.forwardedPackets, 0);
        await new Promise((r) => setTimeout(r, 1000));
        const threads0 = threadTimes();
        const s0 = await live.sfu.stats();
        const mediaPid = engine === 'datachannel' ? s0[0]?.pid : undefined;
        const mediaThreads0 = mediaPid ? threadTimes(mediaPid) : {};
        const c0 = process.cpuUsage();
        const w0 = performance.now();
        const windowAt = Date.now();
        await new Promise((r) => setTimeout(r, WINDOW_MS));
        const s1 = await live.sfu.stats();
        const threads1 = threadTimes();
        const mediaThreads1 = mediaPid ? threadTimes(mediaPid) : {};
        const c1 = process.cpuUsage(c0);
        const wall = (performance.now() - w0) / 1000;
        const forwarded = s1.reduce((a, s) => a + s.forwardedPackets, 0) - s0.reduce((a, s) => a + s.forwardedPackets, 0);
        // The whole server's CPU in the window: this process, and the media process if the engine has one.
        const steadyMicros = c1.user + c1.system + mediaProcessMicros(engine, s1) - mediaProcessMicros(engine, s0);
        const busyCores = steadyMicros / 1e6 / wall;
        const received = s1.reduce((a, s) => a + s.receivedPackets, 0) - s0.reduce((a, s) => a + s.receivedPackets, 0);
        console.log(`server threads in the steady window (% of a core): ${busyThreads(threads0, threads1, wall, process.pid)}`);
        // The media process's threads: its JavaScript thread, and libdatachannel's (ICE, DTLS, its pool).
        if (mediaPid) console.log(`media process threads in the steady window (% of a core): ${busyThreads(mediaThreads0, mediaThreads1, wall, mediaPid)}`);
        console.log(
          `steady window: ${Math.round(received / wall)} packets/s received from publishers, ${Math.round(forwarded / wall)} forwarded, ${s1.reduce((a, s) => a + s.peers, 0)} peers`,
        );
        const traffic2 = live.traffic(talk.id);
        const lateReports = await lateJoiners;
        await new Promise((r) => setTimeout(r, 600)); // the last leave's coalesced broadcast
        const traffic3 = live.traffic(talk.id);
        // What the room's broadcasts (presence, hands, roles) sent to its sockets, per join.
        const sentPer = (a: typeof traffic0, b: typeof traffic0, joins: number) =>
          a && b
            ? `${b.messages - a.messages} messages, ${((b.bytes - a.bytes) / 1e6).toFixed(2)} MB (${((b.bytes - a.bytes) / 1e3 / joins).toFixed(1)} KB per join)`
            : 'no room';
        console.log(
          `room broadcasts while the ${n} joined: ${sentPer(traffic0, traffic1, n)}; while the ${LATE_JOINERS} late joiners came and left: ${sentPer(traffic2, traffic3, LATE_JOINERS)}`,
        );
        const late = summarize(lateReports);
        // The late joiners' figure means something only if they joined the full room.
        const lateStarts = lateReports.map((r) => r.startedAtMs ?? 0);
        const early = lateStarts.filter((at) => at < fullAt).length;
        console.log(
          early
            ? `WARNING: ${early} of the late joiners started before the room held its ${n} listeners; their figure is not a join into a full room`
            : `late joiners started ${((Math.min(...lateStarts) - fullAt) / 1000).toFixed(1)}-${((Math.max(...lateStarts) - fullAt) / 1000).toFixed(1)} s after all ${n} listeners were connected`,
        );
        const reports = await listeners;
        const result = summarize(reports);
        const loadAvg = os.loadavg()[0].toFixed(1);
        const speakerReport = (await speaker)[0];
        if (speakerReport?.error) console.log(`the speaker failed: ${speakerReport.error} after ${JSON.stringify(speakerReport.phases)}`);
        const phases = (of: typeof reports) =>
          ['open', 'joined', 'offered', 'answered', 'connected', 'firstPacket']
            .map((name) => {
              const xs = of
                .map((r) => r.phases[name])
                .filter((x): x is number => x !== undefined)
                .sort((a, b) => a - b);
              return xs.length ? `${name} ${xs[Math.floor(xs.length / 2)]}/${xs[xs.length - 1]}` : `${name} -`;
            })
            .join(', ');
        console.log(`listener phases, ms from start (p50/max): ${phases(reports)}`);
        console.log(`late joiner phases, ms from start (p50/max): ${phases(lateReports)}`);
        const p5099 = (xs: number[]) => (xs.length ? `${percentile(xs, 50)}/${percentile(xs, 99)}` : '-');
        console.log(
          `server main thread's event loop delay while the ${n} joined: p50 ${(loopDelay.percentile(50) / 1e6).toFixed(0)} ms, p99 ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms, max ${(loopDelay.max / 1e6).toFixed(0)} ms`,
        );
        console.log(
          `at the SFU, ms from each listener's offer (p50/p99): turn ${p5099(sfuJoins.map((j) => j.turnMs))}, answer ${p5099(sfuJoins.map((j) => j.answerMs))}, connected ${p5099(sfuJoins.flatMap((j) => (j.connectedMs === null ? [] : [j.connectedMs])))} (${sfuJoins.filter((j) => j.connectedMs !== null).length}/${sfuJoins.length})`,
        );
        const slowest = reports
          .filter((r) => r.joinMs !== null)
          .sort((a, b) => (b.joinMs ?? 0) - (a.joinMs ?? 0))
          .slice(0, 3);
        console.log(
          `slowest joins (s after the first, then ms per phase): ${slowest.map((r) => `${(((r.startedAtMs ?? 0) - joinStartAt) / 1000).toFixed(1)} s ${JSON.stringify(r.phases)}`).join('; ')}`,
        );
        const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(2)}%`);
        const concealment = `${pct(concealmentBetween(reports, windowAt, windowAt + WINDOW_MS))} (${pct(concealmentBetween(reports, joinStartAt, fullAt))} joining, ${pct(result.concealment)} whole stay)`;
        const decoders = reports.filter((r) => r.decoding);
        console.log(
          `decoding listeners (concealment %, jitter ms, jitter buffer ms): ${decoders.map((r) => `${((100 * r.concealedSamples) / r.totalSamples).toFixed(2)}/${r.jitterMs}/${r.jitterBufferMs}`).join(' ')}`,
        );
        // The joins' own cost: the join window's CPU less its forwarding at the steady window's cost per packet.
        const forwardingMs = (joinForwarded * (steadyMicros / Math.max(1, forwarded))) / 1000;
        console.log(
          `joining: ${n} listeners joined in ${Math.round(joinWallMs)} ms; the server used ${Math.round(joinCpuMs)} ms of CPU (main thread ${Math.round(mainMs)}, SFU worker ${Math.round(sfuMs)}; not counted: ${Math.round(startsMs)} ms this bench spent starting the listeners' processes), about ${Math.round(forwardingMs)} of it forwarding to those already in: about ${((joinCpuMs - forwardingMs) / n).toFixed(1)} ms per join, ${Math.round((1000 * n) / Math.max(1, joinCpuMs - forwardingMs))} joins/s per core`,
        );
        const pps = forwarded / wall;
        const perPacket = forwarded ? steadyMicros / forwarded : 0;
        const perJoin = (joinCpuMs - forwardingMs) / n;
        figures.set(`${engine} ${n}`, { perPacket, perJoin });
        const row = `| ${engine} | ${n} | ${(busyCores * 100).toFixed(0)}% | ${Math.round(pps)} | ${busyCores > 0 ? Math.round(pps / busyCores) : 0} | ${perPacket.toFixed(0)} µs (${(perPacket / baseline).toFixed(1)}x UDP send) | ${perJoin.toFixed(1)} ms${profileDir ? ' (profiled: inflated)' : ''} | ${(result.fractionReceiving * 100).toFixed(1)}% | ${result.joinP50 ?? '-'} / ${result.joinP99 ?? '-'} ms | ${late.joinP50 ?? '-'} / ${late.joinP99 ?? '-'} ms (${late.receiving}/${late.listeners} receiving) | ${(result.loss * 100).toFixed(2)}% | ${concealment} | ${loadAvg} |`;
        console.log(row, result.errors.length ? `errors: ${result.errors.join('; ')}` : '');
        rows.push(row);
      }
    } finally {
      await t.close();
    }
  }
  console.log(
    '\n| engine | listeners | server CPU (HTTP + SFU) | forwarded pkt/s | pkt/s per core | CPU per forwarded packet | server CPU per join | receiving | join p50 / p99 (all n at once) | join p50 / p99 (late joiners, one at a time into n) | loss | concealment: steady window (while joining, whole stay) | load avg (1 min) |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  // Each engine against the first, same run, same listener count.
  for (const engine of engines.slice(1)) {
    for (const n of counts.length ? counts : [50, 100]) {
      const a = figures.get(`${engines[0]} ${n}`);
      const b = figures.get(`${engine} ${n}`);
      if (a && b) {
        console.log(
          `${engine} / ${engines[0]}, ${n} listeners: CPU per forwarded packet ${(b.perPacket / a.perPacket).toFixed(2)}x (${(b.perPacket / baseline).toFixed(1)}x against ${(a.perPacket / baseline).toFixed(1)}x a UDP send), CPU per join ${(b.perJoin / a.perJoin).toFixed(2)}x (${b.perJoin.toFixed(1)} against ${a.perJoin.toFixed(1)} ms)`,
        );
      }
    }
  }
  process.exit(0);
}

void main();
