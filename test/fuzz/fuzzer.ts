import { errorCatalogue } from '../../src/platform/errors.js';
import { Prng } from '../support/seed.js';

/**
 * A schema-driven HTTP fuzzer for the running app: it reads `/openapi.json`, and for every operation
 * sends requests built from the operation's own schemas, most of them hostile (wrong types, bounds,
 * NUL and lone surrogates, invalid UTF-8, huge and deeply nested bodies, wrong content types,
 * traversal strings, another partner's ids), under every identity (none, a token, a dashboard
 * session, another partner's credentials). It checks every answer: no 5xx, and every 4xx in our
 * envelope with a catalogue code matching its status. Used by test/fuzz/openapi.test.ts (short)
 * and bench/fuzz/run.ts (long).
 */

// Schemas as the OpenAPI document has them; only what the generator reads.
interface Schema {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  format?: string;
  pattern?: string;
}

export interface Operation {
  method: string;
  /** With `{name}` placeholders. */
  path: string;
  pathParams: string[];
  query: { name: string; schema: Schema }[];
  body?: Schema;
}

/** Who sends a request: the headers it adds (a session adds its CSRF header on unsafe methods). */
export interface Identity {
  label: string;
  headers(method: string): Record<string, string>;
  /** Ids (another partner's) that must never appear in a 2xx answer of the API to this identity. */
  mustNotSee?: string[];
}

/** Ids the fuzzer puts in paths, queries and bodies: the caller's own, and another partner's. */
export interface IdPool {
  own: string[];
  other: string[];
}

/** Pages and files the OpenAPI document hides, fuzzed too. */
const hiddenOperations: Operation[] = [
  { method: 'GET', path: '/t/{code}', pathParams: ['code'], query: [] },
  { method: 'GET', path: '/t/{code}/calendar.ics', pathParams: ['code'], query: [] },
  {
    method: 'POST',
    path: '/t/{code}/subscribe',
    pathParams: ['code'],
    query: [],
    body: { type: 'object', required: ['email'], properties: { email: { type: 'string', format: 'email' }, name: { type: 'string', maxLength: 60 } } },
  },
  { method: 'GET', path: '/t/by-id/{id}', pathParams: ['id'], query: [] },
  { method: 'GET', path: '/files/recordings/{id}/{file}', pathParams: ['id', 'file'], query: [{ name: 'expires', schema: { type: 'integer' } }] },
];

/** Every operation of the document (and the hidden public ones). */
export function operations(doc: { paths: Record<string, Record<string, any>> }): Operation[] {
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const params = (op.parameters ?? []) as { name: string; in: string; schema: Schema }[];
      ops.push({
        method: method.toUpperCase(),
        path,
        pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
        query: params.filter((p) => p.in === 'query').map((p) => ({ name: p.name, schema: p.schema ?? {} })),
        body: op.requestBody?.content?.['application/json']?.schema,
      });
    }
  }
  return [...ops, ...hiddenOperations];
}

/** A JSON token JSON.stringify cannot make (1e309, -0, 1e-400), spliced into the body text. */
class RawJson {
  constructor(readonly text: string) {}
}

const traversal = ['../../../../etc/passwd', '..%2f..%2f..%2fetc%2fpasswd', '..\\..\\windows\\win.ini', '/etc/passwd', '%2e%2e/%2e%2e/', '....//....//'];
const nasty = [
  'a\u0000b',
  '\u0000',
  'x\ud800y',
  '\udfff',
  '\ud83d',
  "' or 1=1 --",
  '"; drop table talks; --',
  '<script>alert(1)</script>',
  '{{7*7}}${7*7}',
  '\u202e\u2066evil',
  '%00',
  '%',
  '%E0%A4%A',
  '\r\nX-Injected: 1',
  'Infinity',
  '-Infinity',
  'NaN',
  '1e309',
  '9'.repeat(400),
  '',
  ' ',
  '🙂'.repeat(300),
  ...traversal,
];
const hostileNumbers = [new RawJson('1e309'), new RawJson('-1e309'), new RawJson('1e-400'), new RawJson('-0'), 1.5, -1, 0, 2 ** 53 + 2, -(2 ** 63), 1e300];
/** Percent-encoding that also carries lone surrogates (as the CESU-8 bytes a broken client sends). */
function pct(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return text
      .split(/([\ud800-\udfff])/)
      .map((part) => (/^[\ud800-\udfff]$/.test(part) ? '%ED%A0%80' : encodeURIComponent(part)))
      .join('');
  }
}

