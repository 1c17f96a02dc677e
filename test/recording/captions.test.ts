import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exited, type spawnTied } from '../../src/platform/media.js';
import type { RtpTarget } from '../../src/rooms/live.js';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';
import { waitFor } from '../support/wait.js';
import { Receiver } from '../webhooks/receiver.js';
import { RtpTestRoom, recall, sendOpusRtp, speaker, speech, withPauses } from './media.js';

const HOST_LINES = ['Welcome everyone to our weekly talk about the garden.', 'Today we will plant tomatoes and water the young trees.'];
const GUEST_LINES = ['Thank you for having me on the show.', 'I brought some seeds from my farm in the north.'];
/**
 * The check is word recall: the share of what was said that the captions carry (nothing
 * captioned scores 0): "most of the words" is more than half. The single-pass captions before
 * the full decoder scored 0.45 in their worst run; with every pass, as in the post-talk transcript,
 * 0.58 and 0.78 in a run at load average ~28 on 2 cores (host: "well can ever you until our weekly
 * tell about all the bar then today we will play and to a chess and watcher the young three days").
 */
const CAPTION_RECALL_MIN = 0.5;

type RoomCaption = { seq: number; participantId: string; name: string; text: string; timestamp: string; interim?: boolean };

/**
 * The stand-in room, keeping interim captions apart from final ones, and whose speakers can play
 * their audio in parts with the input stopped in between (no RTP at all, as in a mute or a network
 * drop): `parts` of a speaker are played one after another with `gapS` seconds of nothing between.
 */
class CaptionRoom extends RtpTestRoom {
  readonly shown: (RoomCaption & { talkId: string; at: number })[] = [];
  /** When each part of a speaker's audio began to be sent. */
  readonly partStarted: { participantId: string; part: number; at: number }[] = [];
  private readonly parts = new Map<string, { wavs: string[]; gapS: number; done: Promise<void> }>();

  inParts(participantId: string, wavs: string[], gapS: number): void {
    this.parts.set(participantId, { wavs, gapS, done: Promise.resolve() });
  }

  override async tapSpeaker(talkId: string, participantId: string, target: RtpTarget) {
    const plan = this.parts.get(participantId);
    if (!plan) return super.tapSpeaker(talkId, participantId, target);
    let current: ReturnType<typeof spawnTied> | null = null;
    let stopped = false;
    const send = (wav: string) => sendOpusRtp(wav, target);
    plan.done = (async () => {
      for (const [i, wav] of plan.wavs.entries()) {
        // The gap is the scenario (a speaker's input stopped for gapS seconds), not a wait for something.
        if (i > 0) await new Promise((r) => setTimeout(r, plan.gapS * 1000));
        if (stopped) return;
        current = send(wav);
        this.partStarted.push({ participantId, part: i, at: Date.now() });
        await exited(current);
      }
    })();
    return async () => {
      stopped = true;
      current?.kill('SIGKILL');
      await plan.done;
    };
  }

  override async finished(participantId: string): Promise<void> {
    const plan = this.parts.get(participantId);
    if (plan) await plan.done;
    else await super.finished(participantId);
  }

  override broadcastCaption(talkId: string, caption: RoomCaption): void {
    this.shown.push({ ...caption, talkId, at: Date.now() });
    if (!caption.interim) super.broadcastCaption(talkId, caption);
  }
}

