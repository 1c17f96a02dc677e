import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { errorCatalogue } from '../../src/platform/errors.js';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';

/** The one error shape: a catalogue code with its status, a message, a request id (also in the header). */
function assertEnvelope(res: { status: number; headers: Headers; body: any }, status: number, code?: string) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  const error = res.body?.error;
  assert.ok(error && typeof error === 'object', `an error envelope, got ${JSON.stringify(res.body)}`);
  assert.equal(typeof error.message, 'string');
  assert.ok(error.code in errorCatalogue, `${error.code} is in the catalogue`);
  assert.equal(errorCatalogue[error.code as keyof typeof errorCatalogue], status);
  if (code) assert.equal(error.code, code);
  assert.match(error.request_id, /^[\w.-]{1,64}$/);
  assert.equal(res.headers.get('x-request-id'), error.request_id);
}

/** Raw bytes over a socket: for requests fetch refuses to send (over-long lines and headers). */
async function rawRequest(url: string, request: string): Promise<{ status: number; headers: Headers; body: any }> {
  const { hostname, port } = new URL(url);
  const text = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.end(request));
    let data = '';
    socket.on('data', (chunk) => {
      data += chunk;
    });
    socket.on('end', () => resolve(data));
    socket.on('close', () => resolve(data));
    socket.on('error', (error) => (data ? resolve(data) : reject(error)));
  });
  const [head, body] = [text.slice(0, text.indexOf('\r\n\r\n')), text.slice(text.indexOf('\r\n\r\n') + 4)];
  const [statusLine, ...headerLines] = head.split('\r\n');
  const headers = new Headers(headerLines.map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()] as [string, string]));
  return { status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(body) };
}

