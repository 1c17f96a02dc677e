import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';

describe('idempotency, rate limits, errors, OpenAPI, health', () => {
  let t: TestApp;
  let p: TestPartner;
  before(async () => {
    t = await startApp({ env: { RATE_LIMIT_PER_MINUTE: '40' } });
    p = await createPartner(t, 'Platform');
  });
  after(() => t.close());

  test('Idempotency-Key: a retry with the same body gets the first answer; another body is a 409; the talk exists once', async () => {
    const headers = { 'idempotency-key': 'create-talk-1' };
    const first = await api(t, 'POST', '/api/p/talk', { token: p.token, headers, json: { name: 'Once' } });
    const retry = await api(t, 'POST', '/api/p/talk', { token: p.token, headers, json: { name: 'Once' } });
    assert.equal(first.status, 200);
    assert.equal(retry.status, 200);
    assert.deepEqual(retry.body, first.body);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    const other = await api(t, 'POST', '/api/p/talk', { token: p.token, headers, json: { name: 'Different' } });
    assert.equal(other.status, 409);
    assert.equal(other.body.error.code, 'idempotency_conflict');
    const all = await api(t, 'GET', '/api/v1/partners/talks', { token: p.token });
    assert.equal(all.body.talks.filter((x: { name: string }) => x.name === 'Once').length, 1);
    // Keys are per partner: another partner may use the same key.
    const q = await createPartner(t, 'Other keys');
    const theirs = await api(t, 'POST', '/api/p/talk', { token: q.token, headers, json: { name: 'Once' } });
    assert.equal(theirs.status, 200);
    assert.notEqual(theirs.body.talk.id, first.body.talk.id);
  });

  test('Idempotency-Key: the same key on another resource is a 409, not the first answer replayed, and that resource is left as it was', async () => {
    const [a, b] = await Promise.all(['A', 'B'].map(async (name) => (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name } })).body.talk));
    const headers = { 'idempotency-key': 'end-it' };
    const endA = await api(t, 'POST', `/api/v1/partners/talks/${a.id}/end`, { token: p.token, headers });
    assert.equal(endA.status, 200);
    const endB = await api(t, 'POST', `/api/v1/partners/talks/${b.id}/end`, { token: p.token, headers });
    assert.equal(endB.status, 409, JSON.stringify(endB.body));
    assert.equal(endB.body.error.code, 'idempotency_conflict');
    const stillB = await api(t, 'GET', `/api/v1/partners/talks?talk_id=${b.id}`, { token: p.token });
    assert.notEqual(stillB.body.talks[0].status, endA.body.talk.status, 'B was not ended');
    assert.equal((await api(t, 'POST', `/api/v1/partners/talks/${b.id}/end`, { token: p.token, headers: { 'idempotency-key': 'end-b' } })).status, 200);
  });

  test('Idempotency-Key: a stored answer is sealed at rest and replayed only to the caller that got it', async () => {
    const headers = { 'idempotency-key': 'hook-1' };
    const json = { url: 'https://hooks.example.test/smalltalk', events: ['talk_join'] };
    const first = await api(t, 'POST', '/api/v1/partners/webhooks', { token: p.token, headers, json });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const secret: string = first.body.webhook.secret;
    assert.ok(secret, 'the answer holds the signing secret');
    const row = await t.services.db.db.selectFrom('idempotency_keys').selectAll().where('key', '=', 'hook-1').executeTakeFirstOrThrow();
    assert.match(row.response ?? '', /^sealed:v1:/);
    assert.equal((row.response ?? '').includes(secret), false, 'the secret is not stored in the clear');
    const retry = await api(t, 'POST', '/api/v1/partners/webhooks', { token: p.token, headers, json });
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(retry.body, first.body);
    // Another token of the same partner sending the same key and body is not handed the answer.
    const other = (await t.services.accounts.createToken(p.partnerId, 'another', p.userId)).token;
    const theirs = await api(t, 'POST', '/api/v1/partners/webhooks', { token: other, headers, json });
    assert.equal(theirs.status, 409);
    assert.equal(theirs.body.error.code, 'idempotency_conflict');
    assert.equal(JSON.stringify(theirs.body).includes(secret), false);
  });

  test('Idempotency-Key also replays a 4xx answer rather than running the request again', async () => {
    const headers = { 'idempotency-key': 'bad-talk' };
    const first = await api(t, 'POST', '/api/p/talk', { token: p.token, headers, json: { name: '' } });
    const retry = await api(t, 'POST', '/api/p/talk', { token: p.token, headers, json: { name: '' } });
    assert.equal(first.status, 400);
    assert.equal(retry.status, 400);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
  });

  test('errors: bad JSON is 400 bad_request, an unsupported content type 415, a huge body 413, an unknown route 404; all in the envelope', async () => {
    const badJson = await api(t, 'POST', '/api/p/talk', { token: p.token, contentType: 'application/json', body: '{"name": ' });
    assert.equal(badJson.status, 400);
    assert.equal(badJson.body.error.code, 'bad_request');
    const xml = await api(t, 'POST', '/api/p/talk', { token: p.token, contentType: 'application/xml', body: '<talk/>' });
    assert.equal(xml.status, 415);
    assert.equal(xml.body.error.code, 'unsupported_media_type');
    const huge = await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'x', description: 'y'.repeat(2 * 1024 * 1024) } });
    assert.equal(huge.status, 413);
    assert.equal(huge.body.error.code, 'payload_too_large');
    const nowhere = await api(t, 'GET', '/api/v1/partners/nothing-here', { token: p.token });
    assert.equal(nowhere.status, 404);
    assert.equal(nowhere.body.error.code, 'not_found');
    for (const res of [badJson, xml, huge, nowhere]) {
      assert.deepEqual(Object.keys(res.body), ['error']);
      assert.equal(res.body.error.request_id, res.headers.get('x-request-id'));
    }
  });

  test('rate limit per token: 429 with Retry-After in the error envelope; other tokens are unaffected', async () => {
    const q = await createPartner(t, 'Busy');
    let limited: Awaited<ReturnType<typeof api<any>>> | undefined;
    for (let i = 0; i < 45 && !limited; i++) {
      const res = await api(t, 'GET', '/api/v1/partners/groups', { token: q.token });
      if (res.status === 429) limited = res;
      else assert.equal(res.status, 200);
    }
    assert.ok(limited, 'the 41st request of the minute is limited');
    assert.equal(limited.body.error.code, 'rate_limited');
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    assert.equal((await api(t, 'GET', '/api/v1/partners/groups', { token: p.token })).status, 200);
  });

  test('the OpenAPI document lists every documented endpoint and the docs UI is served', async () => {
    const doc = await api(t, 'GET', '/openapi.json');
    assert.equal(doc.status, 200);
    assert.equal(doc.body.openapi, '3.1.0');
    const paths = doc.body.paths as Record<string, Record<string, unknown>>;
    for (const [path, method] of [
      ['/api/p/talk', 'post'],
      ['/api/v1/partners/talks', 'get'],
      ['/api/v1/partners/recordings', 'get'],
      ['/api/v1/partners/groups', 'post'],
      ['/api/v1/partners/groups', 'get'],
      ['/api/v1/partners/group_talks', 'put'],
      ['/api/v1/partners/group_talks', 'get'],
      ['/api/v1/partners/group_talks', 'delete'],
      ['/api/v1/partners/themes', 'post'],
      ['/api/v1/auth/signup', 'post'],
    ]) {
      assert.ok(paths[path]?.[method], `${method.toUpperCase()} ${path} is documented`);
    }
    const create = paths['/api/p/talk'].post as { requestBody: { content: Record<string, { schema: { required: string[] } }> } };
    assert.deepEqual(create.requestBody.content['application/json'].schema.required, ['name']);
    const ui = await fetch(`${t.url}/docs/`);
    assert.equal(ui.status, 200);
    assert.match(await ui.text(), /swagger/i);
  });

  test('every operation has a unique operationId and a tag, the text exports declare their media type, and Redocly lints the document clean', async () => {
    const doc = await api(t, 'GET', '/openapi.json');
    const ids = new Map<string, string>();
    for (const [path, methods] of Object.entries(doc.body.paths as Record<string, Record<string, { operationId?: string; tags?: string[] }>>)) {
      for (const [method, op] of Object.entries(methods)) {
        const where = `${method.toUpperCase()} ${path}`;
        assert.match(op.operationId ?? '', /^[a-z][A-Za-z]+$/, `${where} has a camelCase operationId`);
        assert.ok(!ids.has(op.operationId!), `${where} and ${ids.get(op.operationId!)} share ${op.operationId}`);
        ids.set(op.operationId!, where);
        assert.ok(op.tags?.length, `${where} has a tag`);
      }
    }
    assert.equal(ids.get('createTalk'), 'POST /api/p/talk');
    const vtt = doc.body.paths['/api/v1/partners/recordings/{id}/transcript.vtt'].get.responses['200'];
    assert.ok(vtt.content['text/vtt'], 'the VTT export is declared as text/vtt');

    // Redocly's recommended rules with warnings as errors (redocly.yaml); offline, no telemetry.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'smalltalk-openapi-'));
    const file = path.join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(doc.body));
    const lint = spawnSync(process.execPath, [path.resolve('node_modules/@redocly/cli/bin/cli.js'), 'lint', '--config', path.resolve('redocly.yaml'), file], {
      encoding: 'utf8',
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
    });
    assert.equal(lint.status, 0, `redocly lint failed:\n${lint.stdout}\n${lint.stderr}`);
    // recommended-strict makes every rule an error, so a clean exit means no problem of any level.
    assert.match(`${lint.stdout}${lint.stderr}`, /Your API description is valid/);
  });

  test('health and readiness', async () => {
    assert.equal((await api(t, 'GET', '/healthz')).body.status, 'ok');
    assert.equal((await api(t, 'GET', '/readyz')).body.status, 'ready');
  });

  test('the short URL serves a page with the talk in its title and preview tags, escaped', async () => {
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Q&A <live>', description: 'Bring "questions"' } })).body.talk;
    const res = await fetch(talk.short_url);
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /<title>Q&amp;A &lt;live&gt;/);
    assert.match(html, /property="og:title" content="Q&amp;A &lt;live&gt;"/);
    assert.match(html, /Bring &quot;questions&quot;/);
    assert.equal((await fetch(`${t.url}/t/doesnotexist`)).status, 404);
  });
});
