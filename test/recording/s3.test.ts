import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import S3rver from 's3rver';
import { probeDuration } from '../../src/platform/media.js';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, freePort, startApp } from '../support/app.js';
import { waitFor } from '../support/wait.js';
import { RtpTestRoom, eventsOf, speaker, speech } from './media.js';

/**
 * STORAGE=s3 end to end against a real S3-compatible server on loopback (s3rver: the S3 REST API
 * over HTTP, objects on disk), through the official AWS SDK the app uses: the recording is
 * uploaded at finalize, downloaded through our signed route from the bucket, and deleted from it.
 */
describe('recordings on an S3-compatible bucket', () => {
  let t: TestApp;
  let p: TestPartner;
  let s3: S3rver;
  let s3Dir: string;
  let s3Port: number;
  const room = new RtpTestRoom();
  let wav: string;
  before(async () => {
    wav = await speech('Recordings can live in a bucket as well as on the local disk.');
    s3Dir = await mkdtemp(path.join(os.tmpdir(), 'smalltalk-s3-'));
    const port = await freePort();
    s3Port = port;
    s3 = new S3rver({ port, address: '127.0.0.1', silent: true, directory: s3Dir, configureBuckets: [{ name: 'talks', configs: [] }] });
    await s3.run();
    t = await startApp({
      background: false,
      live: room,
      env: {
        STORAGE: 's3',
        S3_BUCKET: 'talks',
        S3_ENDPOINT: `http://127.0.0.1:${port}`,
        S3_ACCESS_KEY_ID: 'S3RVER',
        S3_SECRET_ACCESS_KEY: 'S3RVER',
      },
    });
    // The queue and the recorder only: a transcription still running when the app closes would write to a closed database.
    for (const job of t.services.background) if (job.name === 'queue' || job.name === 'recorder') await job.start();
    p = await createPartner(t, 'Bucket');
  });
  after(async () => {
    await t?.close();
    await s3?.close();
    await rm(s3Dir, { recursive: true, force: true });
  });

  test('the finished recording is uploaded, downloaded through the signed URL, and deleted from the bucket', async () => {
    const created = await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Bucket talk' } });
    const talk = await t.services.talks.repo.get(p.partnerId, created.body.talk.id);
    assert.ok(talk);
    room.voice('host-s3', wav);
    const startedAt = Date.now();
    await room.talkStarted(talk);
    await room.speakerStarted(talk.id, speaker('host-s3', 'Bea Bucket', 'bea', p.userId));
    await room.finished('host-s3');
    const session = (Date.now() - startedAt) / 1000;
    await room.talkStopped(talk.id);
    await waitFor(async () => (await eventsOf(t, 'recording_saved')).some((e) => e.body.talk_id === talk.id), 'recording_saved', 60_000);
    const rec = (await api(t, 'GET', `/api/v1/partners/recordings?talk_id=${talk.id}`, { token: p.token })).body.recordings[0];
    assert.equal(rec.status, 'ready');

    // The object is in the bucket, as large as the row says.
    const storage = t.services.recordings.storage;
    const key = `${p.partnerId}/${rec.id}/${rec.file_name}`;
    assert.equal(await storage.size(key), rec.size);
    assert.ok(rec.size > 1000, `an mp4 of ${rec.size} bytes`);

    // Once in the bucket, the mix's staging copy is removed (it was kept for good, every recording's
    // audio on this disk too); the signed URL serves the file, read from the bucket.
    assert.equal(existsSync(storage.localPath(key)), false, 'the staging copy of the mix is gone');
    const res = await fetch(rec.url);
    assert.equal(res.status, 200);
    const file = path.join(t.dataDir, `s3-${rec.id}.mp4`);
    await writeFile(file, Buffer.from(await res.arrayBuffer()));
    const duration = await probeDuration(file);
    assert.ok(duration !== null && Math.abs(duration - session) < 1.5, `mp4 lasts ${duration} s, the talk ${session.toFixed(2)} s`);

    // Our signed route stays the URL partners get; it redirects to a presigned URL of the object, and the
    // object store serves ranges itself: a Range request followed through the redirect gets 206 and those bytes.
    const whole = Buffer.from(await readFile(file));
    const redirect = await fetch(rec.url, { redirect: 'manual' });
    assert.equal(redirect.status, 302);
    const location = new URL(redirect.headers.get('location') ?? '');
    assert.equal(location.origin, `http://127.0.0.1:${s3Port}`);
    assert.ok(location.searchParams.get('X-Amz-Signature'), `a presigned URL: ${location}`);
    assert.equal(redirect.headers.get('cache-control'), 'private, no-store');
    for (const [range, first, last] of [
      ['bytes=0-1023', 0, 1023],
      ['bytes=1000-', 1000, rec.size - 1],
      // Not the suffix form bytes=-n: s3rver reads it as 0-n (S3 itself serves the last n bytes).
    ] as const) {
      const ranged = await fetch(rec.url, { headers: { range } });
      assert.equal(ranged.status, 206, range);
      assert.equal(ranged.headers.get('content-range'), `bytes ${first}-${last}/${rec.size}`, range);
      assert.equal(ranged.headers.get('content-type'), 'audio/mp4', range);
      assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), whole.subarray(first, last + 1), range);
    }
    // The route's signature check still comes first: a forged link is not redirected.
    const forged = new URL(rec.url);
    forged.searchParams.set('sig', 'forged');
    assert.equal((await fetch(forged, { redirect: 'manual' })).status, 404);

    // DELETE removes the object from the bucket.
    const deleted = await api(t, 'DELETE', `/api/v1/partners/recordings/${rec.id}`, { token: p.token });
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    assert.equal(await storage.size(key), null);
    assert.equal((await fetch(rec.url)).status, 404);
  });
});
