/**
 * The floor under the SFU's forwarding cost: the issue's "small stand-alone test", here to be run on
 * the same machine as `run.ts`. One publisher and K listeners (libdatachannel peers, in a child
 * process pinned to core 1) connected to K + 1 libdatachannel peers in this process (pinned to core 0),
 * which forwards each packet the publisher sends to every listener exactly as the media process does
 * (`strip` once, then each listener's `SlotWriter.write` and `sendMessageBinary`), and nothing else: no
 * room, no worker protocol, no levels, no server. Prints this process's CPU (every thread: the
 * forwarding thread, libdatachannel's and libjuice's) per forwarded packet, as a ratio to a UDP send
 * measured in the same run, and what the listeners received.
 *   npx tsx bench/sfu/floor.ts [listeners=100] [seconds=10]
 * The server's own figure is `run.ts`'s "CPU per forwarded packet"; the two ratios, each against its
 * own run's UDP send, show what the server adds to libdatachannel's own cost.
 */
import { fork } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { Audio, PeerConnection, type Track } from 'node-datachannel';
import { describeGathered } from '../../src/sfu/dc-gathering.js';
import { isRtcp, SlotWriter, strip } from '../../src/sfu/dc-rtp.js';
import { pin, udpBaseline } from './machine.js';
import { busyThreads, threadTimes } from './threads.js';

/** Packets a second from the publisher: one Opus frame every 20 ms, as a speaker sends. */
const RATE = 50;
/** A packet's Opus payload, about a speech frame's size. */
const PAYLOAD_BYTES = 80;

type Msg =
  | { type: 'offer'; id: number; sdp: string }
  | { type: 'answer'; id: number; sdp: string }
  | { type: 'connected'; id: number }
  | { type: 'send'; on: boolean }
  | { type: 'report' }
  | { type: 'counts'; received: number[] };

/** The connection's local description once `describe` (setting a description) has had its candidates gathered. */
async function described(pc: PeerConnection, describe: () => void): Promise<string> {
  const sdp = await describeGathered(pc, describe);
  if (!sdp) throw new Error('no local description');
  return sdp;
}

function connectedPromise(pc: PeerConnection): Promise<void> {
  return new Promise((resolve, reject) => {
    pc.onStateChange((state) => {
      if (state === 'connected') resolve();
      if (state === 'failed') reject(new Error('a peer failed to connect'));
    });
  });
}

/** The clients: a publisher sending RTP at RATE, and listeners counting what reaches them. */
async function clients(listeners: number) {
  const send = (m: Msg) => process.send?.(m);
  const held: Track[] = [];
  const pcs: PeerConnection[] = [];
  const pending = new Map<number, (sdp: string) => void>();
  const received = new Array<number>(listeners).fill(0);
  let sending = false;
  process.on('message', (m: Msg) => {
    if (m.type === 'answer') pending.get(m.id)?.(m.sdp);
    if (m.type === 'offer') void answerListener(m.id, m.sdp);
    if (m.type === 'send') sending = m.on;
    if (m.type === 'report') send({ type: 'counts', received });
  });

  // The publisher offers a send-only microphone, as a participant does.
  const pub = new PeerConnection('publisher', { iceServers: [], bindAddress: '127.0.0.1' });
  pcs.push(pub);
  const ssrc = randomInt(1, 0xffffffff);
  const mic = new Audio('0', 'SendOnly');
  mic.addOpusCodec(111);
  mic.addSSRC(ssrc, 'publisher');
  const micTrack = pub.addTrack(mic);
  held.push(micTrack);
  const pubUp = connectedPromise(pub);
  const answer = new Promise<string>((resolve) => pending.set(0, resolve));
  send({ type: 'offer', id: 0, sdp: await described(pub, () => pub.setLocalDescription()) });
  pub.setRemoteDescription(await answer, 'answer');
  await pubUp;

  // Each listener answers this process's offer of one send-only slot (which names the slot's SSRC).
  async function answerListener(id: number, sdp: string) {
    const pc = new PeerConnection(`listener-${id}`, { iceServers: [], bindAddress: '127.0.0.1' });
    pcs.push(pc);
    pc.onTrack((track) => {
      held.push(track);
      track.onMessage((packet) => {
        if (!isRtcp(packet)) received[id - 1]++;
      });
    });
    const up = connectedPromise(pc);
    send({ type: 'answer', id, sdp: await described(pc, () => pc.setRemoteDescription(sdp, 'offer')) });
    await up;
    send({ type: 'connected', id });
  }
  send({ type: 'connected', id: 0 });

  const packet = Buffer.alloc(12 + PAYLOAD_BYTES, 0x5a);
  packet[0] = 0x80;
  packet[1] = 111;
  packet.writeUInt32BE(ssrc, 8);
  let seq = randomInt(0, 0x10000);
  let ts = randomInt(0, 0x100000000);
  setInterval(() => {
    if (!sending) return;
    seq = (seq + 1) & 0xffff;
    ts = (ts + 960) >>> 0;
    packet.writeUInt16BE(seq, 2);
    packet.writeUInt32BE(ts, 4);
    try {
      micTrack.sendMessageBinary(packet);
    } catch {
      // not open yet
    }
  }, 1000 / RATE);
}

interface Slot {
  track: Track;
  writer: SlotWriter;
  up: boolean;
}

