/**
 * Reads the partner API document (`../shared/smalltalk-api.txt`, beside the checkout) as it is:
 * its endpoints with their curl examples and sample responses, and its webhook samples. The
 * document is prose pasted from a website: smart quotes, keys quoted by halves, closing braces
 * missing. The parser reads it leniently (nesting from indentation) but throws on a line it cannot
 * read, so a change in the document fails the contract tests instead of being skipped.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const docPath = path.resolve(import.meta.dirname, '..', '..', '..', 'shared', 'smalltalk-api.txt');

/** A value as a sample shows it: its type, and for objects and arrays what they hold. */
export type Sample =
  | { type: 'string'; value: string }
  | { type: 'number'; value: number }
  | { type: 'boolean'; value: boolean }
  | { type: 'null' }
  /** fields null: the document elides the object's keys (`{(…transcription data}}`, or an empty `{`). */
  | { type: 'object'; fields: Record<string, Sample> | null }
  | { type: 'array'; items: Sample[] };

export interface DocParam {
  name: string;
  value: string;
  optional: boolean;
}

export interface DocRequest {
  method: string;
  /** The URL's path (the document's host dropped). */
  path: string;
  /** `-d` pairs of a `curl -G`: the query string. */
  query: DocParam[];
  headers: [string, string][];
  /** `-d $'{…'`: a JSON body; `-d "k=v"`: form fields. */
  body: { kind: 'json'; value: Record<string, unknown> } | { kind: 'form'; fields: DocParam[] } | null;
}

export interface DocEndpoint {
  title: string;
  method: string;
  path: string;
  /** "METHOD /path" */
  key: string;
  request: DocRequest;
  response: Sample & { type: 'object' };
}

export interface DocWebhook {
  event: string;
  sample: Sample & { type: 'object' };
}

export interface ApiDoc {
  endpoints: DocEndpoint[];
  webhooks: DocWebhook[];
}

/** Smart quotes as the plain ones they stand for. */
function plainQuotes(text: string): string {
  return text.replace(/[“”]/g, '"').replace(/[‘’]/g, "'");
}

const methodLine = /^\s*(GET|POST|PUT|PATCH|DELETE) (\/\S+)\s*$/;

export function loadApiDoc(file = docPath): ApiDoc {
  return parseApiDoc(readFileSync(file, 'utf8'));
}

export function parseApiDoc(text: string): ApiDoc {
  const lines = text.split('\n');
  const endpoints: DocEndpoint[] = [];
  const webhooks: DocWebhook[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = methodLine.exec(lines[i]);
    if (m) {
      const [, method, route] = m;
      let title = '';
      for (let j = i - 1; j >= 0 && !title; j--) if (lines[j].trim() && !methodLine.test(lines[j])) title = lines[j].trim();
      const curlStart = lines.findIndex((l, j) => j > i && /\bcurl\s/.test(l));
      const sampleAt = lines.findIndex((l, j) => j > i && /^Sample response:\s*$/.test(l.trim()));
      const next = lines.findIndex((l, j) => j > i && methodLine.test(l));
      if (curlStart < 0 || sampleAt < 0 || curlStart > sampleAt || (next > 0 && sampleAt > next)) {
        throw new Error(`${method} ${route} (line ${i + 1}): no curl example and sample response before the next endpoint`);
      }
      const curl = lines.slice(curlStart, sampleAt).join('\n');
      const request = parseCurl(curl.slice(curl.search(/\bcurl\s/)));
      if (request.method !== method || request.path !== route) {
        throw new Error(`${method} ${route}: its curl example sends ${request.method} ${request.path}`);
      }
      const response = parseSample(sampleLines(lines, sampleAt));
      endpoints.push({ title, method, path: route, key: `${method} ${route}`, request, response });
      continue;
    }
    const w = /^Sample (\w+)( webhook)?:\s*$/.exec(lines[i].trim());
    if (w && w[1] !== 'response') webhooks.push({ event: w[1], sample: parseSample(sampleLines(lines, i)) });
  }
  return { endpoints, webhooks };
}

/** The sample after a "Sample …:" line: the lines up to the first blank one after it. */
function sampleLines(lines: string[], headingAt: number): string[] {
  let i = headingAt + 1;
  while (i < lines.length && !lines[i].trim()) i++;
  const out: string[] = [];
  for (; i < lines.length && lines[i].trim(); i++) out.push(lines[i]);
  return out;
}