describe('hostile values are 400s in our envelope, never 500s', () => {
  let t: TestApp;
  let p: TestPartner;
  let shortPath: string;
  let talkId: string;
  before(async () => {
    t = await startApp({ background: false });
    p = await createPartner(t, 'Target');
    const talk = await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'open talk', subscriptions_allowed: true } });
    talkId = talk.body.talk.id;
    shortPath = new URL(talk.body.talk.short_url).pathname;
  });
  after(() => t.close());

  const nul = 'a\u0000b';
  test('a NUL byte in a text field: a partner call, sign-up, and the public subscribe form without any token', async () => {
    assertEnvelope(await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: nul } }), 400, 'validation_failed');
    assertEnvelope(await api(t, 'POST', '/api/p/talk', { token: p.token, body: 'name=a%00b' }), 400, 'validation_failed');
    assertEnvelope(await api(t, 'PUT', `/api/v1/partners/talks/${talkId}`, { token: p.token, json: { description: nul } }), 400);
    assertEnvelope(await api(t, 'GET', `/api/v1/partners/talks?q=${encodeURIComponent(nul)}`, { token: p.token }), 400);
    const signUp = { email: 'nul@example.test', password: 'long enough password', name: nul };
    const res = await api(t, 'POST', '/api/v1/auth/signup', { json: signUp });
    assertEnvelope(res, 400, 'validation_failed');
    assert.equal(res.body.error.field, 'name');
    assertEnvelope(await api(t, 'POST', `${shortPath}/subscribe`, { json: { email: 'a@example.test', name: nul } }), 400, 'validation_failed');
    assertEnvelope(await api(t, 'POST', '/t/a%00b/subscribe', { json: { email: 'a@example.test' } }), 400, 'validation_failed');
    // A NUL in a field name too (jsonb refuses it as a key).
    assertEnvelope(await api(t, 'POST', '/api/p/talk', { token: p.token, body: '{"name":"x","a\\u0000":1}', contentType: 'application/json' }), 400);
    // The talk is unchanged and the server still fine.
    const talk = await api(t, 'GET', `/api/v1/partners/talks/${talkId}`, { token: p.token });
    assert.equal(talk.body.talk.description, null);
  });

  test('sign-up with keys the schema does not name (id, created_at, constructor): ignored, not written, not a 500', async () => {
    const forged = '00000000-0000-4000-8000-000000000001';
    const res = await api(t, 'POST', '/api/v1/auth/signup', {
      json: {
        email: 'extra-keys@example.com',
        password: 'correct horse battery',
        name: 'Extra',
        id: forged,
        created_at: '2001-01-01T00:00:00Z',
        constructor: 'x',
      },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const user = await t.services.db.db.selectFrom('users').selectAll().where('email', '=', 'extra-keys@example.com').executeTakeFirstOrThrow();
    assert.notEqual(user.id, forged, 'the id is ours, not the client’s');
    assert.ok(new Date(user.created_at).getFullYear() > 2001, 'created_at is ours');
  });

  test('lone surrogates and invalid UTF-8 in a body', async () => {
    const json = (text: string) => ({ token: p.token, body: text, contentType: 'application/json' });
    assertEnvelope(await api(t, 'POST', '/api/p/talk', json('{"name":"a\\ud800b"}')), 400, 'validation_failed');
    assertEnvelope(await api(t, 'POST', '/api/p/talk', json('{"name":"a\\udc00"}')), 400, 'validation_failed');
    // A pair is text (an emoji) and goes through.
    const emoji = await api(t, 'POST', '/api/p/talk', json('{"name":"a\\ud83d\\ude00"}'));
    assert.equal(emoji.status, 200);
    assert.equal(emoji.body.talk.name, 'a\u{1F600}');
    for (const contentType of ['application/json', 'text/plain']) {
      const bytes = Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]);
      const res = await fetch(`${t.url}/api/p/talk`, {
        method: 'POST',
        headers: { authorization: `Bearer ${p.token}`, 'content-type': contentType },
        body: bytes,
      });
      assertEnvelope({ status: res.status, headers: res.headers, body: await res.json() }, 400, 'bad_request');
    }
  });

  test('a body nested deeper than any of ours', async () => {
    const deep = `{"name":"x","theme":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`;
    assertEnvelope(await api(t, 'POST', '/api/p/talk', { token: p.token, body: deep, contentType: 'application/json' }), 400, 'validation_failed');
  });

  test('limit=Infinity, -Infinity, 1e309, 1.5, huge numbers: 400 on every list of the API document', async () => {
    const doc = (await api(t, 'GET', '/openapi.json')).body as { paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>> };
    const lists = Object.entries(doc.paths)
      .filter(([, ops]) => ops.get?.parameters?.some((param) => param.name === 'limit' && param.in === 'query'))
      .map(([path]) => path.replace(/\{[^}]+\}/g, talkId));
    assert.ok(lists.length >= 5, `lists found: ${lists.join(', ')}`);
    for (const path of lists) {
      for (const limit of ['Infinity', '-Infinity', '1e309', '-1e309', '1.5', '1e20', '99999999999999999999999', 'NaN', '0', '-1']) {
        assertEnvelope(await api(t, 'GET', `${path}?limit=${encodeURIComponent(limit)}`, { token: p.token }), 400, 'validation_failed');
      }
    }
  });

  test('a malformed URL, an over-long path parameter, an over-long URL, huge headers: our envelope with a request id', async () => {
    const get = async (path: string, headers: Record<string, string> = {}) => {
      const res = await fetch(`${t.url}${path}`, { headers: { authorization: `Bearer ${p.token}`, ...headers } });
      return { status: res.status, headers: res.headers, body: await res.json() };
    };
    assertEnvelope(await get('/api/v1/partners/talks/%E0%A4%A'), 400, 'bad_request');
    assertEnvelope(await get('/t/%E0%A4%A/calendar.ics'), 400, 'bad_request');
    const bad = await get('/api/v1/partners/talks/%E0%A4%A', { 'x-request-id': 'client-chosen-id' });
    assert.equal(bad.body.error.request_id, 'client-chosen-id');
    assertEnvelope(await get(`/api/v1/partners/talks/${'a'.repeat(500)}`), 414, 'uri_too_long');
    const longLine = await rawRequest(t.url, `GET /api/v1/partners/talks?q=${'a'.repeat(70_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    assertEnvelope(longLine, 431, 'headers_too_large');
    const hugeHeader = await rawRequest(t.url, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(40_000)}\r\n\r\n`);
    assertEnvelope(hugeHeader, 431, 'headers_too_large');
    const notHttp = await rawRequest(t.url, 'NOT HTTP AT ALL\r\n\r\n');
    assertEnvelope(notHttp, 400, 'bad_request');
    // And the server goes on answering.
    assert.equal((await api(t, 'GET', '/healthz')).status, 200);
  });
});
