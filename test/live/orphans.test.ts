import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { api } from '../support/api.js';
import { createPartner, startApp } from '../support/app.js';
import { joinRoom } from '../support/room.js';
import { waitFor } from '../support/wait.js';

test('talks left live by a stopped server: one nobody rejoins ends after the empty-room timeout, one rejoined stays live', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'smalltalk-orphans-'));
  const env = { RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '1', EMPTY_ROOM_TIMEOUT_SECONDS: '1' };
  let t = await startApp({ dataDir, onDisk: true, env });
  try {
    const p = await createPartner(t, 'Restarts');
    const status = async (id: string) => (await api(t, 'GET', `/api/v1/partners/talks/${id}`, { token: p.token })).body.talk.status;
    const forgotten = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Nobody came back' } })).body.talk;
    const resumed = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Everyone came back' } })).body.talk;
    for (const talk of [forgotten, resumed]) {
      (await joinRoom(talk.short_url, { name: 'Guest' })).socket.terminate();
      assert.equal(await status(talk.id), 'live');
    }
    // A stop (or a crash) leaves both live: a stopping server does not end its talks.
    await t.close();
    t = await startApp({ dataDir, onDisk: true, env });
    // The new server has another port: the same talk page there.
    const back = await joinRoom(`${t.url}${new URL(resumed.short_url).pathname}`, { name: 'Returning' });
    try {
      await waitFor(async () => (await status(forgotten.id)) === 'ended', 'the talk nobody came back to, to end', 5000);
      assert.equal(await status(resumed.id), 'live', 'a talk with its room open again goes on');
    } finally {
      back.socket.terminate();
    }
  } finally {
    await t.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