/** A curl example as the request it makes: method, path, query (`-G`), headers, body. */
export function parseCurl(source: string): DocRequest {
  const text = plainQuotes(source).replace(/\\\n/g, '\n');
  const explicit = /-X\s+"?([A-Z]+)"?/.exec(text);
  const get = /\s-G\s/.test(`${text} `);
  const url = /["']?(https?:\/\/[^\s"']+)["']?/.exec(text);
  if (!url) throw new Error(`a curl example without a URL: ${source}`);
  const headers: [string, string][] = [];
  for (const h of text.matchAll(/-H\s+'([^']*)'/g)) {
    const at = h[1].indexOf(':');
    headers.push([h[1].slice(0, at).trim(), h[1].slice(at + 1).trim()]);
  }
  const fields: DocParam[] = [];
  let json: Record<string, unknown> | null = null;
  const data = /-d\s+(?:\$'([\s\S]*)$|"([^"]*)"|'([^']*)')(\s*\(\s*(optional|required)[^)]*\))?/g;
  for (const d of text.matchAll(data)) {
    if (d[1] !== undefined) {
      json = toValue(parseSample(d[1].split('\n').filter((l) => l.trim() !== '{' && l.trim()))) as Record<string, unknown>;
      break;
    }
    const pair = d[2] ?? d[3];
    const at = pair.indexOf('=');
    if (at < 0) throw new Error(`a -d that is not name=value: ${pair}`);
    fields.push({ name: pair.slice(0, at), value: pair.slice(at + 1), optional: d[5] === 'optional' });
  }
  const method = explicit ? explicit[1] : get ? 'GET' : fields.length || json ? 'POST' : 'GET';
  const query = get ? fields : [];
  const body = json ? { kind: 'json' as const, value: json } : !get && fields.length ? { kind: 'form' as const, fields } : null;
  return { method, path: new URL(url[1]).pathname, query, headers, body };
}

interface Open {
  sample: Sample & ({ type: 'object' } | { type: 'array' });
  /** The indentation of its first child line: a line indented less closes it. */
  childIndent: number | null;
  /** An array's element being filled (a repeated key starts the next). */
  element?: Record<string, Sample>;
}

/**
 * A sample written as JSON lines without its braces: one `key: value` per line; `{`, `[{` or `[`
 * at the end of a line opens an object, an array of objects or an array whose objects are given
 * key by key (a repeated key starts the next one). What a container holds is the lines indented
 * at least as far as its first one. `"error"` is always the envelope's own key: one sample
 * (GET group_talks) indents it under its last list.
 */
