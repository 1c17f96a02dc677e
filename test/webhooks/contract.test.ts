/**
 * The API document's webhook samples (`../shared/smalltalk-api.txt`) against bodies really
 * delivered to a real HTTP receiver, each caused the real way: a partner member joining a talk's
 * room (talk_join); a talk recorded, transcribed and captioned from real speech sent as RTP
 * (recording_saved, transcription_ready, next_caption). Each delivery must have exactly the
 * sample's keys, recursively, plus the envelope and extensions docs/webhooks.md documents, with the
 * sample's value types. The document's recording_saved and transcription_ready samples show an
 * empty body; docs/webhooks.md says what they hold, and that is what is checked for them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Sample, type ShapeRules, loadApiDoc, shapeProblems } from '../api/contract-doc.js';
import { recordingExtensions, transcriptionReadyKeys, webhookBodyExtensions } from '../api/contract-extensions.js';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';
import { joinRoom } from '../support/room.js';
import { RtpTestRoom, speaker, speech, withPauses } from '../recording/media.js';
import { type Received, Receiver } from './receiver.js';

const doc = loadApiDoc();
const webhooksMd = readFileSync(path.resolve(import.meta.dirname, '..', '..', 'docs', 'webhooks.md'), 'utf8');

/** The keys of every delivery, as docs/webhooks.md writes its body ("Every request body is: ..."). */
function envelopeKeys(): string[] {
  const m = /Every request body is:\s*```json\n(.*)\n```/.exec(webhooksMd);
  assert.ok(m, 'docs/webhooks.md shows the request body');
  return Object.keys(JSON.parse(m[1].replace('{ ... }', '{}')));
}

/** docs/webhooks.md's table row for an event. */
function docsRow(event: string): string {
  const row = webhooksMd.split('\n').find((l) => l.startsWith(`| \`${event}\` |`));
  assert.ok(row, `docs/webhooks.md has a row for ${event}`);
  return row;
}

/** The list item of an endpoint's sample, e.g. a recording as GET /api/v1/partners/recordings shows it. */
function listItemSample(route: string): Sample & { type: 'object' } {
  const endpoint = doc.endpoints.find((e) => e.key === `GET ${route}`);
  assert.ok(endpoint, `the document has GET ${route}`);
  const list = Object.values(endpoint.response.fields ?? {}).find((s) => s.type === 'array');
  assert.ok(list?.type === 'array' && list.items[0]?.type === 'object');
  return list.items[0] as Sample & { type: 'object' };
}

/**
 * The sample a delivery of `event` is held to, and the rules: the document's sample; where its body
 * is empty, what docs/webhooks.md says the body is (recording_saved: "the recording exactly as `GET
 * /api/v1/partners/recordings` shows it"; transcription_ready: its three keys, the transcription as
 * that endpoint's sample shows one).
 */
function expectation(event: string): { sample: Sample & { type: 'object' }; rules: ShapeRules; required: string[] } {
  const docSample = doc.webhooks.find((w) => w.event === event);
  assert.ok(docSample, `the document has a ${event} sample`);
  const sample = structuredClone(docSample.sample);
  const fields = sample.fields as Record<string, Sample>;
  const envelope = Object.fromEntries(envelopeKeys().map((k) => [k, 'docs/webhooks.md: every request body has it']));
  let bodyExtensions = webhookBodyExtensions[event] ?? {};
  let nullable: ShapeRules['nullable'];
  const required: string[] = [];
  const body = fields.body;
  assert.ok(body?.type === 'object', `the ${event} sample has a body`);
  if (body.fields === null) {
    const row = docsRow(event);
    if (event === 'recording_saved') {
      const route = /`GET (\/api\/\S+)`/.exec(row)?.[1];
      assert.ok(route, 'docs/webhooks.md names the endpoint recording_saved shows the recording as');
      fields.body = listItemSample(route);
      bodyExtensions = recordingExtensions;
      nullable = (at) => (at === 'body.transcription' ? 'saved before it is transcribed: transcription_ready brings the transcript' : undefined);
    } else if (event === 'transcription_ready') {
      const transcription = listItemSample('/api/v1/partners/recordings').fields?.transcription;
      assert.ok(transcription);
      fields.body = { type: 'object', fields: { transcription } };
      bodyExtensions = transcriptionReadyKeys;
      required.push(...Object.keys(transcriptionReadyKeys).map((k) => `body.${k}`));
    } else {
      assert.fail(`the document's ${event} sample shows no body keys, and this test does not know what it holds`);
    }
  }
  // Every extension is documented: named in the event's row of docs/webhooks.md (recording_saved's
  // are the recording's, which test/api/contract.test.ts finds declared in /openapi.json; its row names talk_id).
  const named = bodyExtensions === recordingExtensions ? ['talk_id'] : Object.keys(bodyExtensions);
  for (const key of named) {
    assert.match(docsRow(event), new RegExp(`\`[^\`]*\\b${key}\\b[^\`]*\``), `docs/webhooks.md documents ${event}'s ${key}`);
  }
  const rules: ShapeRules = { extensions: (at) => (at === '' ? envelope : at === 'body' ? bodyExtensions : {}), nullable };
  return { sample, rules, required };
}

/** Holds one delivery to the document: event_name as its sample says, the shape, the keys docs/webhooks.md requires. */
function checkDelivery(event: string, got: Received) {
  const { sample, rules, required } = expectation(event);
  const shown = sample.fields?.event_name;
  if (shown?.type === 'string') assert.equal(got.json.event_name, shown.value);
  assert.equal(got.json.event_name, event);
  assert.deepEqual(shapeProblems(sample, got.json, rules), [], `${event} delivered ${got.body.slice(0, 2000)}`);
  for (const key of required) assert.ok(key.slice(5) in got.json.body, `${event}: ${key} is missing`);
  // The envelope is exactly docs/webhooks.md's.
  assert.deepEqual(Object.keys(got.json).sort(), envelopeKeys().sort());
}

