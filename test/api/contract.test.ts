/**
 * The partner API document (`../shared/smalltalk-api.txt`) as a test: for every endpoint it
 * lists, its curl example is sent to the real app as the document writes it (method, path, `-G`
 * query, the JSON or form body under the content type it names, the token as `Authorization`),
 * and the answer is held to its sample response: `error: null`, every key the sample shows, no key
 * that is neither in the document nor a listed extension (contract-extensions.ts), the sample's
 * value types. The document is read at test time, so an endpoint or key it gains fails here until
 * we serve it. The webhook samples are checked against real deliveries in test/webhooks/contract.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';
import { type DocEndpoint, type DocRequest, type Extensions, type ShapeRules, docPath, keysByResource, loadApiDoc, shapeProblems } from './contract-doc.js';
import { groupExtensions, listExtensions, recordingExtensions, talkExtensions, talkGroupExtensions } from './contract-extensions.js';

const doc = loadApiDoc();

/** Which resource an object in an answer is, by the key it goes under. */
const resourceByKey: Record<string, string> = {
  talk: 'talk',
  talks: 'talk',
  group: 'group',
  groups: 'group',
  talk_groups: 'talk_group',
  recordings: 'recording',
};
/** Answers whose root is the resource itself (the document's POST groups sample: the group's fields beside "error"). */
const rootResource: Record<string, string> = { 'POST /api/v1/partners/groups': 'group' };

const extensionsByResource: Record<string, Extensions> = {
  talk: talkExtensions,
  group: groupExtensions,
  talk_group: talkGroupExtensions,
  recording: recordingExtensions,
};
/** Keys beside "error" beyond the document's, by endpoint. */
const rootExtensions: Record<string, Extensions> = {
  'GET /api/v1/partners/talks': listExtensions,
  'GET /api/v1/partners/recordings': listExtensions,
  'GET /api/v1/partners/groups': listExtensions,
  'POST /api/v1/partners/groups': {
    ...groupExtensions,
    group: 'the same group under "group", as every other group endpoint answers it',
  },
};

function resourceOf(endpoint: Pick<DocEndpoint, 'key'>, at: string): string | undefined {
  if (at === '') return rootResource[endpoint.key];
  const last = (at.split('.').pop() as string).replace(/\[\]$/, '');
  return resourceByKey[last];
}

/** Every key the document shows for a resource, over all its samples. */
const documentedKeys = keysByResource(doc, resourceOf);

/** The curl example as sent: fixture values in place of the document's placeholder ids, our token for its. */
function requestOf(req: DocRequest, values: Record<string, string | string[]>, token: string, options: { optional: boolean }) {
  const value = (name: string, docValue: string): string => {
    const v = values[name];
    if (v === undefined) throw new Error(`the test has no value for the document's parameter ${name} (${docValue}) of ${req.method} ${req.path}`);
    if (!Array.isArray(v)) return v;
    // The document's list syntax, `[id, id]`, with as many ids as it shows.
    const shown = docValue.replace(/^\[|\]$/g, '').split(',').length;
    assert.equal(v.length, shown, `${name}: the fixture gives ${v.length} ids, the document ${shown}`);
    return `[${v.join(', ')}]`;
  };
  const query = req.query.filter((p) => options.optional || !p.optional).map((p) => `${p.name}=${value(p.name, p.value)}`);
  const headers: Record<string, string> = {};
  for (const [name, v] of req.headers) headers[name] = name.toLowerCase() === 'authorization' ? v.replace(/^Bearer\s+.*$/, `Bearer ${token}`) : v;
  let body: string | undefined;
  let sentJson: Record<string, unknown> | undefined;
  if (req.body?.kind === 'json') {
    sentJson = Object.fromEntries(Object.entries(req.body.value).map(([k, v]) => [k, k in values ? values[k] : v]));
    body = JSON.stringify(sentJson);
  } else if (req.body?.kind === 'form') {
    body = req.body.fields
      .filter((f) => options.optional || !f.optional)
      .map((f) => `${f.name}=${value(f.name, f.value)}`)
      .join('&');
  }
  return { method: req.method, path: `${req.path}${query.length ? `?${query.join('&')}` : ''}`, headers, body, sentJson };
}

