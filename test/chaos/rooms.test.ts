import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BotParticipant, decodeAudio } from '../../src/bot/participant.js';
import { api } from '../support/api.js';
import { type TestApp, createPartner, startApp } from '../support/app.js';
import { waitFor } from '../support/wait.js';
import { speechWav } from '../live/media.js';
import { PrivatePostgres, missingBinaries } from './servers.js';

// docs/operations.md: "the database unreachable: the rooms go on". Two real WebRTC participants
// in a live talk keep hearing each other while our own Postgres is stopped for about ten seconds,
// and the room is still theirs (and the server ready) after it is back.
const skip = missingBinaries({ postgres: true });
const liveEnv = { RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '2', RECONNECT_GRACE_SECONDS: '5' };

describe('the database unreachable: the rooms go on', { skip, timeout: 300_000 }, () => {
  let cluster: PrivatePostgres;
  let t: TestApp;

  before(async () => {
    cluster = await new PrivatePostgres().init();
    t = await startApp({ env: { ...liveEnv, DATABASE_URL: cluster.url, SECRET_KEY: 'chaos-secret-key-0123456789abcdefghijkl', ROOM_HEARTBEAT_SECONDS: '2' } });
  });
  after(async () => {
    await t?.close();
    await cluster?.destroy();
  });

  test('two bots keep forwarding audio while Postgres is stopped for ~10 s and restarted', async () => {
    const p = await createPartner(t, 'Rooms');
    const speech = await decodeAudio(speechWav());
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Outage' } })).body.talk;
    const jt = await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/join_tokens`, { token: p.token, json: { uid: 'h', name: 'Host', role: 'host' } });
    const host = new BotParticipant({ pageUrl: jt.body.join_token.join_url, audio: speech });
    const guest = new BotParticipant({ pageUrl: talk.short_url, name: 'Guest', audio: speech });
    try {
      await host.join();
      await guest.join();
      await Promise.all([host.untilLoudFrames(51), guest.untilLoudFrames(51)]);
      await cluster.stop();
      const stoppedAt = Date.now();
      const before = { host: host.report.loudFrames, guest: guest.report.loudFrames };
      // Ten seconds down, with speech heard all along (20 ms frames: 200 loud ones is over 4 s of speech).
      await waitFor(
        () => Date.now() - stoppedAt >= 10_000 && guest.report.loudFrames >= before.guest + 200 && host.report.loudFrames >= before.host + 200,
        'ten seconds of speech heard both ways while the database is down',
        30_000,
      );
      assert.equal((await api(t, 'GET', '/readyz')).status, 503, 'the database is really down');
      const downMs = Date.now() - stoppedAt;
      await cluster.start();
      await waitFor(async () => (await api(t, 'GET', '/readyz')).status === 200, 'ready again', 30_000);
      const afterOutage = { host: host.report.loudFrames, guest: guest.report.loudFrames };
      assert.ok(await guest.untilLoudFrames(afterOutage.guest + 50, 30_000), 'audio still flows after the outage');
      assert.ok(await host.untilLoudFrames(afterOutage.host + 50, 30_000));
      assert.equal(t.services.live?.participants(talk.id).length, 2, 'both still in the room');
      // The room's claim is renewed once the database is back.
      const participants = await api(t, 'GET', `/api/v1/partners/talks/${talk.id}/participants`, { token: p.token });
      assert.equal(participants.status, 200);
      process.stderr.write(
        `# database down ${downMs} ms; loud frames heard meanwhile: host ${afterOutage.host - before.host}, guest ${afterOutage.guest - before.guest}\n`,
      );
    } finally {
      await Promise.all([host.leave(), guest.leave()]);
    }
  });
});