async function addHook(t: TestApp, p: TestPartner, receiver: Receiver, events: string[]) {
  const res = await api(t, 'POST', '/api/v1/partners/webhooks', { token: p.token, json: { url: `${receiver.url}/hook`, events } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

describe('webhook samples: talk_join delivered when a member joins', () => {
  let t: TestApp;
  const receiver = new Receiver();
  before(async () => {
    await receiver.start();
    t = await startApp();
  });
  after(async () => {
    await t?.close();
    await receiver.close();
  });

  test('talk_join: the body of a partner member with a username and a photo joining the room', async () => {
    // The sample's joiner has a user id, a username, a photo and no uid of the partner's: a member of the organization.
    const email = `member-${Date.now()}@example.test`;
    const password = 'correct horse battery staple';
    const user = await t.services.accounts.signUp({
      email,
      password,
      name: 'Matt Hamilton',
      username: 'eartothenoise',
      photo_url: 'https://example.test/avatars/matt.jpg',
    });
    const partner = await t.services.accounts.createPartner(user.id, 'Noise');
    const token = await t.services.accounts.createToken(partner.id, 'test', user.id);
    const p: TestPartner = { userId: user.id, partnerId: partner.id, token: token.token, email, password };
    await addHook(t, p, receiver, ['talk_join']);
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Join me' } })).body.talk;
    const login = await api(t, 'POST', '/api/v1/auth/login', { json: { email, password } });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    const session = login.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .find((c) => c.startsWith('st_session='));
    assert.ok(session);
    const { socket } = await joinRoom(talk.short_url, {}, { cookie: session });
    try {
      await receiver.until((r) => r.some((x) => x.json.event_name === 'talk_join'), 'talk_join');
    } finally {
      socket.close();
    }
    const got = receiver.received.find((x) => x.json.event_name === 'talk_join') as Received;
    checkDelivery('talk_join', got);
    assert.deepEqual(got.json.body, {
      user_id: user.id,
      username: 'eartothenoise',
      photo_url: 'https://example.test/avatars/matt.jpg',
      name: 'Matt Hamilton',
      uid: null,
      talk_id: talk.id,
    });
  });
});

describe('webhook samples: recording_saved, transcription_ready and next_caption from a recorded talk', () => {
  let t: TestApp;
  let p: TestPartner;
  const room = new RtpTestRoom();
  const receiver = new Receiver();
  let wav: string;
  before(async () => {
    const lines = ['Welcome everyone to our weekly talk about the garden.', 'Today we will plant tomatoes and water the young trees.'];
    wav = await withPauses(await Promise.all(lines.map(speech)), 1.5, path.join(os.tmpdir(), `st-contract-${process.pid}.wav`));
    await receiver.start();
    // The room stands in for WebRTC (test/recording/media.ts): real RTP from real speech to the recorder and the captioner.
    t = await startApp({ background: false, live: room });
    const { startBackground } = await import('../../src/compose.js');
    await startBackground(t.services);
    p = await createPartner(t, 'Recorded');
    await addHook(t, p, receiver, ['recording_saved', 'transcription_ready', 'next_caption']);
  });
  after(async () => {
    await t?.close();
    await receiver.close();
  });

  test('each delivered body is the sample (or, for an empty sample, what docs/webhooks.md says)', async () => {
    const created = await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Garden hour' } });
    const talk = await t.services.talks.repo.get(p.partnerId, created.body.talk.id);
    assert.ok(talk);
    room.voice('host-w', wav);
    await room.talkStarted(talk);
    // The sample's captioner has an avatar and a username.
    await room.speakerStarted(talk.id, { ...speaker('host-w', 'Hana Host', 'hana', p.userId), photoUrl: 'https://example.test/avatars/hana.jpg' });
    await room.finished('host-w');
    await room.talkStopped(talk.id);
    const of = (event: string) => receiver.received.filter((x) => x.json.event_name === event && (x.json.body.talk_id ?? x.json.body.talkId) === talk.id);
    // On the shared 2-core machine the decoders can lag the audio by a minute or more.
    await receiver.until(() => ['next_caption', 'recording_saved', 'transcription_ready'].every((e) => of(e).length > 0), 'all three events', 300_000);

    const caption = of('next_caption')[0];
    checkDelivery('next_caption', caption);
    assert.equal(caption.json.body.fullname, 'Hana Host');
    assert.equal(caption.json.body.avatar_url, 'https://example.test/avatars/hana.jpg');

    const saved = of('recording_saved')[0];
    checkDelivery('recording_saved', saved);
    // "The recording exactly as GET /api/v1/partners/recordings shows it": the same keys.
    const listed = await api(t, 'GET', `/api/v1/partners/recordings?talk_id=${talk.id}`, { token: p.token });
    assert.equal(listed.body.recordings.length, 1);
    assert.deepEqual(Object.keys(saved.json.body).sort(), Object.keys(listed.body.recordings[0]).sort());
    assert.equal(saved.json.body.id, listed.body.recordings[0].id);

    const ready = of('transcription_ready')[0];
    checkDelivery('transcription_ready', ready);
    assert.equal(ready.json.body.recording_id, saved.json.body.id);
    assert.deepEqual(
      ready.json.body.transcription,
      (await api(t, 'GET', `/api/v1/partners/recordings/${saved.json.body.id}`, { token: p.token })).body.recording.transcription,
    );
  });
});