const hostileDates = ['+275760-09-13T00:00:00.001Z', '-271821-04-20T00:00:00.000Z', '9999-99-99T99:99:99Z', '2021-02-30T00:00:00Z', 'yesterday', '0', '1e309'];

export class RequestMaker {
  constructor(
    private readonly rng: Prng,
    private readonly components: Record<string, Schema>,
  ) {}

  private resolve(schema: Schema | undefined): Schema {
    let s = schema ?? {};
    for (let i = 0; s.$ref && i < 10; i++) s = this.components[s.$ref.split('/').pop() as string] ?? {};
    return s;
  }

  /** A value the schema accepts (as far as a generator without ajv can tell). */
  valid(schema: Schema | undefined, ids: IdPool, depth = 0): unknown {
    const s = this.resolve(schema);
    const r = this.rng;
    if (s.const !== undefined) return s.const;
    if (s.enum) return r.pick(s.enum);
    const variants = s.anyOf ?? s.oneOf;
    if (variants) return this.valid(r.pick(variants), ids, depth + 1);
    const type = Array.isArray(s.type) ? r.pick(s.type) : s.type;
    switch (type) {
      case 'null':
        return null;
      case 'boolean':
        return r.chance(0.5);
      case 'integer':
      case 'number': {
        const min = s.minimum ?? 0;
        const max = s.maximum ?? min + 100;
        const n = min + r.next() * (max - min);
        return type === 'integer' ? Math.round(n) : n;
      }
      case 'array':
        return depth > 4 ? [] : Array.from({ length: r.int(3) }, () => this.valid(s.items, ids, depth + 1));
      case 'object':
      case undefined: {
        if (!s.properties) return type === 'object' ? {} : r.pick(['x', 1, true]);
        const out: Record<string, unknown> = {};
        for (const [name, prop] of Object.entries(s.properties)) {
          if (s.required?.includes(name) || r.chance(0.5)) out[name] = depth > 4 ? null : this.valid(prop, ids, depth + 1);
        }
        return out;
      }
      default:
        return this.validString(s, ids);
    }
  }

  private validString(s: Schema, ids: IdPool): string {
    const r = this.rng;
    if (s.format === 'email') return `fuzz${r.int(1e6)}@example.test`;
    if (s.format === 'date-time') return new Date(Date.now() + (r.int(1000) - 500) * 3_600_000).toISOString();
    if (s.format === 'uri' || s.pattern?.startsWith('^https?')) return `https://example.test/${r.int(1000)}`;
    if (r.chance(0.3) && ids.own.length > 0) return r.pick(ids.own);
    const length = Math.max(s.minLength ?? 1, Math.min(s.maxLength ?? 12, 12));
    return Array.from({ length }, () => 'abcdefghijklmnop'[r.int(16)]).join('');
  }

  /** A value the schema should refuse, or one that tests what lies behind it. */
  hostile(schema: Schema | undefined, ids: IdPool): unknown {
    const s = this.resolve(schema);
    const r = this.rng;
    switch (r.int(9)) {
      case 0:
        return r.pick(nasty);
      case 1:
        return r.pick(hostileNumbers);
      case 2:
        return r.pick([null, true, false, [], {}, [1, 'a'], { a: { b: 1 } }, 'true', '1', ['x']]);
      case 3:
        return 'x'.repeat(Math.max((s.maxLength ?? 200) + 1, r.pick([1, 1000, 70_000])));
      case 4:
        return typeof s.minimum === 'number' || typeof s.maximum === 'number'
          ? r.pick([(s.minimum ?? 0) - 1, (s.maximum ?? 1e6) + 1, new RawJson(`${s.maximum ?? 1}e400`)])
          : r.pick(hostileDates);
      case 5:
        return ids.other.length > 0 ? r.pick(ids.other) : 'other';
      case 6:
        return r.pick(traversal);
      case 7:
        return this.deep(r.pick([40, 500, 5000]));
      default:
        return crypto.randomUUID();
    }
  }

  /** Nesting as JSON text (building it as objects would overflow the stack of JSON.stringify). */
  private deep(levels: number): RawJson {
    const array = this.rng.chance(0.5);
    return new RawJson(`${(array ? '[' : '{"a":').repeat(levels)}1${(array ? ']' : '}').repeat(levels)}`);
  }

