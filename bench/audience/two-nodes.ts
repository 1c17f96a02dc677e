/**
 * The audience scenario on two nodes (issue 18, part 3): nodes a and b on one Postgres and one Redis,
 * a hosted_events talk whose room is on a, two speakers, W WebRTC listeners and H LL-HLS listeners,
 * each audience spread half over a and half over b. b passes its stream requests on to a, and its
 * room sockets send the WebRTC joins there (the redirect every client follows). Prints, per node, the
 * LL-HLS listeners' requests/s, errors (must be 0) and playlist/part p50/p99, and the WebRTC listeners'
 * receiving fraction, loss, concealment and join times, with their errors. The WebRTC listeners are 3 decoding
 * libwebrtc bots per node and light libdatachannel listeners (the server's default SFU engine, datachannel).
 *   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test TEST_REDIS_URL=redis://127.0.0.1:6379 \
 *     npm run bench:two-nodes -- [H=1000] [--webrtc W=100] [--edge]
 * --edge: the LL-HLS listeners go through nginx as the caching edge (docs/nginx-edge.conf, both nodes
 * its upstream, so its misses go half to a and half to b); it prints the edge's hit ratio, the requests
 * it passed to the nodes and its CPU. nginx comes from `bash scripts/setup-system.sh --bench`.
 * Each node runs in a process of its own (test/scaled/node-child.ts), as a deployment runs them: with both in this
 * process (as the bench ran them until the twentieth session) the nodes and the host bot shared one
 * event loop, and node a's listen queue drained only as fast as that loop turned. Each node's CPU (its
 * process and descendants: the media process, the stream's encoder) is read from /proc over the LL-HLS window.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BotParticipant, decodeAudio } from '../../src/bot/participant.js';
import { runStreamListeners, runSwarm, summarize, summarizeStream } from '../../src/bot/loadtest.js';
import { api } from '../../test/support/api.js';
import { dropSchema } from '../../test/support/app.js';
import { speechWav } from '../../test/live/media.js';
import { waitFor } from '../../test/support/wait.js';
import { type NodeProcess, startNodeProcess } from '../../test/support/node-process.js';
import { processTreeMicros } from '../sfu/threads.js';
import { type Edge, startEdge } from './edge.js';

const argv = process.argv.slice(2);
const edgeAt = argv.indexOf('--edge');
const viaEdge = edgeAt >= 0 && argv.splice(edgeAt, 1).length === 1;
const webrtcAt = argv.indexOf('--webrtc');
const webrtc = webrtcAt >= 0 ? Number(argv.splice(webrtcAt, 2)[1]) : 100;
const hls = Number(argv[0] ?? 1000);
const CLIENT_PROCS_PER_NODE = 1;
const SECONDS = 30;

interface Node extends NodeProcess {
  dataDir: string;
}

/** A node in its own process (test/support/node-process.ts, as the scaled tests start one), with a data directory of its own. */
async function startNode(schema: string, env: Record<string, string>, partnerName?: string): Promise<Node> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bench-node-'));
  try {
    return { dataDir, ...(await startNodeProcess({ schema, dataDir, env, partnerName })) };
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

async function stopNode(node: Node | undefined) {
  if (!node) return;
  if (node.child.exitCode === null) {
    const exited = new Promise((r) => node.child.once('exit', r));
    node.child.kill('SIGTERM');
    const timer = setTimeout(() => node.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(node.dataDir, { recursive: true, force: true });
}

async function main() {
  const database = process.env.TEST_DATABASE_URL;
  const redis = process.env.TEST_REDIS_URL;
  if (!database || !redis) {
    console.error('bench:two-nodes needs a real Postgres and Redis: set TEST_DATABASE_URL and TEST_REDIS_URL (see the header of this file)');
    process.exit(2);
  }
  console.log(
    `bench:two-nodes on ${os.cpus().length} cores, load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}: ${hls} LL-HLS and ${webrtc} WebRTC listeners, half on each node`,
  );
  const schema = `bench_${randomBytes(6).toString('hex')}`;
  const env = {
    REDIS_URL: redis,
    RTC_LISTEN_IP: '127.0.0.1',
    SFU_WORKERS: '1',
    LIVE_CAPTIONS: 'false',
    GUEST_JOINS_PER_MINUTE: '0',
    ROOM_HEARTBEAT_SECONDS: '0.5',
  };
  let a: Node | undefined;
  let b: Node | undefined;
  let edge: Edge | null = null;
  try {
    // One after the other: the first migrates the schema (two at once raced for it once).
    a = await startNode(schema, env, 'Bench');
    b = await startNode(schema, env);
    if (viaEdge) edge = await startEdge([a.url, b.url]);
    await run(a, b, edge);
  } finally {
    edge?.stop();
    await Promise.all([stopNode(a), stopNode(b)]);
    await dropSchema(schema);
  }
}

async function run(a: Node, b: Node, edge: Edge | null) {
  const p = a.partner;
  if (!p) throw new Error('node a made no partner');
  const talk = (await api(a, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Two nodes', room_type: 'hosted_events', recording: false } })).body.talk;
  const token = async (name: string, role: string) =>
    (await api(a, 'POST', `/api/v1/partners/talks/${talk.id}/join_tokens`, { token: p.token, json: { name, role, uid: name } })).body.join_token
      .join_url as string;
  const onB = (url: string) => `${b.url}${new URL(url).pathname}${new URL(url).search}${new URL(url).hash}`;
  const host = new BotParticipant({ pageUrl: await token('Host', 'host'), audio: await decodeAudio(speechWav()), decode: false });
  try {
    await host.join();
    host.send({ type: 'mute', muted: false });
    const hlsUrl: string = await waitFor(
      async () => (await api(b, 'GET', `/api/v1/partners/talks?talk_id=${talk.id}`, { token: p.token })).body.talks[0].hls_url,
      'hls_url',
    );
    const stay = SECONDS + Math.ceil(webrtc / 40) + 8;
    // The second speaker joins through node b.
    const second = runSwarm(onB(await token('Second', 'speaker')), 1, stay + 5, { play: speechWav() });
    // Per node, 3 libwebrtc bots that decode (concealment is measured on them) and light libdatachannel
    // listeners for the rest (dc-listeners.ts): 100 libwebrtc bots alone kept this 2-core machine busy.
    const half = Math.floor(webrtc / 2);
    const listenOn = (url: string, n: number) => {
      const decoding = Math.min(3, n);
      return [
        runSwarm(url, decoding, stay, { decode: decoding, spacingMs: 50 }),
        ...(n > decoding ? [runSwarm(url, n - decoding, stay, { datachannel: true, spacingMs: 50 })] : []),
      ];
    };
    const swarm = Promise.all([...listenOn(talk.short_url, half), ...listenOn(onB(talk.short_url), webrtc - half)]);
    await new Promise((r) => setTimeout(r, Math.ceil(webrtc / 40) * 1000 + 4000));
    const playlist = (base: string) => `${base}${new URL(hlsUrl).pathname}`;
    // Half of the listeners at each node, or all of them at the edge (in two client processes).
    const targets = edge
      ? [
          ['through nginx (1 of 2 client processes)', edge.url],
          ['through nginx (2 of 2 client processes)', edge.url],
        ]
      : [
          ['at node a (hosts the room)', a.url],
          ['at node b (passes on to a)', b.url],
        ];
    edge?.resetLog();
    const edgeCpu0 = edge?.cpuMicros() ?? 0;
    const nodeCpu0 = [a, b].map((node) => processTreeMicros(node.child.pid as number) / 1e6);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const summaries = await Promise.all(
      targets.map(async ([, base]) => {
        const per = Math.ceil(hls / 2 / CLIENT_PROCS_PER_NODE);
        const reports = await Promise.all(Array.from({ length: CLIENT_PROCS_PER_NODE }, () => runStreamListeners(playlist(base), per, SECONDS)));
        return summarizeStream(reports, per * CLIENT_PROCS_PER_NODE);
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const nodeCpu = [a, b].map((node, i) => (100 * (processTreeMicros(node.child.pid as number) / 1e6 - nodeCpu0[i])) / seconds);
    const result = summarize((await swarm).flat());
    await second;
    for (const [i, [name]] of targets.entries()) {
      const s = summaries[i];
      console.log(
        `LL-HLS ${name}: ${s.listeners} listeners, ${(s.requests / SECONDS).toFixed(0)} req/s, errors ${s.errors}${s.errorSamples.length ? ` (${s.errorSamples.join('; ')})` : ''}, ` +
          `playlist p50/p99 ${s.playlistP50}/${s.playlistP99} ms, part ${s.partP50}/${s.partP99} ms`,
      );
    }
    console.log(
      `WebRTC: ${webrtc} listeners (half through b), on WebRTC ${webrtc - result.onStream}, on the stream ${result.onStream}; receiving ${(100 * result.fractionReceiving).toFixed(1)}%, ` +
        `loss ${(100 * result.loss).toFixed(2)}%, concealment ${(100 * result.concealment).toFixed(2)}% over the decoding ones, join p50/p99 ${result.joinP50}/${result.joinP99} ms` +
        `${result.errors.length ? `, errors (${result.errors.length}): ${result.errors.slice(0, 5).join('; ')}` : ', no errors'}`,
    );
    if (edge) {
      const { requests, hits, toOrigin } = edge.counts();
      const nginxCpu = (100 * (edge.cpuMicros() - edgeCpu0)) / 1e6 / seconds;
      console.log(
        `edge: ${requests} requests logged, hit ratio ${((100 * hits) / Math.max(1, requests)).toFixed(1)}%, ${toOrigin} passed to the nodes ` +
          `(${(toOrigin / seconds).toFixed(1)}/s), nginx ${nginxCpu.toFixed(0)}% of a core`,
      );
    }
    console.log(
      `CPU over the LL-HLS window (each node with its media process and encoder): node a ${nodeCpu[0].toFixed(0)}%, node b ${nodeCpu[1].toFixed(0)}% of a core; ` +
        `this process (the host bot) ${((100 * (cpu.user + cpu.system)) / 1e6 / seconds).toFixed(0)}%; load ${os.loadavg()[0].toFixed(1)}`,
    );
  } finally {
    await host.leave().catch(() => undefined);
  }
}

await main();
process.exit(0);
