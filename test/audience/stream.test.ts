import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BotParticipant } from '../../src/bot/participant.js';
import { childrenOf } from '../support/processes.js';
import { probeDuration } from '../../src/platform/media.js';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';
import { waitFor } from '../support/wait.js';
import { botVoice, maxVolume } from '../recording/media.js';

/** A part's decode time (its moof's tfdt), in its timescale's ticks. */
function decodeTime(part: Buffer): bigint {
  const at = part.indexOf('tfdt');
  assert.ok(at > 0, 'a tfdt box');
  return part[at + 4] === 1 ? part.readBigUInt64BE(at + 8) : BigInt(part.readUInt32BE(at + 8));
}

/** The part the playlist's preload hint names: [msn, part]. */
function hinted(playlist: string): [number, number] {
  const m = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="[^/"]+\/(\d+)\.(\d+)\.m4s"/.exec(playlist);
  assert.ok(m, `a preload hint in\n${playlist}`);
  return [Number(m[1]), Number(m[2])];
}

describe('the audience stream: a live talk as LL-HLS', () => {
  let t: TestApp;
  let p: TestPartner;
  before(async () => {
    t = await startApp({ env: { RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '1', LIVE_CAPTIONS: 'false' } });
    p = await createPartner(t, 'Acme');
  });
  after(async () => {
    await t?.close();
  });

  test('hls_url while live; blocking reload, parts and segments; the speech is in the stream; a dead encoder restarts where time is; ENDLIST when the talk ends', async () => {
    const audio = await botVoice(['Good evening and welcome to the river talk.', 'The old bridge was built two hundred years ago.'], 0.5, 'hls');
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'River talk', recording: false } })).body.talk;
    assert.equal(talk.hls_url, null, 'no stream before the talk is live');
    const joinUrl = (
      await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/join_tokens`, { token: p.token, json: { name: 'Hana Host', role: 'host', uid: 'h' } })
    ).body.join_token.join_url;
    const host = new BotParticipant({ pageUrl: joinUrl, audio, decode: false });
    try {
      await host.join();
      host.send({ type: 'mute', muted: false });
      const live = await waitFor(async () => {
        const r = await api(t, 'GET', `/api/v1/partners/talks?talk_id=${talk.id}`, { token: p.token });
        const got = r.body.talks[0];
        return got.status === 'live' && got.hls_url ? got : undefined;
      }, 'the talk live with an hls_url');
      const url = new URL(live.hls_url);
      assert.match(url.pathname, /^\/t\/[a-z0-9]+\/live\/[0-9a-f]{32}\/index\.m3u8$/);
      const list = (await api(t, 'GET', '/api/v1/partners/talks', { token: p.token })).body.talks.find((x: { id: string }) => x.id === talk.id);
      assert.equal(list.hls_url, live.hls_url, 'the list (made by the database) and the single talk agree');
      const local = (u: string) => `${t.url}${new URL(u, live.hls_url).pathname}${new URL(u, live.hls_url).search}`;

      // A wrong key is a 404 in our envelope; the right one a playlist.
      const wrong = await fetch(local(live.hls_url.replace(/\/live\/[0-9a-f]{32}\//, `/live/${'0'.repeat(32)}/`)));
      assert.equal(wrong.status, 404);
      assert.equal((await wrong.json()).error.code, 'not_found');
      const first = await fetch(local(live.hls_url));
      assert.equal(first.status, 200);
      assert.equal(first.headers.get('content-type'), 'application/vnd.apple.mpegurl');
      assert.equal(first.headers.get('cache-control'), 'public, max-age=1');
      assert.equal(first.headers.get('access-control-allow-origin'), '*');
      const playlist = await first.text();
      for (const tag of ['#EXT-X-PART-INF:PART-TARGET=0.256', '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES', '#EXT-X-MAP:URI=', '#EXT-X-PART:DURATION=']) {
        assert.ok(playlist.includes(tag), `${tag} in\n${playlist}`);
      }
      const epoch = /#EXT-X-MAP:URI="([^/]+)\/init\.mp4"/.exec(playlist)?.[1];
      assert.ok(epoch);
      const init = await fetch(local(`${epoch}/init.mp4`));
      assert.equal(init.status, 200);
      assert.equal(init.headers.get('cache-control'), 'public, max-age=86400, immutable');
      const parts: Buffer[] = [Buffer.from(await init.arrayBuffer())];

      // Follow the live edge as a player does for ~6 s: ask for the hinted part's playlist (held until
      // it exists), then fetch that part.
      let [msn, part] = hinted(playlist);
      assert.equal((await fetch(local(`index.m3u8?_HLS_msn=${msn + 5}`))).status, 400, 'too far ahead');
      const waits: number[] = [];
      while (parts.length < 25) {
        const asked = Date.now();
        const r = await fetch(local(`index.m3u8?_HLS_msn=${msn}&_HLS_part=${part}`));
        assert.equal(r.status, 200);
        waits.push(Date.now() - asked);
        const text = await r.text();
        assert.ok(text.includes(`${epoch}/${msn}.${part}.m4s`), `part ${msn}.${part} listed after the blocking reload`);
        const media: Response = await fetch(local(`${epoch}/${msn}.${part}.m4s`));
        assert.equal(media.status, 200);
        assert.equal(media.headers.get('cache-control'), 'public, max-age=86400, immutable');
        parts.push(Buffer.from(await media.arrayBuffer()));
        [msn, part] = hinted(text);
      }
      assert.ok(Math.max(...waits) < 1_500, `every blocking reload answered within a part or so: ${waits.join(', ')} ms`);
      assert.ok(waits.filter((w) => w > 100).length >= 10, `the reloads were held until the part existed: ${waits.join(', ')} ms`);
      // A whole segment is its parts.
      const segment = await fetch(local(`${epoch}/${msn - 1}.m4s`));
      assert.equal(segment.status, 200);
      const file = path.join(t.dataDir, 'stream.mp4');
      await writeFile(file, Buffer.concat(parts));
      const duration = (await probeDuration(file)) ?? 0;
      // The first part starts where the stream was when we joined it (its decode time), so the file ends at least 24 parts in.
      assert.ok(duration >= 24 * 0.256 - 0.05, `24 parts of 0.256 s: the file ends at ${duration} s`);
      const loudest = await maxVolume(file, 0, duration);
      assert.ok(loudest > -20, `the speech is in the stream (loudest ${loudest} dB)`);

      // The encoder dies: the next request starts the stream again, with a new epoch, and its
      // segment numbers and media time go on past the old run's (a player sees time go on, with a gap).
      const lastMsn = msn;
      const lastTime = decodeTime(parts.at(-1) as Buffer);
      // Under this process (started by its spawner): the one encoding PCM to the stream.
      const encoder = childrenOf(process.pid).find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('s16le'));
      assert.ok(encoder, 'the stream encoder runs');
      process.kill(encoder, 'SIGKILL');
      const again = await waitFor(async () => {
        const r = await fetch(local('index.m3u8'));
        const text = r.status === 200 ? await r.text() : '';
        const e = /#EXT-X-MAP:URI="([^/]+)\/init\.mp4"/.exec(text)?.[1];
        return e && e !== epoch && text.includes('#EXT-X-PART:') ? { text, epoch: e } : undefined;
      }, 'the stream started again after its encoder died');
      const restartedAt = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(again.text)?.[1]);
      assert.ok(restartedAt > lastMsn, `the new run starts at segment ${restartedAt}, after the old run's ${lastMsn}`);
      const firstNew = /#EXT-X-PART:DURATION=[\d.]+,URI="([^"]+)"/.exec(again.text)?.[1] as string;
      const newPart = Buffer.from(await (await fetch(local(firstNew))).arrayBuffer());
      assert.ok(decodeTime(newPart) > lastTime, `media time goes on: ${decodeTime(newPart)} after ${lastTime}`);
      assert.equal((await fetch(local(`${epoch}/${lastMsn}.0.m4s`))).status, 404, "the old run's parts are gone");

      // The talk ends: the playlist says so, and the talk has no stream any more.
      await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/end`, { token: p.token });
      const ended = await waitFor(async () => {
        const text = await (await fetch(local('index.m3u8'))).text();
        return text.includes('#EXT-X-ENDLIST') ? text : undefined;
      }, 'ENDLIST after the talk ended');
      assert.ok(!ended.includes('PRELOAD-HINT'));
      const after = (await api(t, 'GET', `/api/v1/partners/talks?talk_id=${talk.id}`, { token: p.token })).body.talks[0];
      assert.equal(after.hls_url, null);
    } finally {
      await host.leave();
    }
  });
});

describe('the audience stream of a node that stops while its talk goes on', () => {
  test('held requests are told to ask again (503, open to any site, never cached, logged as a warning), not that the stream ended', async () => {
    const t = await startApp({ env: { RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '1', LIVE_CAPTIONS: 'false' }, logs: true });
    let closing: Promise<void> | null = null;
    const p = await createPartner(t, 'Rolling');
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Goes on', recording: false } })).body.talk;
    const joinUrl = (await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/join_tokens`, { token: p.token, json: { name: 'Host', role: 'host', uid: 'h' } }))
      .body.join_token.join_url;
    const host = new BotParticipant({ pageUrl: joinUrl, audio: await botVoice(['The talk goes on elsewhere.'], 0.5, 'goes-on'), decode: false });
    try {
      await host.join();
      host.send({ type: 'mute', muted: false });
      const hlsUrl: string = await waitFor(
        async () => (await api(t, 'GET', `/api/v1/partners/talks?talk_id=${talk.id}`, { token: p.token })).body.talks[0].hls_url,
        'hls_url',
      );
      const local = (u: string) => `${t.url}${new URL(u, hlsUrl).pathname}${new URL(u, hlsUrl).search}`;
      const [msn] = hinted(await (await fetch(local(hlsUrl))).text());
      // The next segment's first part is up to 2 s away: the request is held while the node stops.
      const held = fetch(local(`index.m3u8?_HLS_msn=${msn + 1}&_HLS_part=0`));
      await new Promise((r) => setTimeout(r, 300));
      closing = t.close();
      const answer = await held;
      const body = await answer.text();
      assert.equal(answer.status, 503, body);
      assert.equal(answer.headers.get('retry-after'), '1');
      assert.equal(answer.headers.get('access-control-allow-origin'), '*');
      assert.equal(answer.headers.get('cache-control'), 'no-store');
      assert.ok(!body.includes('#EXT-X-ENDLIST'), 'the stream is not said to have ended');
      await closing;
      // "Ask again" is expected, not a failure: a warning line, no error with a stack.
      const asked = t.lines.filter((l) => (l.code as string) === 'service_unavailable');
      assert.ok(asked.length > 0 && asked.every((l) => l.level === 40), JSON.stringify(asked));
      assert.deepEqual(
        t.lines.filter((l) => l.msg === 'request failed'),
        [],
      );
    } finally {
      await host.leave().catch(() => undefined);
      if (!closing) await t.close();
    }
  });
});