  /** A path segment: an id of the caller's, another partner's, a fresh UUID, or hostile text (percent-encoded or raw). */
  private pathValue(name: string, ids: IdPool): string {
    const r = this.rng;
    const roll = r.next();
    if (name === 'file') return r.pick(['audio.webm', 'mixed.ogg', '..%2f..%2fetc%2fpasswd', '%2e%2e', 'x'.repeat(150), '%00']);
    if (roll < 0.45 && ids.own.length > 0) return r.pick(ids.own);
    if (roll < 0.65 && ids.other.length > 0) return r.pick(ids.other);
    if (roll < 0.75) return crypto.randomUUID();
    if (roll < 0.85) return r.pick(['%E0%A4%A', '%00', '%ff%fe', '..%2f..', '%2e%2e%2f%2e%2e', 'a%2Fb', `${'a'.repeat(120)}`, '%', '%zz']);
    return pct(String(r.pick(nasty)));
  }

  private queryString(op: Operation, ids: IdPool): string {
    const r = this.rng;
    const parts: string[] = [];
    for (const { name, schema } of op.query) {
      if (r.chance(0.5)) continue;
      const value = r.chance(0.5) ? this.valid(schema, ids) : this.hostile(schema, ids);
      const text = value instanceof RawJson ? value.text : typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
      parts.push(`${pct(name)}=${r.chance(0.1) ? text : pct(text)}`);
      if (r.chance(0.05)) parts.push(`${pct(name)}=${pct(text)}`);
    }
    if (r.chance(0.1)) parts.push(`${r.pick(['__proto__[x]', 'constructor', 'zzz', '%00'])}=${r.pick(['1', '%00', '%E0%A4%A'])}`);
    if (r.chance(0.03)) parts.push(`q=${'a'.repeat(20_000)}`);
    return parts.length > 0 ? `?${parts.join('&')}` : '';
  }

  /** JSON text of `value`, with RawJson tokens spliced in. */
  private json(value: unknown): string {
    const raws: string[] = [];
    const text = JSON.stringify(value, (_key, v) => {
      if (v instanceof RawJson) {
        raws.push(v.text);
        return `\u0001raw${raws.length - 1}\u0001`;
      }
      return v;
    });
    return (text ?? 'null').replace(/"\\u0001raw(\d+)\\u0001"/g, (_m, i) => raws[Number(i)]);
  }

  private bodyValue(op: Operation, ids: IdPool): unknown {
    const r = this.rng;
    const base = this.valid(op.body, ids) as Record<string, unknown>;
    if (!base || typeof base !== 'object' || Array.isArray(base)) return base;
    const props = Object.entries(this.resolve(op.body).properties ?? {});
    const mutations = r.chance(0.15) ? 0 : 1 + r.int(3);
    for (let i = 0; i < mutations && props.length > 0; i++) {
      const [name, prop] = r.pick(props);
      base[name] = this.hostile(prop, ids);
    }
    if (r.chance(0.1)) base[r.pick(['__proto__', 'constructor', 'extra', 'a\u0000b'])] = r.pick([{ polluted: true }, 1, 'x']);
    return base;
  }