export function parseSample(lines: string[]): Sample & { type: 'object' } {
  const root: Sample & { type: 'object' } = { type: 'object', fields: {} };
  const stack: Open[] = [{ sample: root, childIndent: null }];
  const fieldsOf = (open: Open): Record<string, Sample> => {
    if (open.sample.type === 'object') {
      open.sample.fields ??= {};
      return open.sample.fields;
    }
    return open.element as Record<string, Sample>;
  };
  for (const raw of lines) {
    const line = plainQuotes(raw).replace(/\s+$/, '');
    if (!line.trim()) continue;
    const indent = line.length - line.trimStart().length;
    if (/^[\]}],?$/.test(line.trim())) {
      if (stack.length > 1) stack.pop();
      continue;
    }
    const m = /^\s*([\w"']+)\s*:\s*(.*)$/.exec(line);
    if (!m) throw new Error(`a sample line that is not "key: value": ${raw}`);
    const key = m[1].replace(/["']/g, '');
    if (key === 'error') stack.length = 1;
    while (stack.length > 1) {
      const top = stack[stack.length - 1];
      if (top.childIndent !== null && indent < top.childIndent) stack.pop();
      else break;
    }
    const top = stack[stack.length - 1];
    top.childIndent ??= indent;
    if (top.sample.type === 'array') {
      if (!top.element || key in top.element) {
        top.element = {};
        top.sample.items.push({ type: 'object', fields: top.element });
      }
    }
    const value = m[2].trim().replace(/,$/, '').trim();
    const fields = fieldsOf(top);
    if (value === '{') {
      const obj: Sample & { type: 'object' } = { type: 'object', fields: null };
      fields[key] = obj;
      stack.push({ sample: obj, childIndent: null });
    } else if (value === '[{' || value === '[') {
      const arr: Sample & { type: 'array' } = { type: 'array', items: [] };
      fields[key] = arr;
      const open: Open = { sample: arr, childIndent: null };
      if (value === '[{') {
        open.element = {};
        arr.items.push({ type: 'object', fields: open.element });
      }
      stack.push(open);
    } else {
      fields[key] = scalar(value, raw);
    }
  }
  return root;
}

function scalar(value: string, raw: string): Sample {
  const q = value[0];
  if ((q === '"' || q === "'") && value.lastIndexOf(q) > 0) return { type: 'string', value: value.slice(1, value.lastIndexOf(q)) };
  if (value === 'null') return { type: 'null' };
  if (value === 'true' || value === 'false') return { type: 'boolean', value: value === 'true' };
  if (/^-?\d+(\.\d+)?$/.test(value)) return { type: 'number', value: Number(value) };
  // `{(…transcription data}}`: an object whose keys the document leaves out.
  if (value.startsWith('{')) return { type: 'object', fields: null };
  throw new Error(`a sample value this parser cannot read: ${raw}`);
}

/** A sample as the plain value it shows (a request body). */
export function toValue(sample: Sample): unknown {
  switch (sample.type) {
    case 'null':
      return null;
    case 'object':
      return Object.fromEntries(Object.entries(sample.fields ?? {}).map(([k, v]) => [k, toValue(v)]));
    case 'array':
      return sample.items.map(toValue);
    default:
      return sample.value;
  }
}

/** A JSON value's type in the sample's terms. */
export function typeOf(value: unknown): Sample['type'] {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  const t = typeof value;
  if (t === 'string' || t === 'number' || t === 'boolean' || t === 'object') return t;
  throw new Error(`not a JSON value: ${String(value)}`);
}

/** Keys that the document does not show but we send, each with why it is there. */
export type Extensions = Record<string, string>;

export interface ShapeRules {
  /** The extra keys allowed in the object at a path ("" the root, "talks[]" the elements of talks). */
  extensions(path: string): Extensions;
  /** Keys the document shows elsewhere for the same resource (one talk shape on every endpoint). */
  documentedElsewhere?(path: string): Set<string>;
  /** Paths (`talk.start_time`) where null may stand for the sample's value, and why. */
  nullable?(path: string): string | undefined;
  /** Every extension key met (to list the ones that are never sent). */
  seen?: Set<string>;
}

const isoTime = /^\d{4}-\d\d-\d\dT\d\d:\d\d/;

/**
 * Where `actual` differs from the sample: a documented key missing, a key neither documented nor
 * a listed extension, a type other than the sample's, an empty list (its elements unchecked), a
 * time or URL that is not one. Returns the problems, one line each.
 */
export function shapeProblems(sample: Sample, actual: unknown, rules: ShapeRules, at = ''): string[] {
  const where = at || '(root)';
  const problems: string[] = [];
  const actualType = typeOf(actual);
  if (actualType !== sample.type) {
    const why = actualType === 'null' ? rules.nullable?.(at) : undefined;
    if (!why) problems.push(`${where}: ${actualType} ${JSON.stringify(actual)?.slice(0, 80)}, the document shows ${sample.type}`);
    return problems;
  }
  if (sample.type === 'string') {
    const value = actual as string;
    if (isoTime.test(sample.value) && !(isoTime.test(value) && Number.isFinite(Date.parse(value)))) {
      problems.push(`${where}: ${JSON.stringify(value)} is not a date-time like the document's ${sample.value}`);
    }
    if (/^https?:\/\//.test(sample.value) && !/^https?:\/\//.test(value)) problems.push(`${where}: ${JSON.stringify(value)} is not a URL like the document's`);
  }
  if (sample.type === 'array') {
    const items = actual as unknown[];
    if (items.length === 0) problems.push(`${where}: empty, so its elements are not checked (the fixtures must fill it)`);
    const fields: Record<string, Sample> = {};
    let elided = false;
    for (const item of sample.items) {
      if (item.type !== 'object') return [...problems, `${where}: the document's list holds ${item.type}s, which this test does not check`];
      if (item.fields === null) elided = true;
      else for (const [k, v] of Object.entries(item.fields)) fields[k] ??= v;
    }
    const element: Sample = { type: 'object', fields: elided ? null : fields };
    for (const item of items) problems.push(...shapeProblems(element, item, rules, `${at}[]`));
    return [...new Set(problems)];
  }
  if (sample.type === 'object' && sample.fields) {
    const obj = actual as Record<string, unknown>;
    const extensions = rules.extensions(at);
    const elsewhere = rules.documentedElsewhere?.(at) ?? new Set<string>();
    for (const key of Object.keys(sample.fields)) {
      if (!(key in obj)) problems.push(`${at ? `${at}.` : ''}${key}: missing (the document shows it)`);
      else problems.push(...shapeProblems(sample.fields[key], obj[key], rules, at ? `${at}.${key}` : key));
    }
    for (const key of Object.keys(obj)) {
      if (key in sample.fields || elsewhere.has(key)) continue;
      if (key in extensions) rules.seen?.add(`${at}.${key}`);
      else problems.push(`${at ? `${at}.` : ''}${key}: sent, but neither in the document nor a listed extension`);
    }
  }
  return problems;
}

/** The keys a resource has across every sample that shows it, by the name it goes under. */
export function keysByResource(doc: ApiDoc, resourceOf: (endpoint: DocEndpoint, path: string) => string | undefined): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const visit = (endpoint: DocEndpoint, sample: Sample, at: string) => {
    if (sample.type === 'array') for (const item of sample.items) visit(endpoint, item, `${at}[]`);
    if (sample.type !== 'object' || !sample.fields) return;
    const resource = resourceOf(endpoint, at);
    if (resource) {
      const keys = out.get(resource) ?? new Set<string>();
      for (const k of Object.keys(sample.fields)) keys.add(k);
      out.set(resource, keys);
    }
    for (const [k, v] of Object.entries(sample.fields)) visit(endpoint, v, at ? `${at}.${k}` : k);
  };
  for (const e of doc.endpoints) visit(e, e.response, '');
  return out;
}
