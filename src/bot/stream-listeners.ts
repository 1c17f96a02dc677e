/**
 * Light LL-HLS listeners of a talk's audience stream (`smalltalk loadtest --stream-listeners`,
 * bench/audience), in their own process: each follows the live edge as hls.js does in
 * low-latency mode (a blocking playlist reload for the hinted part and that part, both at once,
 * then the next; the reload asks for a delta update when the playlist offers them), on its own two
 * keep-alive connections (as hls.js keeps two); they arrive spread over the first second.
 *   node stream-listeners.js <playlist url> <listeners> <seconds>
 *   node stream-listeners.js <url> <listeners> <seconds> --static   (the baseline: the same pace of GETs of one URL)
 * Prints one JSON line: requests, errors, bytes, p50/p99 ms per kind, and this process's CPU.
 *
 * The requests are HTTP/1.1 GETs written on a plain socket (`Connection`), not node:http's client:
 * that client cost ~70 µs of CPU a request, so two cores of it could not generate more than a few
 * thousand listeners beside the server and the edge; this costs a fraction of that (docs/benchmarks.md).
 */
import net from 'node:net';

const [url, countArg, secondsArg, mode] = process.argv.slice(2);
const count = Number(countArg);
const deadline = Date.now() + Number(secondsArg) * 1000;
const PART_MS = 256;
const target = new URL(url);

const stats = { requests: 0, errors: 0, bytes: 0, errorSamples: [] as string[] };
const times: Record<string, number[]> = { playlist: [], part: [], static: [] };

interface Reply {
  status: number;
  body: Buffer;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/**
 * One keep-alive HTTP/1.1 connection to the target's host, one request at a time: a response is
 * read by its Content-Length (a reply without one is an error). A connection the server
 * closed (nginx closes one after `keepalive_requests`, with `Connection: close`) is opened again for
 * the next request; a request on a connection that closes before any byte of the reply is sent
 * again once on a new one, as a browser does.
 */
class Connection {
  private socket: net.Socket | null = null;
  private buffered: Buffer = Buffer.alloc(0);
  /** Whether any byte of the reply in flight has come. */
  private answered = false;
  private pending: { resolve: (r: Reply) => void; reject: (e: Error) => void } | null = null;

  get(path: string): Promise<Reply> {
    return this.send(path).catch((err: Error & { retry?: boolean }) => (err.retry ? this.send(path) : Promise.reject(err)));
  }

  close() {
    this.socket?.destroy();
    this.socket = null;
  }

  private send(path: string): Promise<Reply> {
    const socket = this.socket ?? this.open();
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.answered = false;
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${target.host}\r\n\r\n`);
    });
  }

  private open(): net.Socket {
    const socket = net.connect(Number(target.port || 80), target.hostname);
    socket.setNoDelay(true);
    this.socket = socket;
    this.buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      if (this.socket !== socket) return;
      this.answered = true;
      this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
      this.parse();
    });
    const gone = (err?: Error) => {
      // A connection given up (closed here, or replaced) has no request of ours in flight.
      if (this.socket !== socket) return;
      this.socket = null;
      const pending = this.pending;
      this.pending = null;
      if (!pending) return;
      const failure: Error & { retry?: boolean } = err ?? new Error('connection closed before the reply');
      // A keep-alive connection closed under a request that got no byte back: safe to send again.
      failure.retry = !this.answered;
      pending.reject(failure);
    };
    socket.on('error', gone);
    socket.on('close', () => gone());
    return socket;
  }

  private parse() {
    const headEnd = this.buffered.indexOf(HEAD_END);
    if (headEnd < 0 || !this.pending) return;
    const head = this.buffered.toString('latin1', 0, headEnd);
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!length) {
      // The origin and nginx give every stream reply a length; anything else is not followed here.
      const pending = this.pending;
      this.pending = null;
      this.close();
      pending.reject(new Error(`a reply without Content-Length: ${head.split('\r\n')[0]}`));
      return;
    }
    const used = headEnd + 4 + Number(length[1]);
    if (this.buffered.length < used) return;
    const body = this.buffered.subarray(headEnd + 4, used);
    this.buffered = this.buffered.subarray(used);
    const pending = this.pending;
    this.pending = null;
    if (/\r\nconnection: *close/i.test(head)) this.close();
    pending.resolve({ status, body });
  }
}

async function get(connection: Connection, path: string, kind: string): Promise<Reply> {
  const started = performance.now();
  try {
    const reply = await connection.get(path);
    stats.requests++;
    stats.bytes += reply.body.length;
    times[kind].push(performance.now() - started);
    if (reply.status !== 200) {
      stats.errors++;
      if (stats.errorSamples.length < 5) stats.errorSamples.push(`${reply.status} ${kind} ${reply.body.toString().slice(0, 120)}`);
    }
    return reply;
  } catch (err) {
    stats.requests++;
    stats.errors++;
    if (stats.errorSamples.length < 5) stats.errorSamples.push(`${kind}: ${(err as Error).message}`);
    return { status: 0, body: Buffer.alloc(0) };
  }
}

const hint = (playlist: string) => /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^/"]+)\/(\d+)\.(\d+)\.m4s"/.exec(playlist);

async function listener(): Promise<void> {
  const playlists = new Connection();
  const parts = new Connection();
  const path = target.pathname;
  const base = path.slice(0, path.lastIndexOf('/') + 1);
  let next: RegExpExecArray | null = null;
  let skip = '';
  while (Date.now() < deadline) {
    if (!next) {
      const first = (await get(playlists, path, 'playlist')).body.toString();
      skip = /CAN-SKIP-UNTIL=/.test(first) ? '&_HLS_skip=YES' : '';
      next = hint(first);
      if (!next) {
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
    }
    const [epoch, msn, part]: string[] = [next[1], next[2], next[3]];
    const [playlist, media]: Reply[] = await Promise.all([
      get(playlists, `${path}?_HLS_msn=${msn}&_HLS_part=${part}${skip}`, 'playlist'),
      get(parts, `${base}${epoch}/${msn}.${part}.m4s`, 'part'),
    ]);
    next = playlist.status === 200 && media.status === 200 ? hint(playlist.body.toString()) : null;
  }
  playlists.close();
  parts.close();
}

async function staticListener(): Promise<void> {
  const a = new Connection();
  const b = new Connection();
  const path = target.pathname + target.search;
  while (Date.now() < deadline) {
    const started = Date.now();
    await Promise.all([get(a, path, 'static'), get(b, path, 'static')]);
    await new Promise((r) => setTimeout(r, Math.max(0, PART_MS - (Date.now() - started))));
  }
  a.close();
  b.close();
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
