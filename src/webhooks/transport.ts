import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

/** What one HTTP attempt gave. `statusCode` is null when no response came (network error, timeout, refusal). */
export interface AttemptResult {
  statusCode: number | null;
  latencyMs: number;
  /** The first 1 KiB of the response body. */
  responseBody: string | null;
  error: string | null;
  /** Retry-After, when the receiver sent one, in milliseconds. */
  retryAfterMs: number | null;
  /** The URL was refused before any connection (SSRF guard, scheme). */
  refused: boolean;
}

export interface TransportOptions {
  timeoutMs: number;
  allowPrivate: boolean;
  allowHttp: boolean;
}

const RESPONSE_KEEP = 1024;
const RESPONSE_READ_LIMIT = 64 * 1024;

/**
 * Addresses a webhook must never reach unless the operator allows private URLs: loopback,
 * private, carrier-grade NAT, link-local (cloud metadata 169.254.169.254 included), multicast,
 * reserved, and their IPv6 equivalents (fd00:ec2::254 is in fc00::/7).
 */
const blocked = new net.BlockList();
for (const [net4, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(net4, prefix, 'ipv4');
}
for (const [net6, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['2001:db8::', 32],
] as const) {
  blocked.addSubnet(net6, prefix, 'ipv6');
}

/** True when `address` (an IP literal) is one webhooks must not reach. */
export function isBlockedAddress(address: string): boolean {
  const bare = address.replace(/%.*$/, '');
  const family = net.isIP(bare);
  if (family === 0) return true;
  if (family === 4) return blocked.check(bare, 'ipv4');
  if (blocked.check(bare, 'ipv6')) return true;
  const bytes = ipv6Bytes(bare);
  if (!bytes) return true;
  return embeddedIpv4(bytes).some((v4) => blocked.check(v4, 'ipv4'));
}

/**
 * The IPv4 addresses an IPv6 address carries, which a host or relay may route to: IPv4-compatible
 * (::a.b.c.d, which `::7f00:1` is), IPv4-mapped (::ffff:a.b.c.d) and -translated
 * (::ffff:0:a.b.c.d), NAT64 (64:ff9b::/96; blocked whole above anyway), 6to4 (2002::/16, the 32
 * bits after the prefix) and Teredo (2001::/32: the server, and the client stored inverted).
 */
function embeddedIpv4(b: number[]): string[] {
  const v4 = (at: number, invert = 0) => [0, 1, 2, 3].map((i) => (b[at + i] ^ invert) & 0xff).join('.');
  const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  const found: string[] = [];
  if (zeros(0, 10) && ((b[10] === 0 && b[11] === 0) || (b[10] === 0xff && b[11] === 0xff))) found.push(v4(12));
  if (zeros(0, 8) && b[8] === 0xff && b[9] === 0xff && b[10] === 0 && b[11] === 0) found.push(v4(12));
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b) found.push(v4(12));
  if (b[0] === 0x20 && b[1] === 0x02) found.push(v4(2));
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0 && b[3] === 0) found.push(v4(4), v4(12, 0xff));
  return found;
}

