/**
 * ffmpeg and RTP plumbing shared by the recorder, the live captioner and the transcriber: spawning
 * tied child processes, reading their JSON-line output, SDP files for an RTP input, free UDP ports,
 * probing durations.
 */
import dgram from 'node:dgram';
import { readFile, writeFile } from 'node:fs/promises';
import { type MediaChild, type Stdio, spawnMedia, tied } from './spawner.js';

/** Opus payload type our SDP files declare (what `tapSpeaker` is asked to stamp). */
export const OPUS_PAYLOAD_TYPE = 111;

/**
 * A media child (ffmpeg, pocketsphinx) that must not outlive the server: under `setpriv --pdeathsig
 * KILL` (a SIGKILL of the server leaves no orphan holding a port or a file), started by the spawner
 * so the app's event loop does not wait for it to start (spawner.ts).
 */
export function spawnTied(command: string, args: string[], options: { stdio?: Stdio } = {}): MediaChild {
  const [c, a] = tied(command, args);
  return spawnMedia(c, a, options.stdio ?? ['ignore', 'ignore', 'pipe']);
}

/** Resolves with the exit code (null when killed by a signal). */
export function exited(child: MediaChild): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('close', (code) => resolve(code)));
}

/** Reads a process's stdout as JSON lines; a line that is not JSON is ignored. */
export function readJsonLines<T>(child: MediaChild, onLine: (line: T) => void): void {
  let buffered = '';
  const parse = (l: string) => {
    if (!l.startsWith('{')) return;
    try {
      onLine(JSON.parse(l) as T);
    } catch {
      // not one of ours
    }
  };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const l of lines) parse(l);
  });
  child.once('close', () => {
    if (buffered) parse(buffered);
  });
}

/** Runs a command to completion (`input` on its stdin); rejects with its stderr tail on a non-zero exit. */
export async function run(command: string, args: string[], input?: string): Promise<string> {
  const child = spawnMedia(command, args, [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe']);
  if (input !== undefined) {
    child.stdin?.on('error', () => undefined); // it exited without reading all: its exit says why
    child.stdin?.end(input);
  }
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err = (err + d).slice(-2000);
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`${command} exited with ${code}: ${err.trim()}`);
  return out;
}

/** Duration in seconds as ffprobe reads it (fragmented files included), or null. */
export async function probeDuration(file: string): Promise<number | null> {
  try {
    const out = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file]);
    const d = Number(out.trim());
    return Number.isFinite(d) ? d : null;
  } catch {
    return null;
  }
}

async function canBind(port: number): Promise<boolean> {
  const socket = dgram.createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, '127.0.0.1', () => resolve());
    });
    return true;
  } catch {
    return false;
  } finally {
    try {
      socket.close();
    } catch {
      // never bound
    }
  }
}

/** An even loopback UDP port whose odd neighbour (RTCP) is free too, as ffmpeg's RTP input binds both. */
export async function freeRtpPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + 2 * Math.floor(Math.random() * 10000);
    if ((await canBind(port)) && (await canBind(port + 1))) return port;
  }
  throw new Error('no free UDP port pair on 127.0.0.1');
}

/**
 * Waits until a process (ffmpeg) has bound the loopback UDP `port`, so that nothing sent to it
 * from then on is lost. Read from /proc/net/udp (probing by binding the port ourselves could make
 * ffmpeg's own bind fail); where that is not readable, a fixed wait. False on timeout, or once
 * `stillWaiting` says to stop.
 */