  /** One request for `op`. */
  make(op: Operation, ids: IdPool): { method: string; path: string; headers: Record<string, string>; body?: string | Buffer; what: string } {
    const r = this.rng;
    let path = op.path;
    for (const name of op.pathParams) path = path.replace(`{${name}}`, this.pathValue(name, ids));
    path += this.queryString(op, ids);
    const headers: Record<string, string> = {};
    if (r.chance(0.05)) headers['idempotency-key'] = r.pick(['k1', 'x'.repeat(300), crypto.randomUUID()]);
    if (r.chance(0.05)) headers['if-none-match'] = r.pick(['*', 'W/"x"', '"', '']);
    if (r.chance(0.03)) headers['x-request-id'] = r.pick(['ok-id', 'x'.repeat(100), 'bad id!']);
    const sendsBody = op.body !== undefined || (op.method !== 'GET' && r.chance(0.2));
    if (!sendsBody) return { method: op.method, path, headers, what: 'no body' };
    const mode = r.int(19);
    if (mode < 11) {
      headers['content-type'] = 'application/json';
      return { method: op.method, path, headers, body: this.json(this.bodyValue(op, ids)), what: 'json' };
    }
    if (mode < 13) {
      const value = this.bodyValue(op, ids);
      const form = new URLSearchParams();
      for (const [k, v] of Object.entries(value && typeof value === 'object' ? value : { value }))
        form.append(k, typeof v === 'object' ? JSON.stringify(v) : String(v));
      headers['content-type'] = r.pick(['application/x-www-form-urlencoded', 'application/json', 'text/plain']);
      return { method: op.method, path, headers, body: form.toString(), what: `form as ${headers['content-type']}` };
    }
    if (mode === 13) {
      headers['content-type'] = r.pick(['application/json', 'text/plain; charset=utf-8']);
      const body = Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0xed, 0xa0, 0x80]), Buffer.from('","email":"a@b.test"}')]);
      return { method: op.method, path, headers, body, what: 'invalid UTF-8' };
    }
    if (mode === 14) {
      headers['content-type'] = 'application/json';
      const size = r.pick([900_000, 1_100_000, 3_000_000]);
      return { method: op.method, path, headers, body: `{"name":"${'n'.repeat(size)}"}`, what: `huge body (${size} bytes)` };
    }
    if (mode === 15) {
      headers['content-type'] = 'application/json';
      const n = r.pick([100, 10_000, 200_000]);
      return { method: op.method, path, headers, body: `${'['.repeat(n)}${']'.repeat(n)}`, what: `nesting ${n}` };
    }
    if (mode === 16) {
      headers['content-type'] = r.pick([
        'text/xml',
        'multipart/form-data; boundary=x',
        'application/octet-stream',
        'application/json; charset=latin1',
        'image/png',
        '*/*',
        'application/vnd.api+json',
      ]);
      return {
        method: op.method,
        path,
        headers,
        body: r.pick(['<a/>', '--x\r\n\r\n--x--', '\u0000\u0001', '{"name":"x"}']),
        what: `content type ${headers['content-type']}`,
      };
    }
    if (mode === 17) {
      headers['content-type'] = 'application/json';
      return {
        method: op.method,
        path,
        headers,
        body: r.pick(['{', '{"name":', 'nul', '[1,]', '"x"', '1e309', 'null', '[]', '{"name":"a"}{"name":"b"}', '\ufeff{"name":"bom"}']),
        what: 'broken JSON',
      };
    }
    return { method: op.method, path, headers, body: this.json(this.valid(op.body, ids)), what: 'valid json (no content type)' };
  }
}

/** What is wrong with an answer, or null: a 5xx, or a 4xx outside our envelope. */
export function problemWith(status: number, headers: Headers, text: string): string | null {
  if (status >= 500) return `status ${status}: ${text.slice(0, 300)}`;
  if (status < 400) return null;
  let body: { error?: { code?: string; message?: unknown; request_id?: unknown } };
  try {
    body = JSON.parse(text);
  } catch {
    return `status ${status} with a body that is not JSON: ${text.slice(0, 200)}`;
  }
  const error = body?.error;
  if (!error || typeof error !== 'object') return `status ${status} without an error envelope: ${text.slice(0, 200)}`;
  const code = error.code as keyof typeof errorCatalogue;
  if (!(code in errorCatalogue)) return `status ${status} with code ${code}, not in the catalogue`;
  if (errorCatalogue[code] !== status) return `status ${status} with code ${code}, which the catalogue gives ${errorCatalogue[code]}`;
  if (typeof error.message !== 'string' || !error.message) return `status ${status} without a message`;
  if (typeof error.request_id !== 'string' || !error.request_id) return `status ${status} without a request_id`;
  if (headers.get('x-request-id') !== error.request_id)
    return `status ${status}: X-Request-Id ${headers.get('x-request-id')} is not the body's ${error.request_id}`;
  return null;
}

export interface FuzzOptions {
  url: string;
  seed: number;
  requests: number;
  concurrency?: number;
  /** How long one request may take before it counts as a problem ("no answer"); default 15 s. */
  timeoutMs?: number;
  /** Who sends; called again (fresh credentials) when a probe finds the caller's own token or session gone. */
  identities: () => Promise<{ identities: Identity[]; ids: IdPool; alive: () => Promise<boolean> }>;
  /** Called every `every` requests (memory samples, progress), with the report so far. */
  onProgress?: (done: number, report: FuzzReport) => Promise<void> | void;
  /** Called on each problem as it is found (a long run shows them before it ends). */
  onProblem?: (problem: { request: string; problem: string }) => void;
  every?: number;
}

export interface FuzzReport {
  seed: number;
  requests: number;
  byStatus: Record<number, number>;
  byCode: Record<string, number>;
  problems: { request: string; problem: string }[];
  operations: number;
  reprovisioned: number;
  elapsedMs: number;
}

