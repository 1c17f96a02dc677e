import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Recorder } from '../../src/recordings/recorder.js';
import { startBackground } from '../../src/services.js';
import { type TestApp, api, createPartner, startApp, waitFor } from '../helpers.js';
import { RtpTestRoom, eventsOf } from './media.js';

/** A recording row as a recording node leaves it: status 'recording', its owner and last heartbeat. */
async function openRecording(t: TestApp, partnerId: string, talkId: string, owner: string, heartbeatAgoMs: number) {
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
  return id;
}

const statusOf = async (t: TestApp, partnerId: string, id: string) => (await t.services.recordings.repo.get(partnerId, id))?.status;

test('several servers on one database: a restart finalizes its own and abandoned recordings, not another live node’s', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'smalltalk-lease-'));
  const self = `${os.hostname()}:${path.resolve(dataDir)}`;
  let t = await startApp({ dataDir, onDisk: true });
  let ids: { liveElsewhere: string; abandoned: string; mine: string };
  let partnerId: string;
  try {
    const p = await createPartner(t, 'Leasy');
    partnerId = p.partnerId;
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Shared database' } })).body.talk;
    ids = {
      liveElsewhere: await openRecording(t, partnerId, talk.id, 'node-b:/srv/smalltalk', 1_000),
      abandoned: await openRecording(t, partnerId, talk.id, 'node-c:/srv/smalltalk', 5 * 60_000),
      mine: await openRecording(t, partnerId, talk.id, self, 1_000),
    };
  } finally {
    await t.close();
  }
  // Node b is still heartbeating while this node restarts (however long the restart takes here).
  t = await startApp({ dataDir, onDisk: true, background: false });
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
  const t = await startApp();
  const room = new RtpTestRoom();
  const recorder = new Recorder(t.services, () => room, 600);
  try {
    const p = await createPartner(t, 'Leasy');
    const created = await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Heartbeat' } });
    const talk = await t.services.talks.repo.get(p.partnerId, created.body.talk.id);
    assert.ok(talk);
    const quiet = await openRecording(t, p.partnerId, talk.id, 'node-d:/srv/smalltalk', 0);
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