describe('live captions (RTP in, captions out)', () => {
  let t: TestApp;
  let p: TestPartner;
  let other: TestPartner;
  const room = new CaptionRoom();
  const receiver = new Receiver();
  let hostWav: string;
  let guestWav: string;
  before(async () => {
    const tmp = os.tmpdir();
    hostWav = await withPauses(await Promise.all(HOST_LINES.map(speech)), 1.5, path.join(tmp, `st-cap-host-${process.pid}.wav`));
    guestWav = await withPauses(await Promise.all(GUEST_LINES.map(speech)), 1.5, path.join(tmp, `st-cap-guest-${process.pid}.wav`));
    await receiver.start();
    t = await startApp({ background: false, live: room });
    const { startBackground } = await import('../../src/compose.js');
    await startBackground(t.services);
    p = await createPartner(t, 'Acme');
    other = await createPartner(t, 'Other');
    const hook = await api(t, 'POST', '/api/v1/partners/webhooks', { token: p.token, json: { url: `${receiver.url}/hook`, events: ['next_caption'] } });
    assert.equal(hook.status, 200, JSON.stringify(hook.body));
  });
  after(async () => {
    await t?.close();
    await receiver.close();
  });

  test('each phrase of each speaker: saved, sent to the room in seq order and as next_caption, listed for the partner only', async () => {
    const created = await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Garden hour', recording: false } });
    const talk = await t.services.talks.repo.get(p.partnerId, created.body.talk.id);
    assert.ok(talk);
    room.voice('host-c', hostWav);
    room.voice('guest-c', guestWav);
    await room.talkStarted(talk);
    await room.speakerStarted(talk.id, speaker('host-c', 'Hana Host', 'hana', p.userId));
    await room.speakerStarted(talk.id, speaker('guest-c', 'Gus Guest', 'gus'));
    // Each speaker's two phrases are captioned while they still play (before the talk stops).
    await waitFor(
      () => ['host-c', 'guest-c'].every((id) => room.captions.filter((c) => c.talkId === talk.id && c.participantId === id).length >= 2),
      'two captions per speaker in the room',
      // On the shared 2-core machine (load average near 30) the full decoder lagged the audio by 20-100 s.
      240_000,
    ).catch((err) => {
      throw new Error(`${(err as Error).message}; got: ${room.captions.map((c) => `${c.participantId}: ${c.text}`).join(' | ')}`);
    });
    await Promise.all([room.finished('host-c'), room.finished('guest-c')]);
    await room.talkStopped(talk.id);

    const inRoom = room.captions.filter((c) => c.talkId === talk.id);
    // Saves are serialized per talk, so the room gets captions numbered 1, 2, 3... in that order.
    assert.deepEqual(
      inRoom.map((c) => c.seq),
      inRoom.map((_, i) => i + 1),
      'the room got captions numbered 1, 2, 3... in order',
    );
    const said = (id: string) =>
      inRoom
        .filter((c) => c.participantId === id)
        .map((c) => c.text)
        .join(' ');
    const hostRecall = recall(HOST_LINES.join(' '), said('host-c'));
    const guestRecall = recall(GUEST_LINES.join(' '), said('guest-c'));
    assert.ok(
      hostRecall >= CAPTION_RECALL_MIN && guestRecall >= CAPTION_RECALL_MIN,
      `caption word recall host ${hostRecall.toFixed(2)} (${said('host-c')}) guest ${guestRecall.toFixed(2)} (${said('guest-c')})`,
    );

    // next_caption reached the partner's real endpoint once per caption, in seq order (a talk's
    // captions go to an endpoint one at a time).
    const events = () => receiver.received.filter((r) => r.json.event_name === 'next_caption' && r.json.body.talkId === talk.id);
    await receiver.until(() => events().length >= inRoom.length, 'every next_caption', 30_000);
    const got = events().map((r) => r.json.body);
    const bySeq = [...inRoom].sort((a, b) => a.seq - b.seq);
    assert.deepEqual(
      got.map((b) => b.seq),
      bySeq.map((c) => c.seq),
    );
    assert.deepEqual(
      got.map((b) => b.message),
      bySeq.map((c) => c.text),
    );
    const first = got.find((b) => b.fullname === 'Gus Guest');
    assert.ok(first);
    // The body the API document shows, plus the seq this project documents (docs/webhooks.md).
    assert.deepEqual(Object.keys(first).sort(), ['avatar_url', 'fullname', 'message', 'seq', 'talkId', 'timestamp', 'username']);
    assert.equal(first.username, 'gus');
    assert.equal(first.avatar_url, null);
    assert.match(String(first.timestamp), /^\d{4}-\d\d-\d\dT/);

    // Saved with the talk (it was not recorded) and listed for its partner.
    const listed = await api(t, 'GET', `/api/v1/partners/talks/${talk.id}/captions`, { token: p.token });
    assert.equal(listed.status, 200);
    assert.deepEqual(
      listed.body.captions.map((c: { seq: number; message: string }) => [c.seq, c.message]),
      bySeq.map((c) => [c.seq, c.text]),
    );
    const page = await api(t, 'GET', `/api/v1/partners/talks/${talk.id}/captions?after_seq=2&limit=1`, { token: p.token });
    assert.deepEqual(
      page.body.captions.map((c: { seq: number }) => c.seq),
      [3],
    );
    assert.equal((await api(t, 'GET', `/api/v1/partners/talks/${talk.id}/captions`, { token: other.token })).status, 404);
    assert.equal((await api(t, 'GET', `/api/v1/partners/talks/${talk.id}/captions`)).status, 401);
    assert.equal((await api(t, 'GET', '/api/v1/partners/recordings', { token: p.token })).body.recordings.length, 0);

    const timings = t.services.captions.timings.filter((x) => x.talkId === talk.id) ?? [];
    assert.equal(timings.length, inRoom.length);
    console.log(`caption latency (phrase end -> broadcast), ms: ${timings.map((x) => x.latencyMs).join(', ')}`);
  });

  test("the talk's own words: a guest's name the dictionary lacks is spelled as in the talk, in the caption and next_caption", async () => {
    const LINE = 'Our guest tonight is Vikram Raghunathan.';
    const wav = await withPauses([await speech(LINE)], 1, path.join(os.tmpdir(), `st-cap-vocab-${process.pid}.wav`));
    const created = await api(t, 'POST', '/api/p/talk', {
      token: p.token,
      json: { name: 'Permaculture night', description: 'With our guest Vikram Raghunathan', recording: false },
    });
    const talk = await t.services.talks.repo.get(p.partnerId, created.body.talk.id);
    assert.ok(talk);
    room.voice('vocab-host', wav);
    await room.talkStarted(talk);
    await room.speakerStarted(talk.id, speaker('vocab-host', 'Hana Host', 'hana'));
    const captions = () => room.captions.filter((c) => c.talkId === talk.id);
    try {
      await waitFor(() => captions().some((c) => /raghunathan/.test(c.text)), "a caption with the guest's name", 120_000);
    } catch (err) {
      throw new Error(
        `${(err as Error).message}; got: ${captions()
          .map((c) => c.text)
          .join(' | ')}`,
      );
    } finally {
      await room.finished('vocab-host');
      await room.talkStopped(talk.id);
    }
    const events = () => receiver.received.filter((r) => r.json.event_name === 'next_caption' && r.json.body.talkId === talk.id);
    await receiver.until(() => events().some((e) => /raghunathan/.test(String(e.json.body.message))), 'next_caption with the name', 30_000);
  });

  test('a phrase spoken live: interim text while it is spoken, then its caption; captions go on after 15 s without input and after 15 s of silence', async () => {
    const ONE = 'Good evening and thank you for coming to our seed swap.';
    const TWO = 'Please bring your beans and peppers to the table by the door.';
    const THREE = 'We will plant squash before the summer rain arrives.';
    const [one, two, three] = await Promise.all([ONE, TWO, THREE].map(speech));
    // Part 2: phrase two, 15 s of silence in the audio (sent as RTP), phrase three.
    const part2 = await withPauses([two, three], 15, path.join(os.tmpdir(), `st-cap-gaps-${process.pid}.wav`));
    const created = await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Seed swap', recording: false } });
    const talk = await t.services.talks.repo.get(p.partnerId, created.body.talk.id);
    assert.ok(talk);
    // Part 1: phrase one; then 15 s in which no RTP arrives at all (ffmpeg's RTP reader gives up after ~10 s).
    room.inParts('sam', [one, part2], 15);
    await room.talkStarted(talk);
    await room.speakerStarted(talk.id, speaker('sam', 'Sam Speaker', 'sam'));
    const shown = () => room.shown.filter((c) => c.talkId === talk.id);
    const finals = () => shown().filter((c) => !c.interim);
    const summary = () =>
      shown()
        .map((c) => `${c.interim ? '(interim) ' : ''}${c.text}`)
        .join(' | ');
    try {
      // The first caption is the first phrase's (its latency is measured in bench/transcribe/captions.ts;
      // on this shared 2-core machine the decoder can lag the audio by seconds, hence the generous wait).
      const firstFinal = await waitFor(() => finals()[0], 'the first caption', 240_000);
      const part2At = () => room.partStarted.find((x) => x.participantId === 'sam' && x.part === 1)?.at;
      assert.ok(recall(ONE, firstFinal.text) >= CAPTION_RECALL_MIN, `first caption: ${firstFinal.text}`);

      // After 15 s with no input, then after 15 s of silence: both later phrases are captioned. (Their
      // captions are told apart by their words, not their times: on a loaded machine the decoder lags.)
      const startedAt = await waitFor(part2At, 'the input back', 240_000);
      const said = () =>
        finals()
          .filter((c) => c.at >= startedAt)
          .map((c) => c.text)
          .join(' ');
      await waitFor(
        () => recall(TWO, said()) >= CAPTION_RECALL_MIN && recall(THREE, said()) >= CAPTION_RECALL_MIN,
        'captions of the phrases after each gap',
        240_000,
      );
      // Every phrase had interim text before its caption: the decoder reports its best path so far
      // while the phrase is spoken, from the same process and stream as the caption, so even a
      // decoder that lags (a loaded machine) reports it first.
      const lines = shown();
      let since = 0;
      const withoutInterim: string[] = [];
      for (const [i, c] of lines.entries()) {
        if (c.interim) continue;
        if (c.text.split(' ').length >= 3 && !lines.slice(since, i).some((x) => x.interim)) withoutInterim.push(c.text);
        since = i + 1;
      }
      assert.deepEqual(withoutInterim, [], 'captions that had no interim text before them');
      const interimsBefore = lines.filter((c) => c.interim);
      assert.ok(interimsBefore.every((c) => c.seq === 0 && c.text.length > 0 && c.participantId === 'sam'));
    } catch (err) {
      throw new Error(`${(err as Error).message}; shown: ${summary()}`);
    } finally {
      await room.finished('sam');
      await room.talkStopped(talk.id);
    }
    console.log(`shown in the room: ${summary()}`);
  });
});
