import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { contentTypeOf } from '../../src/recordings/storage.js';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';
import { waitFor } from '../support/wait.js';
import { RtpTestRoom, eventsOf, speaker, speech } from './media.js';

/** The top-level boxes of an MP4 file, in order (type and size; a size of 1 means a 64-bit size follows, 0 "to the end"). */
function topLevelBoxes(file: Buffer): { type: string; size: number }[] {
  const boxes: { type: string; size: number }[] = [];
  let at = 0;
  while (at + 8 <= file.length) {
    let size = file.readUInt32BE(at);
    const type = file.toString('latin1', at + 4, at + 8);
    if (size === 1) size = Number(file.readBigUInt64BE(at + 8));
    else if (size === 0) size = file.length - at;
    if (size < 8) throw new Error(`a ${type} box of ${size} bytes at ${at}`);
    boxes.push({ type, size });
    at += size;
  }
  return boxes;
}

const moovFirst = (file: Buffer) => {
  const types = topLevelBoxes(file).map((b) => b.type);
  assert.ok(types.includes('moov') && types.includes('mdat'), `boxes ${types.join(',')}`);
  return types.indexOf('moov') < types.indexOf('mdat');
};

/**
 * Downloads stream and seek: a real recording (RTP in, the recorder's ffmpeg, the mixer) fetched
 * over HTTP with Range, HEAD and the validators, as a browser's audio player and a partner's client do.
 */