// any: a JSON Schema document walked by key ($ref, properties, items), not typed here
type Openapi = { paths: Record<string, Record<string, any>>; components: { schemas: Record<string, any> } };

/** The property names /openapi.json declares for the object at `at` in an operation's 200 answer. */
function declaredKeys(openapi: Openapi, method: string, route: string, at: string): Set<string> {
  const resolve = (s: any): any => (s?.$ref ? resolve(openapi.components.schemas[s.$ref.split('/').pop()]) : s);
  let schema = resolve(openapi.paths[route]?.[method.toLowerCase()]?.responses?.['200']?.content?.['application/json']?.schema);
  for (const part of at ? at.split('.') : []) {
    const key = part.replace(/\[\]$/, '');
    schema = resolve(schema?.properties?.[key]);
    if (part.endsWith('[]')) schema = resolve(schema?.items);
  }
  return new Set(Object.keys(schema?.properties ?? {}));
}

/** What each endpoint needs to exist before its curl is sent, and what its answer must then say. */
// any: the answer's JSON, whose shape the contract check has just verified
type Fixture = { values: Record<string, string | string[]>; check?: (body: any) => void };

class Fixtures {
  constructor(
    readonly t: TestApp,
    readonly p: TestPartner,
  ) {}

  async theme() {
    const res = await api(this.t, 'POST', '/api/v1/partners/themes', { token: this.p.token, json: { name: 'Lunch colours' } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.theme.id as string;
  }

  /** A talk with the values the samples show: a start time, a description, a theme. */
  async talk(name: string) {
    const json = { name, start_time: new Date(Date.now() + 86400_000).toISOString(), description: 'Weekly lunch and learns', theme_id: await this.theme() };
    const res = await api(this.t, 'POST', '/api/p/talk', { token: this.p.token, json });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.talk.id as string;
  }

  async talks(n: number) {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push(await this.talk(`Talk ${i + 1}`));
    return ids;
  }

  async group(name: string, talkIds: string[] = []) {
    const res = await api(this.t, 'POST', '/api/v1/partners/groups', {
      token: this.p.token,
      json: { name, description: 'Weekly lunch and learns taking place', rank: 2.00000000000001, visible: true },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    if (talkIds.length) {
      const set = await api(this.t, 'PUT', '/api/v1/partners/group_talks', { token: this.p.token, json: { group_id: res.body.id, talk_ids: talkIds } });
      assert.equal(set.status, 200, JSON.stringify(set.body));
    }
    return res.body.id as string;
  }

  /** A saved recording with its transcription, as the recorder and the transcriber leave it (the row test/api/recordings.test.ts makes). */
  async recording(talkId: string) {
    return this.t.services.recordings.repo.insert(this.t.services.db.db, this.p.partnerId, {
      talk_id: talkId,
      file_name: '12345678.mp4',
      storage_key: `${talkId}/12345678.mp4`,
      status: 'ready',
      size: 41,
      duration: 12.5,
      start_time: new Date(Date.now() - 60_000),
      end_time: new Date(),
      created_by_id: this.p.userId,
      user_id: this.p.userId,
      transcription: JSON.stringify({
        text: 'hello world',
        language: 'en',
        engine: 'pocketsphinx',
        segments: [{ start: 0.5, end: 1.5, text: 'hello world', speaker: { user_id: this.p.userId, uid: null, username: 'hana', name: 'Hana Host' } }],
      }),
    });
  }
}

const ids = (rows: { [k: string]: unknown }[], key: string) => rows.map((r) => r[key] as string).sort();

const fixtures: Record<string, (f: Fixtures) => Promise<Fixture>> = {
  'POST /api/p/talk': async (f) => ({ values: { theme_id: await f.theme() } }),
  'GET /api/v1/partners/talks': async (f) => {
    const [talk] = await f.talks(3);
    return {
      values: { talk_id: talk },
      check: (body) => assert.ok(body.talks.length === 3 || (body.talks.length === 1 && body.talks[0].id === talk), 'talk_id picks that talk'),
    };
  },
  'GET /api/v1/partners/recordings': async (f) => {
    const [a, b] = await f.talks(2);
    const rec = await f.recording(a);
    await f.recording(b);
    return {
      values: { talk_id: a },
      check: (body) => {
        if (body.recordings.length === 1) assert.equal(body.recordings[0].id, rec.id, 'talk_id picks that talk');
        else assert.deepEqual(ids(body.recordings, 'talk_id'), [a, b].sort());
      },
    };
  },
  'POST /api/v1/partners/groups': async () => ({ values: {} }),
  'GET /api/v1/partners/groups': async (f) => {
    const groups = [await f.group('Lunch'), await f.group('Evening')];
    return { values: {}, check: (body) => assert.deepEqual(ids(body.groups, 'id'), groups.sort()) };
  },
  'PUT /api/v1/partners/group_talks': async (f) => {
    const talks = await f.talks(3);
    const group = await f.group('Doc curl', [talks[2]]);
    return {
      values: { group_id: group, talk_ids: talks.slice(0, 2) },
      check: (body) => {
        // PUT sets the group's talks to exactly talk_ids.
        assert.deepEqual(ids(body.talk_groups, 'talk_id'), talks.slice(0, 2).sort());
        for (const row of body.talk_groups) assert.deepEqual([row.group_id, row.partner_id], [group, f.p.partnerId]);
      },
    };
  },
  'GET /api/v1/partners/group_talks': async (f) => {
    const talks = await f.talks(2);
    const group = await f.group('With talks', talks);
    await f.group('Another');
    return {
      values: { group_id: group },
      check: (body) => {
        assert.equal(body.group.id, group);
        assert.equal(body.group.partner_id, f.p.partnerId);
        assert.deepEqual(ids(body.talks, 'id'), talks.sort());
      },
    };
  },
  'DELETE /api/v1/partners/group_talks': async (f) => {
    const talks = await f.talks(3);
    const group = await f.group('Removal', talks);
    return {
      values: { group_id: group, talk_ids: talks.slice(0, 2) },
      check: (body) => {
        // The answer is what remains in the group.
        assert.deepEqual(ids(body.talk_groups, 'talk_id'), [talks[2]]);
        for (const row of body.talk_groups) assert.deepEqual([row.group_id, row.partner_id], [group, f.p.partnerId]);
      },
    };
  },
};

describe('the API document as a contract', () => {
  let t: TestApp;
  let openapi: Openapi;
  const seen = new Set<string>();
  before(async () => {
    t = await startApp();
    openapi = (await api(t, 'GET', '/openapi.json')).body;
  });
  after(() => t?.close());

  test('the document reads whole: an endpoint for each sample response, every webhook sample', () => {
    const raw = readFileSync(docPath, 'utf8');
    const samples = (raw.match(/^Sample response:/gm) ?? []).length;
    assert.ok(samples > 0);
    assert.equal(doc.endpoints.length, samples, 'one endpoint per sample response');
    assert.equal(doc.webhooks.length, (raw.match(/^Sample \w+( webhook)?:/gm) ?? []).length - samples, 'every webhook sample');
  });

  for (const endpoint of doc.endpoints) {
    test(`${endpoint.key} (${endpoint.title}): the document's curl, answered as its sample`, async () => {
      const setup = fixtures[endpoint.key];
      assert.ok(setup, `the document has ${endpoint.key}, which this test has no fixture for: serve it and add one`);
      const p = await createPartner(t, endpoint.title);
      const f = new Fixtures(t, p);
      const { values, check } = await setup(f);
      const variants =
        endpoint.request.query.some((q) => q.optional) || (endpoint.request.body?.kind === 'form' && endpoint.request.body.fields.some((x) => x.optional))
          ? [true, false]
          : [true];
      for (const optional of variants) {
        const req = requestOf(endpoint.request, values, p.token, { optional });
        const res = await fetch(`${t.url}${req.path}`, { method: req.method, headers: req.headers, body: req.body });
        const text = await res.text();
        const what = `${req.method} ${req.path}${req.body ? ` with ${req.body}` : ''}`;
        assert.equal(res.status, 200, `${what}: ${text}`);
        assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
        const body = JSON.parse(text);
        assert.equal(body.error, null, 'error: null');
        const sentHere = new Set<string>();
        const empty = new Set(Object.entries(req.sentJson ?? {}).flatMap(([k, v]) => (v === '' ? [k] : [])));
        const rules: ShapeRules = {
          extensions: (at) => (at === '' ? (rootExtensions[endpoint.key] ?? {}) : (extensionsByResource[resourceOf(endpoint, at) ?? ''] ?? {})),
          documentedElsewhere: (at) => documentedKeys.get(resourceOf(endpoint, at) ?? '') ?? new Set(),
          nullable: (at) => (empty.has(at.split('.').pop() as string) ? "the document's request sends it as an empty string (not set)" : undefined),
          seen: sentHere,
        };
        const problems = shapeProblems(endpoint.response, body, rules);
        assert.deepEqual(problems, [], `${what} answered ${text.slice(0, 2000)}`);
        // Each extension we sent is declared in the API's own document (/openapi.json).
        for (const key of sentHere) {
          seen.add(key);
          const at = key.slice(0, key.lastIndexOf('.'));
          const name = key.slice(key.lastIndexOf('.') + 1);
          assert.ok(declaredKeys(openapi, endpoint.method, endpoint.path, at).has(name), `${endpoint.key}: ${key} is not declared in /openapi.json`);
        }
        // What the document's JSON request sets, the answer shows back (ids are the server's own).
        if (req.sentJson) {
          const resourceKey = Object.keys(endpoint.response.fields ?? {}).find((k) => resourceByKey[k]);
          const made = rootResource[endpoint.key] ? body : body[resourceKey as string];
          for (const [k, v] of Object.entries(req.sentJson)) {
            if (k === 'id' || !(k in made)) continue;
            assert.deepEqual(made[k], v === '' ? null : v, `${k}: sent ${JSON.stringify(v)}, answered ${JSON.stringify(made[k])}`);
          }
          if ('id' in req.sentJson) assert.notEqual(made.id, req.sentJson.id, "the document's id is not taken");
        }
        check?.(body);
        // The same check fails an answer that lost a documented key, gained an unlisted one, or
        // changed a documented value's type (so a pass above means something).
        const mutations = mutationsOf(endpoint, body);
        assert.equal(mutations.length, 3, 'the sample has a resource object to break');
        for (const [change, mutated] of mutations) {
          assert.notDeepEqual(shapeProblems(endpoint.response, mutated, { ...rules, seen: undefined }), [], `a check that misses ${change}`);
        }
      }
    });
  }

  test('every listed extension is one we send (the lists hold nothing stale)', () => {
    const sent = new Set([...seen].map((k) => k.slice(k.lastIndexOf('.') + 1)));
    const listed = [...Object.values(extensionsByResource), ...Object.values(rootExtensions)].flatMap((e) => Object.keys(e));
    assert.deepEqual(
      listed.filter((k) => !sent.has(k)),
      [],
    );
  });
});

/** The answer with one thing wrong, three ways: in its first resource object (or the root) a documented key gone, an unlisted key added, a documented key's value of another type. */
// any: the answer's JSON, edited by key
function mutationsOf(endpoint: DocEndpoint, body: Record<string, any>): [string, unknown][] {
  const out: [string, unknown][] = [];
  const resourceKey = rootResource[endpoint.key] ? undefined : Object.keys(endpoint.response.fields ?? {}).find((k) => resourceByKey[k]);
  const sampleOf = resourceKey ? endpoint.response.fields?.[resourceKey] : endpoint.response;
  const sampleObject = sampleOf?.type === 'array' ? sampleOf.items[0] : sampleOf;
  if (sampleObject?.type !== 'object' || !sampleObject.fields) return out;
  const documented = Object.keys(sampleObject.fields).filter((k) => k !== 'error');
  const target = (copy: Record<string, any>) => {
    if (!resourceKey) return copy;
    return Array.isArray(copy[resourceKey]) ? copy[resourceKey][0] : copy[resourceKey];
  };
  const variant = (change: string, edit: (obj: Record<string, any>) => void) => {
    const copy = structuredClone(body);
    edit(target(copy));
    out.push([change, copy]);
  };
  variant(`${documented[0]} removed`, (o) => delete o[documented[0]]);
  variant('an unlisted key added', (o) => {
    o.not_in_the_document = 1;
  });
  variant(`${documented[0]} of another type`, (o) => {
    o[documented[0]] = typeof o[documented[0]] === 'number' ? 'a string' : 12345;
  });
  return out;
}
