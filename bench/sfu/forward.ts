/**
 * The SFU's forwarding cost alone, without the load generator's noise: K real listeners (libwebrtc
 * peers, whose work is on their own native threads) connected to K werift peers in this thread,
 * configured as the SFU worker configures them; then one speaker's packets forwarded to all K,
 * rounds alternating between the SFU's direct path (src/sfu/forward.ts) and werift's own
 * `sender.sendRtp`. Prints this thread's CPU per forwarded packet (from /proc/thread-self/stat),
 * as a ratio to a plain UDP send of the same size measured in the same run, and packets/s per core.
 *   node --import tsx bench/sfu/forward.ts [listeners=50] [rounds=6]
 */
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import type { RTCRtpSender } from 'werift';
import { forwarded, sendForwarded } from '../../src/sfu/forward.js';
import { weriftAnswerer, wrtcOfferer } from './peers.js';
import { threadCpuMicros } from './threads.js';

const listeners = Number(process.argv[2] ?? 50);
const rounds = Number(process.argv[3] ?? 6);
/** Packets per round: 4 s of one speaker (50 packets/s), forwarded to every listener. */
const PACKETS = 200;

/** This thread's CPU time in µs. */
const threadCpu = () => threadCpuMicros('/proc/thread-self/stat');

const tick = () => new Promise((r) => setImmediate(r));

async function connect(): Promise<{ sender: RTCRtpSender; close(): void }> {
  const client = await wrtcOfferer();
  await client.gathered();
  const server = await weriftAnswerer(client.pc.localDescription.sdp);
  const connected = new Promise<void>((r) => {
    const check = () => server.pc.connectionState === 'connected' && r();
    server.pc.connectionStateChange.subscribe(check);
    check();
  });
  await client.pc.setRemoteDescription({ type: 'answer', sdp: server.answer });
  await connected;
  return {
    sender: server.transceivers[1].sender,
    close: () => {
      client.close();
      void server.pc.close();
    },
  };
}

/** µs of this thread per 100-byte UDP send, the same way the forwarding sends (unconnected socket). */
async function udpBaseline(n: number): Promise<number> {
  const sink = createSocket('udp4');
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
  const port = (sink.address() as { port: number }).port;
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const buf = Buffer.alloc(100);
  const c0 = threadCpu();
  for (let i = 0; i < n; i++) {
    s.send(buf, port, '127.0.0.1');
    if (i % listeners === 0) await tick();
  }
  await tick();
  const c = threadCpu() - c0;
  s.close();
  sink.close();
  return c / n;
}

async function round(peers: { sender: RTCRtpSender }[], direct: boolean, seq0: number): Promise<number> {
  // An Opus frame of speech is 60-120 bytes; one speaker's packet, as the worker strips it.
  const payload = randomBytes(90);
  const c0 = threadCpu();
  for (let p = 0; p < PACKETS; p++) {
    const packet = Buffer.alloc(12 + payload.length);
    packet[0] = 0x80;
    packet[1] = 111;
    packet.writeUInt16BE((seq0 + p) & 0xffff, 2);
    packet.writeUInt32BE(((seq0 + p) * 960) >>> 0, 4);
    packet.writeUInt32BE(1234, 8);
    payload.copy(packet, 12);
    if (direct) {
      const f = forwarded(packet);
      for (const peer of peers) sendForwarded(peer.sender, f);
    } else {
      for (const peer of peers) void peer.sender.sendRtp(packet).catch(() => undefined);
    }
    // Let the sends and their promise chains run, as the worker's loop does between packets.
    await tick();
  }
  await tick();
  return (threadCpu() - c0) / (PACKETS * peers.length);
}

async function main() {
  const t0 = performance.now();
  const peers = [];
  for (let i = 0; i < listeners; i++) peers.push(await connect());
  console.log(`${listeners} listeners connected in ${Math.round(performance.now() - t0)} ms`);
  const results: Record<'direct' | 'werift' | 'udp', number[]> = { direct: [], werift: [], udp: [] };
  let seq = 0;
  for (let r = 0; r < rounds; r++) {
    for (const direct of r % 2 ? [false, true] : [true, false]) {
      results[direct ? 'direct' : 'werift'].push(await round(peers, direct, seq));
      seq += PACKETS;
    }
    results.udp.push(await udpBaseline(PACKETS * listeners));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const udp = median(results.udp);
  console.log(`per forwarded packet, this thread, median of ${rounds} alternating rounds of ${PACKETS} packets x ${listeners} listeners:`);
  for (const k of ['werift', 'direct'] as const) {
    const us = median(results[k]);
    console.log(
      `  ${k.padEnd(6)} ${us.toFixed(1)} µs (${(us / udp).toFixed(1)}x a UDP send; ${Math.round(1e6 / us)} packets/s per core) rounds: ${results[k].map((x) => x.toFixed(0)).join(' ')}`,
    );
  }
  console.log(`  udp    ${udp.toFixed(1)} µs per 100-byte send; direct/werift = ${(median(results.direct) / median(results.werift)).toFixed(2)}`);
  for (const p of peers) p.close();
  process.exit(0);
}

void main();