/** The forwarder (this process), and the measurement. */
async function main() {
  const listeners = Number(process.argv[2] ?? 100);
  const seconds = Number(process.argv[3] ?? 10);
  const pinned = pin(0);
  const baseline = await udpBaseline();
  console.log(
    `baseline: ${baseline.toFixed(1)} µs CPU per 100-byte UDP send (${pinned ? 'forwarder pinned to core 0, clients to core 1' : 'no taskset: unpinned'})`,
  );

  const child = fork(new URL(import.meta.url).pathname, ['--clients', String(listeners)], { execArgv: ['--import', 'tsx'] });
  pin(1, child.pid);
  const send = (m: Msg) => child.send(m);
  const waiting = new Map<number, (sdp: string) => void>();
  const connected = new Set<number>();
  let onCounts: ((received: number[]) => void) | null = null;
  const slots: Slot[] = [];
  const pcs: PeerConnection[] = [];
  let mic: Track | null = null;
  let forwarded = 0;

  child.on('message', (m: Msg) => {
    if (m.type === 'offer') void answerPublisher(m.sdp);
    if (m.type === 'answer') waiting.get(m.id)?.(m.sdp);
    if (m.type === 'connected') connected.add(m.id);
    if (m.type === 'counts') onCounts?.(m.received);
  });

  // What the media process does with a publisher's packet: strip it once, write each subscriber's copy, send it.
  async function answerPublisher(sdp: string) {
    const pc = new PeerConnection('sfu-publisher', { iceServers: [], bindAddress: '127.0.0.1' });
    pcs.push(pc);
    pc.onTrack((track) => {
      mic = track;
      track.onMessage((packet) => {
        if (isRtcp(packet)) return;
        const stripped = strip(packet);
        if (!stripped) return;
        const now = performance.now();
        for (const slot of slots) {
          if (!slot.up) continue;
          try {
            slot.track.sendMessageBinary(slot.writer.write(stripped, 'publisher', now));
            forwarded++;
          } catch {
            // not open yet
          }
        }
      });
    });
    send({ type: 'answer', id: 0, sdp: await described(pc, () => pc.setRemoteDescription(sdp, 'offer')) });
  }

  // Each listener's slot: offered by this side, its SSRC named (a libdatachannel client routes by SSRC).
  async function offerSlot(id: number) {
    const pc = new PeerConnection(`sfu-listener-${id}`, { iceServers: [], bindAddress: '127.0.0.1' });
    pcs.push(pc);
    const writer = new SlotWriter(111, '0', null);
    const media = new Audio('0', 'SendOnly');
    media.addOpusCodec(111);
    media.addSSRC(writer.ssrc, 'smalltalk');
    const slot: Slot = { track: pc.addTrack(media), writer, up: false };
    pc.onStateChange((state) => {
      slot.up = state === 'connected';
    });
    slots.push(slot);
    const answer = new Promise<string>((resolve) => waiting.set(id, resolve));
    send({ type: 'offer', id, sdp: await described(pc, () => pc.setLocalDescription()) });
    pc.setRemoteDescription(await answer, 'answer');
  }

  const until = async (what: string, ok: () => boolean, ms = 60_000) => {
    const end = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await until('the publisher', () => connected.has(0));
  for (let i = 1; i <= listeners; i += 10) {
    await Promise.all(Array.from({ length: Math.min(10, listeners + 1 - i) }, (_, j) => offerSlot(i + j)));
  }
  await until('every listener connected', () => connected.size === listeners + 1 && slots.every((s) => s.up));
  console.log(`${listeners} listeners connected; ${mic ? 'publisher track open' : 'no publisher track'}`);

  send({ type: 'send', on: true });
  await new Promise((r) => setTimeout(r, 3000)); // warm-up
  const counts = () =>
    new Promise<number[]>((resolve) => {
      onCounts = resolve;
      send({ type: 'report' });
    });
  const before = await counts();
  const fBefore = forwarded;
  const c0 = process.cpuUsage();
  const t0 = threadTimes();
  const f0 = forwarded;
  const w0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpu = process.cpuUsage(c0);
  const t1 = threadTimes();
  const packets = forwarded - f0;
  const elapsed = (performance.now() - w0) / 1000;
  send({ type: 'send', on: false });
  await new Promise((r) => setTimeout(r, 500)); // the last packets in flight
  const after = await counts();
  const sentMeanwhile = forwarded - fBefore;

  const micros = cpu.user + cpu.system;
  const perPacket = micros / packets;
  const got = after.reduce((a, n, i) => a + n - before[i], 0);
  const receivedPct = ((got / sentMeanwhile) * 100).toFixed(1);
  console.log(`threads in the window (% of a core): ${busyThreads(t0, t1, elapsed, process.pid)}`);
  console.log(
    `forwarded ${packets} packets in ${elapsed.toFixed(1)} s (${Math.round(packets / elapsed)}/s); the listeners received ${receivedPct}% of what was forwarded to them`,
  );
  console.log(
    `| ${listeners} | ${Math.round(packets / elapsed)} | ${((micros / 1e6 / elapsed) * 100).toFixed(1)}% | ${perPacket.toFixed(1)} µs (${(perPacket / baseline).toFixed(1)}x UDP send) | ${baseline.toFixed(1)} µs | ${receivedPct}% |`,
  );
  child.kill('SIGKILL');
  for (const pc of pcs) pc.close();
  process.exit(0);
}

if (process.argv[2] === '--clients') void clients(Number(process.argv[3]));
else void main();