/** Sends `requests` fuzzed requests, round-robin over operations and identities; never throws on a bad answer. */
export async function fuzz(options: FuzzOptions): Promise<FuzzReport> {
  const started = performance.now();
  const rng = new Prng(options.seed);
  const doc = await (await fetch(`${options.url}/openapi.json`)).json();
  const ops = operations(doc);
  const maker = new RequestMaker(rng, doc.components?.schemas ?? {});
  let who = await options.identities();
  const report: FuzzReport = {
    seed: options.seed,
    requests: 0,
    byStatus: {},
    byCode: {},
    problems: [],
    operations: ops.length,
    reprovisioned: 0,
    elapsedMs: 0,
  };
  const every = options.every ?? 500;
  const found = (problem: { request: string; problem: string }) => {
    report.problems.push(problem);
    options.onProblem?.(problem);
  };
  let next = 0;
  let checking: Promise<void> | null = null;
  /** Another partner's ids a write of this run sent and had accepted (they may be stored as text). */
  const storedAsText = new Set<string>();
  const worker = async () => {
    for (;;) {
      if (checking) await checking;
      const n = next++;
      if (n >= options.requests) return;
      const op = ops[n % ops.length];
      const identity = who.identities[Math.floor(n / ops.length) % who.identities.length];
      const req = maker.make(op, who.ids);
      const label = `${identity.label} ${req.method} ${req.path.slice(0, 200)} [${req.what}]`;
      try {
        const res = await fetch(`${options.url}${req.path}`, {
          method: req.method,
          headers: { ...identity.headers(req.method), ...req.headers },
          body: typeof req.body === 'string' || req.body === undefined ? req.body : new Uint8Array(req.body),
          redirect: 'manual',
          signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
        });
        const text = await res.text();
        report.byStatus[res.status] = (report.byStatus[res.status] ?? 0) + 1;
        try {
          const code = JSON.parse(text)?.error?.code;
          if (code) report.byCode[code] = (report.byCode[code] ?? 0) + 1;
        } catch {
          // pages and files
        }
        const problem = problemWith(res.status, res.headers, text);
        if (problem) found({ request: label, problem });
        const sent = typeof req.body === 'string' ? req.body : '';
        if (res.status < 300 && req.path.startsWith('/api/')) {
          // An id the request itself sent in its body may come back as a value (a name, say); so
          // may one an earlier request stored as a name or description. Such an id is a leak only
          // where the answer gives it as an id (`id`, `talk_id`, `talk_ids`...).
          const leaked = identity.mustNotSee?.find((id) => text.includes(id) && !sent.includes(id) && (!storedAsText.has(id) || givenAsId(text, id)));
          if (leaked) found({ request: label, problem: `another partner's id ${leaked} in a ${res.status} answer` });
        }
        if (res.status < 300 && req.method !== 'GET') for (const id of identity.mustNotSee ?? []) if (sent.includes(id)) storedAsText.add(id);
      } catch (err) {
        // The client refusing to send (a header it finds invalid) is not the server's fault;
        // the server dropping the connection is.
        const cause = (err as { cause?: { code?: string } }).cause?.code ?? '';
        if (!/ERR_INVALID|UND_ERR_REQ_CONTENT_LENGTH_MISMATCH|ERR_INVALID_URL/.test(cause) && !(err instanceof TypeError && !cause)) {
          found({ request: label, problem: `no answer: ${(err as Error).message} ${cause}` });
        }
      }
      report.requests++;
      if ((n + 1) % every === 0 && !checking) {
        checking = (async () => {
          if (!(await who.alive())) {
            who = await options.identities();
            report.reprovisioned++;
          }
          report.elapsedMs = Math.round(performance.now() - started);
          await options.onProgress?.(n + 1, report);
        })().finally(() => {
          checking = null;
        });
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  report.elapsedMs = Math.round(performance.now() - started);
  return report;
}

/** Whether `id` is a value of an id field (`id`, `*_id`, `*_ids`) anywhere in a JSON answer. */
export function givenAsId(text: string, id: string): boolean {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return true; // not JSON: no field to tell it by, so count it
  }
  const walk = (value: unknown, key: string): boolean => {
    const idKey = /(^|_)ids?$/.test(key);
    if (typeof value === 'string') return idKey && value === id;
    if (Array.isArray(value)) return value.some((v) => walk(v, key));
    if (value && typeof value === 'object') return Object.entries(value).some(([k, v]) => walk(v, k));
    return false;
  };
  return walk(body, '');
}
