import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { api } from '../support/api.js';
import { createPartner, startApp } from '../support/app.js';
import { joinRoom } from '../support/room.js';
import { waitFor } from '../support/wait.js';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'smalltalk-clean-stop-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

test('a server stopped while a recorded talk is live saves its recording before the database closes', async () => {
  const env = { RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '1', LIVE_CAPTIONS: 'false' };
  const t = await startApp({ env, dataDir, onDisk: true, logs: true });
  const p = await createPartner(t, 'Stops');
  const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Stopped while live' } })).body.talk;
  const guest = await joinRoom(talk.short_url, { name: 'Gil Guest' });
  await waitFor(async () => (await t.services.recordings.repo.list(p.partnerId, { talkId: talk.id }))[0], 'the recording to start', 10_000);
  await t.close(); // as the server's SIGTERM handler does: the app, then the services and the database
  guest.socket.terminate();
  const errors = t.lines.filter((l) => (l.level as number) >= 50).map((l) => l.msg);
  assert.deepEqual(errors, [], 'nothing failed while stopping');

  // The same data directory, nothing started that would finish it now (the recorder's recovery).
  const again = await startApp({ env, dataDir, onDisk: true, background: false });
  try {
    const [rec] = await again.services.recordings.repo.list(p.partnerId, { talkId: talk.id });
    assert.ok(rec.status === 'ready' || rec.status === 'failed', `finished as the server stopped, not left ${rec.status}`);
  } finally {
    await again.close();
  }
});
