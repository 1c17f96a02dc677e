import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BotParticipant, decodeAudio } from '../../src/bot/participant.js';
import type { LiveRooms } from '../../src/rooms/service.js';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';
import { descendantsWith } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { speechWav } from './media.js';

describe('the datachannel engine in two media processes (SFU_WORKERS=2)', () => {
  let t: TestApp;
  let p: TestPartner;
  before(async () => {
    t = await startApp({
      env: { SFU_ENGINE: 'datachannel', SFU_WORKERS: '2', RTC_LISTEN_IP: '127.0.0.1', TRANSCRIBE_ENGINE: 'none', LIVE_CAPTIONS: 'false' },
    });
    p = await createPartner(t, 'Acme');
  });
  after(() => t?.close());

  test("each talk lives on one process, two talks on two; one process's death touches only its own talk", async () => {
    const sfu = (t.services.live as LiveRooms).sfu;
    const audio = await decodeAudio(speechWav());
    const talks = await Promise.all(
      ['Garden hour', 'Chess club'].map(async (name) => (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name } })).body.talk),
    );
    const link = async (talkId: string, name: string, role: string) =>
      (await api(t, 'POST', `/api/v1/partners/talks/${talkId}/join_tokens`, { token: p.token, json: { name, role, uid: name } })).body.join_token.join_url;
    const pairs = await Promise.all(
      talks.map(async (talk, i) => ({
        host: new BotParticipant({ pageUrl: await link(talk.id, `Host ${i}`, 'host'), audio, decode: false }),
        guest: new BotParticipant({ pageUrl: await link(talk.id, `Guest ${i}`, 'listener') }),
      })),
    );
    const everyone = pairs.flatMap((x) => [x.host, x.guest]);
    try {
      // One after the other: each talk's first participant goes to the least-loaded process.
      for (const { host, guest } of pairs) {
        await host.join();
        host.send({ type: 'mute', muted: false });
        await guest.join();
      }
      const at = pairs.map(({ host, guest }) => [sfu.workerOf(host.report.participantId ?? ''), sfu.workerOf(guest.report.participantId ?? '')]);
      assert.equal(at[0][0], at[0][1], "a talk's participants share its process");
      assert.equal(at[1][0], at[1][1], "a talk's participants share its process");
      assert.notEqual(at[0][0], at[1][0], 'two talks on an idle node go to two processes');
      const stats = await sfu.stats();
      assert.equal(stats.length, 2);
      assert.deepEqual(
        stats.map((s) => s.peers),
        [2, 2],
      );
      assert.deepEqual(descendantsWith('dc-worker').sort(), stats.map((s) => s.pid).sort(), 'two media processes run');
      for (const { guest } of pairs) assert.ok(await guest.untilLoudFrames(50), 'each guest hears its host');

      // The first talk's process dies: its bots negotiate again, the other talk's go on untouched.
      const killed = stats[at[0][0] as number].pid;
      process.kill(killed, 'SIGKILL');
      const [a, b] = pairs;
      await waitFor(() => a.host.report.mediaRestarts >= 1 && a.guest.report.mediaRestarts >= 1, "the first talk's bots to negotiate again", 15_000);
      await waitFor(() => a.host.peerState() === 'connected' && a.guest.peerState() === 'connected', 'their peers connected again', 15_000);
      assert.ok(await a.guest.untilLoudFrames(a.guest.report.loudFrames + 50), 'the first talk is heard again');
      const heard = b.guest.report.loudFrames;
      assert.ok(await b.guest.untilLoudFrames(heard + 50), 'the second talk is still heard');
      assert.equal(b.host.report.mediaRestarts, 0, "the other talk's host kept its peer");
      assert.equal(b.guest.report.mediaRestarts, 0, "the other talk's guest kept its peer");
      assert.equal(sfu.workerOf(a.host.report.participantId ?? ''), at[0][0], 'the first talk stays on its (restarted) process');
      const pids = descendantsWith('dc-worker');
      assert.equal(pids.length, 2, 'two media processes again');
      assert.ok(!pids.includes(killed));
      for (const bot of everyone) assert.equal(bot.report.error, null);

      // The talks end with everyone still in: each participant's media is let go with its room, so the
      // processes count no one (before, a room closed with people in it left them counted for good).
      for (const talk of talks) assert.equal((await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/end`, { token: p.token })).status, 200);
      await waitFor(
        () => everyone.every((bot) => sfu.workerOf(bot.report.participantId ?? '') === null),
        "every participant's media let go with its talk",
        10_000,
      );
    } finally {
      await Promise.all(everyone.map((bot) => bot.leave()));
      for (const talk of talks) await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/end`, { token: p.token });
    }
    // Everyone gone: both talks have left their processes, and a new talk takes the least-loaded one.
    await waitFor(async () => (await sfu.stats()).every((s) => s.peers === 0), 'every peer closed', 10_000);
  });
});
