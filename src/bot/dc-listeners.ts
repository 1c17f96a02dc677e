import { randomInt } from 'node:crypto';
import { Audio, PeerConnection, type Track } from 'node-datachannel';
import WebSocket from 'ws';
import { RoomConnection } from '../rooms/client.js';
import type { ServerMessage } from '../rooms/protocol.js';
import { describeGathered } from '../sfu/dc-gathering.js';
import { isRtcp } from '../sfu/dc-rtp.js';
import { emptyReport, linkSecrets, refusalAsError } from './participant.js';

/**
 * A load-test process of light WebRTC listeners whose peers are libdatachannel's (node-datachannel)
 * instead of libwebrtc's: for the loads a machine cannot generate with libwebrtc bots (each of those
 * runs libwebrtc's audio pipeline, decoding included). Each joins the room like the bot (src/rooms/client.ts),
 * offers a send-only mic m-line and the receive slots `joined` gives, and counts the RTP packets each
 * slot receives, and the ones its sequence numbers say were lost, without decoding.
 *   tsx dc-listeners.ts <page url> <count> <seconds> <spacing ms>
 * Prints one JSON line: every listener's report (the bot's ParticipantReport, `decoding` false). A
 * listener whose peer fails reports it as its error; it does not reconnect or follow a media restart.
 */

/** One receive slot's packets: counted, and the gaps in their sequence numbers (RFC 3550's expected - received). */
class SlotCount {
  private first = -1;
  private highest = 0;
  /** Sequence number cycles (16-bit wrap-arounds) seen. */
  private cycles = 0;
  received = 0;

  /** Counts a packet the slot received; false if it was not RTP (RTCP, or too short). */
  add(packet: Buffer): boolean {
    if (packet.length < 12 || isRtcp(packet)) return false;
    const seq = packet.readUInt16BE(2);
    this.received++;
    if (this.first < 0) {
      this.first = seq;
      this.highest = seq;
      return true;
    }
    const delta = (seq - this.highest) & 0xffff;
    if (delta > 0 && delta < 0x8000) {
      if (seq < this.highest) this.cycles++;
      this.highest = seq;
    }
    return true;
  }

  get lost(): number {
    if (this.first < 0) return 0;
    const expected = this.cycles * 0x10000 + this.highest - this.first + 1;
    return Math.max(0, expected - this.received);
  }
}

class LightListener {
  readonly report = emptyReport();
  private connection: RoomConnection | null = null;
  private pc: PeerConnection | null = null;
  /** Held for as long as the peer lives: a Track nothing references is collected and its packets stop. */
  private tracks: Track[] = [];
  private counts: SlotCount[] = [];
  private startedAt = 0;
  private leaving = false;

  constructor(
    private readonly pageUrl: string,
    private readonly name: string,
  ) {}

  private mark(phase: string) {
    this.report.phases[phase] ??= Math.round(performance.now() - this.startedAt);
  }

  async join(): Promise<void> {
    this.startedAt = performance.now();
    this.report.startedAtMs = Date.now();
    const hash = linkSecrets(this.pageUrl);
    const connection = new RoomConnection({
      pageUrl: this.pageUrl,
      open: (url) => {
        const ws = new WebSocket(url);
        ws.once('open', () => this.mark('open'));
        return ws;
      },
      join: { name: this.name, token: hash.get('token') ?? undefined, invite: hash.get('invite') ?? undefined },
    });
    this.connection = connection;
    connection.onMessage((m: ServerMessage) => {
      if (m.type === 'tier' && m.tier !== this.report.tier) {
        this.report.tierMoves++;
        this.report.tier = m.tier;
      }
    });
    const joined = await connection.connect().catch(refusalAsError);
    this.mark('joined');
    this.report.participantId = joined.participant_id;
    this.report.redirects = connection.redirects;
    this.report.tier = joined.tier;
    if (joined.tier === 'audience') return; // the server takes no offer: counted in the room, no media
    await this.negotiate(connection, joined.slots);
  }

  private async negotiate(connection: RoomConnection, slots: number) {
    const pc = new PeerConnection(this.name, { iceServers: [] });
    this.pc = pc;
    const mic = new Audio('0', 'SendOnly');
    mic.addOpusCodec(111);
    mic.addSSRC(randomInt(1, 0xffffffff), this.name);
    this.tracks.push(pc.addTrack(mic));
    for (let i = 0; i < slots; i++) {
      const slot = new Audio(String(i + 1), 'RecvOnly');
      slot.addOpusCodec(111);
      // Offered as browsers do, so the server writes the MID extension on each packet as it does for them
      // (libdatachannel itself routes by the SSRCs the answer names).
      slot.parseSdpLine('a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid');
      const track = pc.addTrack(slot);
      const count = new SlotCount();
      track.onMessage((packet) => {
        if (count.add(packet) && this.report.phases.firstPacket === undefined) {
          this.mark('firstPacket');
          this.report.joinMs = this.report.phases.firstPacket;
        }
      });
      this.tracks.push(track);
      this.counts.push(count);
    }
    pc.onStateChange((state) => {
      if (state === 'connected') this.mark('connected');
      if (state === 'failed' && !this.leaving) this.report.error ??= 'the peer connection failed';
    });
    const offer = await describeGathered(pc, () => pc.setLocalDescription());
    if (!offer) throw new Error('libdatachannel made no offer');
    this.mark('offered');
    const answer = await connection.offer(offer);
    this.mark('answered');
    pc.setRemoteDescription(answer, 'answer');
  }

  /** The counts so far into the report. */
  collect() {
    this.report.packetsReceived = this.counts.reduce((a, c) => a + c.received, 0);
    this.report.packetsLost = this.counts.reduce((a, c) => a + c.lost, 0);
  }

  leave() {
    this.leaving = true;
    this.connection?.send({ type: 'leave' });
    this.connection?.close();
    for (const t of this.tracks) {
      try {
        t.close();
      } catch {
        // closed
      }
    }
    try {
      this.pc?.close();
    } catch {
      // closed
    }
  }
}

async function main() {
  const [pageUrl, countText, secondsText, spacingText] = process.argv.slice(2);
  const count = Number(countText);
  const spacingMs = Number(spacingText || 20);
  const listeners: LightListener[] = [];
  const joins: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const listener = new LightListener(pageUrl, `light ${process.pid}-${i}`);
    listeners.push(listener);
    joins.push(
      listener.join().catch((err: Error) => {
        listener.report.error = err.message;
      }),
    );
    await new Promise((r) => setTimeout(r, spacingMs));
  }
  await Promise.all(joins);
  await new Promise((r) => setTimeout(r, Number(secondsText) * 1000));
  for (const l of listeners) l.collect();
  const reports = listeners.map((l) => ({ ...l.report }));
  for (const l of listeners) l.leave();
  // node-datachannel's teardown at a natural exit can crash (a Track finalized after its thread-safe
  // function): once the report is written out, leave at once.
  process.stdout.write(`${JSON.stringify(reports)}\n`, () => process.exit(0));
}

void main();