/** The 16 bytes of an IPv6 literal (`::` and a dotted IPv4 tail expanded), or null if it is not one. */
function ipv6Bytes(address: string): number[] | null {
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [p, q, r, s] = dotted.slice(1).map(Number);
    text = `${text.slice(0, dotted.index)}${((p << 8) | q).toString(16)}:${((r << 8) | s).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const fill = 8 - head.length - tail.length;
  if (halves.length === 1 ? fill !== 0 : fill < 0) return null;
  const groups = [...head, ...Array(halves.length === 2 ? fill : 0).fill('0'), ...tail];
  const bytes: number[] = [];
  for (const group of groups) {
    if (!/^[0-9a-f]{1,4}$/.test(group)) return null;
    const value = Number.parseInt(group, 16);
    bytes.push(value >> 8, value & 0xff);
  }
  return bytes;
}

export class RefusedUrlError extends Error {}

/**
 * The connection's own DNS lookup: every resolved address is checked, and the socket connects
 * to the checked address, so a rebinding DNS answer cannot slip a private address in later.
 */
function guardedLookup(hostname: string, options: dns.LookupOptions, callback: (...args: unknown[]) => void) {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err);
    const list = addresses as dns.LookupAddress[];
    const bad = list.find((a) => isBlockedAddress(a.address));
    if (bad || list.length === 0) {
      return callback(new RefusedUrlError(`refused: ${hostname} resolves to ${bad?.address ?? 'nothing'}, a private, loopback or link-local address`));
    }
    if (options.all) return callback(null, list);
    return callback(null, list[0].address, list[0].family);
  });
}

const agents = {
  open: { http: new http.Agent({ keepAlive: true, maxSockets: 256 }), https: new https.Agent({ keepAlive: true, maxSockets: 256 }) },
  guarded: {
    http: new http.Agent({ keepAlive: true, maxSockets: 256, lookup: guardedLookup } as http.AgentOptions),
    https: new https.Agent({ keepAlive: true, maxSockets: 256, lookup: guardedLookup } as https.AgentOptions),
  },
};

/** Checks what can be checked without DNS: scheme, credentials, and IP literals. Returns the problem or null. */
export function urlProblem(raw: string, options: Pick<TransportOptions, 'allowHttp' | 'allowPrivate'>): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'url is not a valid absolute URL';
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && options.allowHttp)) {
    return options.allowHttp ? 'url must be http or https' : 'url must be https';
  }
  if (url.username || url.password) return 'url must not carry credentials';
  if (!options.allowPrivate) {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (net.isIP(host) && isBlockedAddress(host)) return `url points to ${host}, a private, loopback or link-local address`;
  }
  return null;
}

/** Parses Retry-After (seconds or an HTTP date) into milliseconds from now. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** POSTs one signed payload, with the SSRF guard, the timeout, and a bounded read of the answer. */
export function postWebhook(rawUrl: string, headers: Record<string, string>, payload: string, options: TransportOptions): Promise<AttemptResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const problem = urlProblem(rawUrl, options);
  if (problem) {
    return Promise.resolve({ statusCode: null, latencyMs: 0, responseBody: null, error: `refused: ${problem}`, retryAfterMs: null, refused: true });
  }
  const url = new URL(rawUrl);
  const lib = url.protocol === 'https:' ? https : http;
  const pool = options.allowPrivate ? agents.open : agents.guarded;
  const agent = url.protocol === 'https:' ? pool.https : pool.http;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: Omit<AttemptResult, 'latencyMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...result, latencyMs: elapsed() });
    };
    const req = lib.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'user-agent': 'smalltalk-webhooks/1' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < RESPONSE_KEEP) chunks.push(chunk);
          size += chunk.length;
          if (size > RESPONSE_READ_LIMIT) res.destroy();
        });
        const done = () =>
          finish({
            statusCode: res.statusCode ?? null,
            responseBody: Buffer.concat(chunks).subarray(0, RESPONSE_KEEP).toString('utf8'),
            error: null,
            retryAfterMs: parseRetryAfter(res.headers['retry-after']),
            refused: false,
          });
        res.on('end', done);
        res.on('close', done);
        res.on('error', done);
      },
    );
    const timer = setTimeout(() => {
      finish({ statusCode: null, responseBody: null, error: `timed out after ${options.timeoutMs} ms`, retryAfterMs: null, refused: false });
      req.destroy();
    }, options.timeoutMs);
    req.on('error', (err) => {
      const refused = err instanceof RefusedUrlError;
      finish({
        statusCode: null,
        responseBody: null,
        error: refused ? err.message : `${(err as NodeJS.ErrnoException).code ?? 'error'}: ${err.message}`,
        retryAfterMs: null,
        refused,
      });
    });
    req.end(payload);
  });
}
