import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Recorder } from '../../src/recordings/recorder.js';
import { startBackground } from '../../src/compose.js';
import { api } from '../support/api.js';
import { type TestApp, createPartner, startApp } from '../support/app.js';
import { waitFor } from '../support/wait.js';
import { RtpTestRoom, eventsOf, toneMp4 } from './media.js';

/**
 * A recording row as a recording node leaves it: status 'recording', its owner and last heartbeat;
 * with `audio`, one speaker track of 2 s on this node's disk (recovery fails, rather than saves, a
 * recording with no audio on disk: crash-early.test.ts).
 */
async function openRecording(t: TestApp, partnerId: string, talkId: string, owner: string, heartbeatAgoMs: number, audio = false) {
  const id = crypto.randomUUID();
  await t.services.recordings.repo.insert(t.services.db.db, partnerId, {
    id,
    talk_id: talkId,
    status: 'recording',
    owner_node: owner,
    heartbeat_at: new Date(Date.now() - heartbeatAgoMs),
    file_name: '12345678.mp4',
    storage_key: `${partnerId}/${id}/12345678.mp4`,
    size: null,
    duration: null,
    start_time: new Date(Date.now() - 60_000),
    end_time: null,
    created_by_id: null,
    user_id: null,
  });
  if (audio) {
    const track = {
      participant_id: 'p',
      user_id: null,
      uid: null,
      name: 'Hana Host',
      username: null,
      storage_key: `${partnerId}/${id}/12345678-1.m4a`,
      file_name: '12345678-1.m4a',
      offset: 1,
    };
    toneMp4(t.services.recordings.storage.localPath(track.storage_key), 2);
    await t.services.recordings.repo.update(partnerId, id, { tracks: [track] });
  }
  return id;
}

const statusOf = async (t: TestApp, partnerId: string, id: string) => (await t.services.recordings.repo.get(partnerId, id))?.status;

test('several servers on one database: a restart finalizes its own and abandoned recordings, not another live node’s', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'smalltalk-lease-'));
  const self = `${os.hostname()}:${path.resolve(dataDir)}`;
  // No transcription: it would start on the finalized tracks and outlive the app.
  let t = await startApp({ dataDir, onDisk: true, env: { TRANSCRIBE_ENGINE: 'none' } });
  let ids: { liveElsewhere: string; abandoned: string; mine: string };
  let partnerId: string;
  try {
    const p = await createPartner(t, 'Leasy');
    partnerId = p.partnerId;
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Shared database' } })).body.talk;
    ids = {
      liveElsewhere: await openRecording(t, partnerId, talk.id, 'node-b:/srv/smalltalk', 1_000, true),
      abandoned: await openRecording(t, partnerId, talk.id, 'node-c:/srv/smalltalk', 5 * 60_000, true),
      mine: await openRecording(t, partnerId, talk.id, self, 1_000, true),
    };
  } finally {
    await t.close();
  }
  // Node b is still heartbeating while this node restarts (however long the restart takes here).
  t = await startApp({ dataDir, onDisk: true, background: false, env: { TRANSCRIBE_ENGINE: 'none' } });
  try {
    await t.services.db.db.updateTable('recordings').set({ heartbeat_at: new Date() }).where('id', '=', ids.liveElsewhere).execute();
    await startBackground(t.services);
    assert.equal(await statusOf(t, partnerId, ids.liveElsewhere), 'recording', 'another node is still recording it: left alone');
    assert.equal(await statusOf(t, partnerId, ids.abandoned), 'ready', 'its node stopped renewing the lease: finalized');
    assert.equal(await statusOf(t, partnerId, ids.mine), 'ready', 'this node restarted: its own unfinished recording is finalized at once');
    const saved = (await eventsOf(t, 'recording_saved')).map((e) => e.body.id).sort();
    assert.deepEqual(saved, [ids.abandoned, ids.mine].sort());
    assert.equal((await t.services.recordings.repo.get(partnerId, ids.abandoned))?.owner_node, self, 'claimed by the node that finalized it');
  } finally {
    await t.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a recording node renews its lease while live; its sweep takes a recording whose owner went quiet', async () => {
  const t = await startApp({ env: { TRANSCRIBE_ENGINE: 'none' } });
  const room = new RtpTestRoom();
  const recorder = new Recorder(t.services, room, 600);
  try {
    const p = await createPartner(t, 'Leasy');
    const created = await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Heartbeat' } });
    const talk = await t.services.talks.repo.get(p.partnerId, created.body.talk.id);
    assert.ok(talk);
    const quiet = await openRecording(t, p.partnerId, talk.id, 'node-d:/srv/smalltalk', 0, true);
    recorder.startLease();
    await recorder.talkStarted(talk, new Date());
    const live = (await t.services.recordings.repo.list(p.partnerId, { talkId: talk.id, limit: 10 })).find((r) => r.id !== quiet);
    assert.ok(live?.heartbeat_at);
    assert.equal(live.owner_node, recorder.node);
    const first = live.heartbeat_at.getTime();
    // The quiet node's lease runs out and this node's sweep finalizes it...
    await waitFor(async () => (await statusOf(t, p.partnerId, quiet)) === 'ready', 'the abandoned recording finalized', 15_000);
    // ...while this node's own live recording, its heartbeat renewed, stays recording.
    const now = await t.services.recordings.repo.get(p.partnerId, live.id);
    assert.equal(now?.status, 'recording');
    assert.ok((now?.heartbeat_at?.getTime() ?? 0) > first, 'heartbeat renewed');
    await recorder.talkStopped(talk.id);
    await waitFor(async () => (await statusOf(t, p.partnerId, live.id)) === 'ready', 'the live recording finalized when its talk stopped', 15_000);
    assert.equal((await eventsOf(t, 'recording_saved')).length, 2);
  } finally {
    await recorder.stop();
    await t.close();
  }
});

