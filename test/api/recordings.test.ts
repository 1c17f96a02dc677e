import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';

describe('recordings endpoint', () => {
  let t: TestApp;
  let p: TestPartner;
  let talkA: string;
  let talkB: string;
  before(async () => {
    t = await startApp();
    p = await createPartner(t, 'Recorder');
    talkA = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'A' } })).body.talk.id;
    talkB = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'B' } })).body.talk.id;
  });
  after(() => t.close());

  async function insertRecording(talkId: string, fileName: string) {
    const key = `${talkId}/${fileName}`;
    const file = t.services.recordings.storage.localPath(key);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, Buffer.from('not really an mp4, but bytes to download'));
    return t.services.recordings.repo.insert(t.services.db.db, p.partnerId, {
      talk_id: talkId,
      file_name: fileName,
      storage_key: key,
      status: 'ready',
      size: 41,
      duration: 12.5,
      created_by_id: p.userId,
      user_id: p.userId,
      transcription: JSON.stringify({ text: 'hello world', language: 'en', engine: 'pocketsphinx', segments: [] }),
    });
  }

  test('lists recordings with the documented fields, filtered by talk_id from the query string', async () => {
    const a = await insertRecording(talkA, '12345678.mp4');
    await insertRecording(talkB, '87654321.mp4');
    const all = await api(t, 'GET', '/api/v1/partners/recordings', { token: p.token });
    assert.equal(all.status, 200);
    assert.equal(all.body.recordings.length, 2);
    const one = await api(t, 'GET', `/api/v1/partners/recordings?talk_id=${talkA}`, { token: p.token });
    assert.equal(one.body.recordings.length, 1);
    const rec = one.body.recordings[0];
    for (const field of [
      'id',
      'created_at',
      'start_time',
      'file_name',
      'share_permission',
      'created_by_id',
      'user_id',
      'transcription',
      'talk_id',
      'duration',
      'size',
      'url',
    ]) {
      assert.ok(field in rec, field);
    }
    assert.equal(rec.id, a.id);
    assert.equal(rec.file_name, '12345678.mp4');
    assert.equal(rec.share_permission, 'private');
    assert.equal(rec.transcription.text, 'hello world');
    assert.equal(one.body.error, null);
  });

  test('a private recording downloads only through its signed URL; a forged or expired one is 404; public has a plain link', async () => {
    const rec = await insertRecording(talkA, '11112222.mp4');
    const json = (await api(t, 'GET', `/api/v1/partners/recordings/${rec.id}`, { token: p.token })).body.recording;
    const ok = await fetch(json.url);
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'not really an mp4, but bytes to download');
    const url = new URL(json.url);
    const forged = new URL(url);
    forged.searchParams.set('sig', 'AAAA');
    assert.equal((await fetch(forged)).status, 404);
    const expired = new URL(url);
    expired.searchParams.set('expires', String(Math.floor(Date.now() / 1000) - 10));
    assert.equal((await fetch(expired)).status, 404);
    const bare = new URL(url);
    bare.search = '';
    assert.equal((await fetch(bare)).status, 404);
    const made = await api(t, 'PATCH', `/api/v1/partners/recordings/${rec.id}`, { token: p.token, json: { share_permission: 'public' } });
    assert.equal(made.body.recording.share_permission, 'public');
    assert.equal(new URL(made.body.recording.url).search, '');
    assert.equal((await fetch(made.body.recording.url)).status, 200);
    const bad = await api(t, 'PATCH', `/api/v1/partners/recordings/${rec.id}`, { token: p.token, json: { share_permission: 'everyone' } });
    assert.equal(bad.status, 400);
  });

  test('DELETE removes the row and the file', async () => {
    const rec = await insertRecording(talkB, '33334444.mp4');
    const url = (await api(t, 'GET', `/api/v1/partners/recordings/${rec.id}`, { token: p.token })).body.recording.url;
    const res = await api(t, 'DELETE', `/api/v1/partners/recordings/${rec.id}`, { token: p.token });
    assert.equal(res.status, 200);
    assert.equal((await api(t, 'GET', `/api/v1/partners/recordings/${rec.id}`, { token: p.token })).status, 404);
    assert.equal(await t.services.recordings.storage.size(rec.storage_key), null);
    assert.equal((await fetch(url)).status, 404);
  });

  test("deleting a talk deletes its recordings' files too (its rows go by cascade), not another talk's or partner's", async () => {
    const doomed = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Doomed' } })).body.talk.id;
    const rec = await insertRecording(doomed, '55556666.mp4');
    const track = `${doomed}/track-1.m4a`;
    await writeFile(t.services.recordings.storage.localPath(track), Buffer.from('a track'));
    const trackRow = { participant_id: 'x', user_id: null, uid: null, name: 'Sam', username: null, storage_key: track, file_name: 'track-1.m4a', offset: 0 };
    await t.services.recordings.repo.update(p.partnerId, rec.id, { tracks: [trackRow] as never });
    const kept = await insertRecording(talkA, '77778888.mp4');
    // Another partner naming this talk deletes nothing.
    const q = await createPartner(t, 'Not theirs');
    assert.equal((await api(t, 'DELETE', `/api/v1/partners/talks/${doomed}`, { token: q.token })).status, 404);
    assert.notEqual(await t.services.recordings.storage.size(rec.storage_key), null);
    assert.equal((await api(t, 'DELETE', `/api/v1/partners/talks/${doomed}`, { token: p.token })).status, 200);
    assert.equal((await api(t, 'GET', `/api/v1/partners/recordings/${rec.id}`, { token: p.token })).status, 404);
    assert.equal(await t.services.recordings.storage.size(rec.storage_key), null, 'the mix is gone');
    assert.equal(await t.services.recordings.storage.size(track), null, 'the track is gone');
    assert.notEqual(await t.services.recordings.storage.size(kept.storage_key), null, "another talk's recording stays");
  });
});