export async function udpPortBound(port: number, timeoutMs = 5_000, stillWaiting: () => boolean = () => true): Promise<boolean> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && stillWaiting()) {
    const table = await readFile('/proc/net/udp', 'utf8').catch(() => null);
    if (table === null) {
      await new Promise((r) => setTimeout(r, 300));
      return true;
    }
    // Lines read "sl local_address rem_address ...": the local address is the second field.
    if (table.split('\n').some((line) => line.trim().split(/\s+/)[1]?.endsWith(hex.trim()))) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

/**
 * A loopback UDP port that holds the RTP sent to it until its receiver listens, then passes on what
 * it held and everything after. A tap can start the moment a speaker does, before ffmpeg (seconds
 * on a busy machine) has bound its own port: what the speaker said meanwhile reaches the file late,
 * not never. ffmpeg places packets by their RTP timestamps, so a burst is written where it belongs.
 */
export class RtpHold {
  /** At most this many packets wait (30 s of 20-ms Opus); older ones are dropped past it. */
  static readonly MAX_HELD = 1500;
  /**
   * What was held goes out this many packets every FLUSH_EVERY_MS: about 2,000 packets/s, 40 times
   * real time, without overflowing the receiver's socket buffer (a few hundred small datagrams; 20
   * per 2 ms lost part of an 8-s burst to a busy ffmpeg).
   */
  static readonly FLUSH_BATCH = 4;
  static readonly FLUSH_EVERY_MS = 2;
  private held: Buffer[] = [];
  private target: number | null = null;
  private flushing = false;
  private closed = false;
  /** Packets dropped while holding (the receiver took longer than MAX_HELD packets to listen). */
  dropped = 0;

  private constructor(private readonly socket: dgram.Socket) {
    socket.on('message', (packet) => {
      if (this.closed) return;
      if (this.target !== null && !this.flushing) return this.send(packet, this.target);
      this.held.push(packet);
      if (this.held.length > RtpHold.MAX_HELD) {
        this.held.shift();
        this.dropped++;
      }
    });
    socket.on('error', () => undefined);
  }

  static async open(): Promise<RtpHold> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve());
    });
    return new RtpHold(socket);
  }

  /** Where a tap should send. */
  get port(): number {
    return this.socket.address().port;
  }

  /** Passes on what was held (in order, paced), then every packet as it comes, to `port`. A second call changes nothing. */
  release(port: number): void {
    if (this.target !== null || this.closed) return;
    this.target = port;
    this.flushing = true;
    const pump = () => {
      if (this.closed || this.target === null) return;
      for (const packet of this.held.splice(0, RtpHold.FLUSH_BATCH)) this.send(packet, this.target);
      if (this.held.length > 0) setTimeout(pump, RtpHold.FLUSH_EVERY_MS);
      else this.flushing = false;
    };
    pump();
  }

  /**
   * Releases to `port` once a process listens on it (udpPortBound, up to a minute, while
   * `stillWaiting`); resolves with whether it did.
   */
  async releaseWhenListening(port: number, stillWaiting: () => boolean): Promise<boolean> {
    const listening = await udpPortBound(port, 60_000, () => !this.closed && stillWaiting());
    if (listening) this.release(port);
    return listening;
  }

  /** True once everything held has gone out (and packets pass straight on). */
  get passing(): boolean {
    return this.target !== null && !this.flushing;
  }

  close(): void {
    this.closed = true;
    this.held = [];
    try {
      this.socket.close();
    } catch {
      // closed already
    }
  }

  private send(packet: Buffer, port: number): void {
    this.socket.send(packet, port, '127.0.0.1', () => undefined);
  }
}

/** The SDP ffmpeg reads to receive one speaker's Opus RTP on `port`. */
export function opusSdp(port: number, payloadType = OPUS_PAYLOAD_TYPE): string {
  return [
    'v=0',
    'o=- 0 0 IN IP4 127.0.0.1',
    's=smalltalk speaker',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${port} RTP/AVP ${payloadType}`,
    `a=rtpmap:${payloadType} opus/48000/2`,
    '',
  ].join('\n');
}

export async function writeSdp(file: string, port: number): Promise<void> {
  await writeFile(file, opusSdp(port));
}

/** ffmpeg's input options for one speaker's RTP described by `sdpFile` (no probing delay). */
export function rtpInputArgs(sdpFile: string): string[] {
  return [
    '-nostdin',
    '-loglevel',
    'error',
    '-analyzeduration',
    '0',
    '-probesize',
    '32',
    '-protocol_whitelist',
    'file,udp,rtp',
    '-localaddr',
    '127.0.0.1',
    '-i',
    sdpFile,
  ];
}

/**
 * ffmpeg's arguments to capture one speaker's RTP (described by `sdpFile`) to `file`: mono AAC in
 * a fragmented MP4 of fragments of at most 0.5 s, flushed as written, so a kill loses at most the
 * fragment in progress.
 */
export function captureArgs(sdpFile: string, file: string): string[] {
  return [
    ...rtpInputArgs(sdpFile),
    '-af',
    'aresample=async=1',
    '-c:a',
    'aac',
    '-b:a',
    '64k',
    '-ac',
    '1',
    '-movflags',
    '+frag_keyframe+empty_moov+default_base_moof',
    '-frag_duration',
    '500000',
    '-flush_packets',
    '1',
    '-f',
    'mp4',
    file,
  ];
}

/**
 * Stops an ffmpeg reading RTP cleanly. One SIGINT makes it finish and close the file, but only
 * once its blocked read returns: on the next packet, or after the SDP demuxer's 10 s timeout (a
 * second SIGINT would exit at once but abort writing the last fragment). So: one SIGINT, then
 * `afterSignal` (the room's untap, which sends one closing packet in sequence so the read returns
 * at once), and SIGKILL only if it still runs after `graceMs` (the fragmented file stays
 * playable, minus its last fragment).
 */
export async function stopRtpReader(child: MediaChild, afterSignal?: () => Promise<void>, graceMs = 12_000): Promise<void> {
  const running = child.exitCode === null && child.signalCode === null;
  if (running) child.kill('SIGINT');
  await afterSignal?.();
  if (!running) return;
  const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    await exited(child);
  } finally {
    clearTimeout(killer);
  }
}

/** A child ended by the signals a service manager or an operator stops a service with (not a crash). */
export function orderlySignal(signal: NodeJS.Signals | null): boolean {
  return signal === 'SIGTERM' || signal === 'SIGINT' || signal === 'SIGHUP';
}