test("a dead node's recording whose tracks are on its own disk is left to it, then failed with a reason after the abandon window", async () => {
  // 0.01 h = 36 s: a heartbeat 60 s old is past it; one 10 s old is stale (lease 600 ms) but not abandoned.
  const t = await startApp({ env: { RECORDING_ABANDON_HOURS: '0.01' } });
  const recorder = new Recorder(t.services, undefined, 600);
  try {
    const p = await createPartner(t, 'Leasy');
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Dead node' } })).body.talk;
    const onItsDisk = async (heartbeatAgoMs: number) => {
      const id = await openRecording(t, p.partnerId, talk.id, 'node-dead:/srv/smalltalk', heartbeatAgoMs);
      const track = {
        participant_id: 'x',
        user_id: null,
        uid: null,
        name: 'Hana Host',
        username: null,
        storage_key: `${p.partnerId}/${id}/12345678-1.m4a`,
        file_name: '12345678-1.m4a',
        offset: 0,
      };
      await t.services.recordings.repo.update(p.partnerId, id, { tracks: [track] });
      return id;
    };
    const waiting = await onItsDisk(10_000);
    const gone = await onItsDisk(60_000);
    await recorder.recover();
    assert.equal(await statusOf(t, p.partnerId, waiting), 'recording', 'its tracks are not readable here: left to its node');
    const failed = (await api(t, 'GET', `/api/v1/partners/recordings/${gone}`, { token: p.token })).body.recording;
    assert.equal(failed.status, 'failed');
    assert.match(failed.failure_reason, /node-dead.*has not come back/);
    assert.equal((await eventsOf(t, 'recording_saved')).length, 0, 'nothing was announced as saved');
    assert.equal((await api(t, 'GET', `/api/v1/partners/recordings/${waiting}`, { token: p.token })).body.recording.failure_reason, null);
  } finally {
    await recorder.stop();
    await t.close();
  }
});

test('recovery passes racing a talk that starts never finalize its recording; finalizing twice sends recording_saved once', async () => {
  const t = await startApp();
  const room = new RtpTestRoom();
  const recorder = new Recorder(t.services, room, 600);
  try {
    const p = await createPartner(t, 'Leasy');
    const created = await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Race' } });
    const talk = await t.services.talks.repo.get(p.partnerId, created.body.talk.id);
    assert.ok(talk);
    // Recovery passes while the session's insert is in flight, and after it.
    const started = recorder.talkStarted(talk, new Date());
    await Promise.all([recorder.recover(), recorder.recover(), started, recorder.recover()]);
    await recorder.recover();
    const [rec] = await t.services.recordings.repo.list(p.partnerId, { talkId: talk.id, limit: 10 });
    assert.equal(rec.status, 'recording', 'the new recording was left to its session');
    await recorder.talkStopped(talk.id);
    await waitFor(async () => (await statusOf(t, p.partnerId, rec.id)) === 'ready', 'finalized when its talk stopped', 15_000);
    const ready = await t.services.recordings.repo.get(p.partnerId, rec.id);
    assert.ok(ready);
    // A second finalize (a late recovery, a retried stop) changes nothing and announces nothing.
    await recorder.finalize(ready, new Date());
    assert.equal(await statusOf(t, p.partnerId, rec.id), 'ready');
    assert.equal((await eventsOf(t, 'recording_saved')).filter((e) => e.body.id === rec.id).length, 1);
  } finally {
    await recorder.stop();
    await t.close();
  }
});