describe('recording downloads: ranges, HEAD, validators, faststart', () => {
  let t: TestApp;
  let p: TestPartner;
  const room = new RtpTestRoom();
  let rec: { id: string; url: string; file_name: string; size: number; tracks: { url: string; file_name: string }[] };
  let whole: Buffer;

  before(async () => {
    const wav = await speech('A recording that a player can seek in, from any point to any other.');
    t = await startApp({ background: false, live: room });
    // The queue and the recorder only: no transcription runs on past the test.
    for (const job of t.services.background) if (job.name === 'queue' || job.name === 'recorder') await job.start();
    p = await createPartner(t, 'Ranges');
    const created = await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Ranges talk' } });
    const talk = await t.services.talks.repo.get(p.partnerId, created.body.talk.id);
    assert.ok(talk);
    room.voice('host-ranges', wav);
    await room.talkStarted(talk);
    await room.speakerStarted(talk.id, speaker('host-ranges', 'Rae Ranges', 'rae', p.userId));
    await room.finished('host-ranges');
    await room.talkStopped(talk.id);
    await waitFor(async () => (await eventsOf(t, 'recording_saved')).some((e) => e.body.talk_id === talk.id), 'recording_saved', 60_000);
    rec = (await api(t, 'GET', `/api/v1/partners/recordings?talk_id=${talk.id}`, { token: p.token })).body.recordings[0];
    assert.ok(new URL(rec.url).searchParams.get('sig'), 'a private recording: a signed link');
    const res = await fetch(rec.url);
    assert.equal(res.status, 200);
    whole = Buffer.from(await res.arrayBuffer());
    assert.equal(whole.length, rec.size);
    assert.ok(rec.size > 2000, `an mp4 of ${rec.size} bytes`);
  });
  after(async () => {
    await t?.close();
  });

  test('the finalized mp4 has its index (moov) before the media (mdat), as every speaker track does', async () => {
    assert.ok(moovFirst(whole), `boxes of the mix: ${topLevelBoxes(whole).map((b) => b.type)}`);
    for (const track of rec.tracks) {
      const file = Buffer.from(await (await fetch(track.url)).arrayBuffer());
      assert.ok(moovFirst(file), `boxes of ${track.file_name}: ${topLevelBoxes(file).map((b) => b.type)}`);
    }
    // The check can fail: the same audio written without +faststart has moov at the end.
    const plain = path.join(t.dataDir, 'plain.mp4');
    execFileSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', '-c:a', 'aac', '-y', plain]);
    assert.equal(moovFirst(readFileSync(plain)), false);
  });

  test('a plain GET says it accepts ranges and carries the validators and the audio type', async () => {
    const res = await fetch(rec.url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('accept-ranges'), 'bytes');
    assert.equal(res.headers.get('content-type'), 'audio/mp4');
    assert.equal(res.headers.get('content-length'), String(rec.size));
    assert.match(res.headers.get('etag') ?? '', /^(W\/)?"[^"]+"$/);
    assert.ok(Date.parse(res.headers.get('last-modified') ?? '') > 0, `last-modified ${res.headers.get('last-modified')}`);
    assert.equal(res.headers.get('cache-control'), 'private, max-age=300');
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), whole);
  });

  test('bytes=a-b, bytes=a- and the suffix bytes=-n get 206 with Content-Range and exactly those bytes', async () => {
    const size = rec.size;
    const cases: [string, number, number][] = [
      ['bytes=0-1023', 0, 1023],
      [`bytes=100-${size + 5000}`, 100, size - 1], // an end past the file is cut to it
      ['bytes=1000-', 1000, size - 1],
      ['bytes=-500', size - 500, size - 1],
      [`bytes=${size - 1}-`, size - 1, size - 1],
    ];
    for (const [range, first, last] of cases) {
      const res = await fetch(rec.url, { headers: { range } });
      assert.equal(res.status, 206, range);
      assert.equal(res.headers.get('content-range'), `bytes ${first}-${last}/${size}`, range);
      assert.equal(res.headers.get('content-length'), String(last - first + 1), range);
      assert.equal(res.headers.get('content-type'), 'audio/mp4', range);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), whole.subarray(first, last + 1), range);
    }
  });

  test('an unsatisfiable range gets 416 with Content-Range: bytes */size and our error envelope', async () => {
    for (const range of [`bytes=${rec.size}-`, `bytes=${rec.size + 10}-${rec.size + 20}`]) {
      const res = await fetch(rec.url, { headers: { range } });
      assert.equal(res.status, 416, range);
      assert.equal(res.headers.get('content-range'), `bytes */${rec.size}`, range);
      const body = (await res.json()) as { error: { code: string; request_id: string } };
      assert.equal(body.error.code, 'range_not_satisfiable');
      assert.ok(body.error.request_id);
    }
  });

  test('HEAD answers the headers of GET without a body, for the whole file and for a range', async () => {
    const head = await fetch(rec.url, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(rec.size));
    assert.equal(head.headers.get('accept-ranges'), 'bytes');
    assert.equal(head.headers.get('content-type'), 'audio/mp4');
    assert.ok(head.headers.get('etag'));
    assert.equal((await head.arrayBuffer()).byteLength, 0);
    const ranged = await fetch(rec.url, { method: 'HEAD', headers: { range: 'bytes=0-99' } });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers.get('content-range'), `bytes 0-99/${rec.size}`);
    assert.equal((await ranged.arrayBuffer()).byteLength, 0);
  });

  test('If-None-Match and If-Modified-Since get 304; If-Range with the current validator gets the range, a stale one the whole file', async () => {
    const first = await fetch(rec.url, { method: 'HEAD' });
    const etag = first.headers.get('etag') ?? '';
    const lastModified = first.headers.get('last-modified') ?? '';
    // Sent with Cache-Control: max-age=0 as a browser revalidating does (fetch() adds no-cache, an end-to-end reload, otherwise).
    const revalidate = { 'cache-control': 'max-age=0' };
    const notModified = await fetch(rec.url, { headers: { ...revalidate, 'if-none-match': etag } });
    assert.equal(notModified.status, 304);
    assert.equal(notModified.headers.get('etag'), etag);
    assert.equal((await fetch(rec.url, { headers: { ...revalidate, 'if-modified-since': lastModified } })).status, 304);
    const changed = await fetch(rec.url, { headers: { ...revalidate, 'if-none-match': 'W/"0-0"' } });
    assert.equal(changed.status, 200);
    await changed.arrayBuffer();

    const fresh = await fetch(rec.url, { headers: { range: 'bytes=10-19', 'if-range': etag } });
    assert.equal(fresh.status, 206);
    assert.deepEqual(Buffer.from(await fresh.arrayBuffer()), whole.subarray(10, 20));
    const freshDate = await fetch(rec.url, { headers: { range: 'bytes=10-19', 'if-range': lastModified } });
    assert.equal(freshDate.status, 206);
    await freshDate.arrayBuffer();
    for (const stale of ['W/"0-0"', 'Thu, 01 Jan 2004 00:00:00 GMT']) {
      const res = await fetch(rec.url, { headers: { range: 'bytes=10-19', 'if-range': stale } });
      assert.equal(res.status, 200, `If-Range: ${stale}`);
      assert.equal(res.headers.get('content-range'), null);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), whole, `If-Range: ${stale}`);
    }
    const mismatch = await fetch(rec.url, { headers: { 'if-match': '"something-else"' } });
    assert.equal(mismatch.status, 412);
    assert.equal(((await mismatch.json()) as { error: { code: string } }).error.code, 'precondition_failed');
  });

  test('the signature, its expiry and the file name are checked as before, ranges or not', async () => {
    const url = new URL(rec.url);
    const forged = new URL(url);
    forged.searchParams.set('sig', `${url.searchParams.get('sig')?.slice(0, -2)}xx`);
    const expired = new URL(url);
    expired.searchParams.set('expires', String(Math.floor(Date.now() / 1000) - 10));
    const unsigned = new URL(url);
    unsigned.search = '';
    const otherFile = new URL(url);
    otherFile.pathname = otherFile.pathname.replace(rec.file_name, 'other.mp4');
    for (const u of [forged, expired, unsigned, otherFile]) {
      for (const method of ['GET', 'HEAD']) {
        const res = await fetch(u, { method, headers: { range: 'bytes=0-99' } });
        assert.equal(res.status, 404, `${method} ${u}`);
        if (method === 'GET') assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'not_found');
      }
    }
  });

  test('content types by file name', () => {
    assert.equal(contentTypeOf('12345678.mp4'), 'audio/mp4');
    assert.equal(contentTypeOf('track.M4A'), 'audio/mp4');
    assert.equal(contentTypeOf('captions.vtt'), 'text/vtt; charset=utf-8');
    assert.equal(contentTypeOf('noext'), 'application/octet-stream');
  });
});
