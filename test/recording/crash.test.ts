import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { exited, probeDuration } from '../../src/platform/media.js';
import { api } from '../support/api.js';
import { startApp, testDb } from '../support/app.js';
import { waitFor } from '../support/wait.js';
import { eventsOf, meanVolume, speech, withPauses } from './media.js';

test('SIGKILL mid-talk: after restart the recording up to the kill is playable, listed once, recording_saved once', { skip: testDb !== 'pglite' }, async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'smalltalk-crash-'));
  const lines = [
    'One morning the little boat left the harbour.',
    'The sea was calm and the sky was blue.',
    'Nobody on board expected the storm that came at noon.',
  ];
  const wav = await withPauses(await Promise.all(lines.map(speech)), 0.5, path.join(dataDir, 'talk.wav'));
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'crash-child.ts'), dataDir, wav], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
    });
    const info = JSON.parse(first) as { token: string; talkId: string; recordingId: string; startedAt: number; track: string };
    // Kill once the speaker's fragmented track holds more than 4 s of audio.
    await waitFor(async () => ((await probeDuration(info.track)) ?? 0) > 4, 'four seconds recorded', 20_000);
    child.kill('SIGKILL');
    const killedAt = Date.now();
    await exited(child);
    const expected = (killedAt - info.startedAt) / 1000;

    let t = await startApp({ dataDir, onDisk: true });
    try {
      // Start-up finalized it: the row is ready and recording_saved was emitted exactly once.
      const saved = await eventsOf(t, 'recording_saved');
      assert.equal(saved.length, 1);
      assert.equal(saved[0].body.id, info.recordingId);
      const list = await api(t, 'GET', `/api/v1/partners/recordings?talk_id=${info.talkId}`, { token: info.token });
      assert.equal(list.body.recordings.length, 1);
      const rec = list.body.recordings[0];
      assert.equal(rec.status, 'ready');
      const file = path.join(dataDir, 'downloaded.mp4');
      const res = await fetch(rec.url);
      assert.equal(res.status, 200);
      const { writeFile } = await import('node:fs/promises');
      await writeFile(file, Buffer.from(await res.arrayBuffer()));
      const duration = await probeDuration(file);
      console.log(
        `crash: track offsets ${rec.tracks.map((x: { offset: number }) => x.offset).join(', ')} s, mix ${duration} s, killed at ${expected.toFixed(2)} s`,
      );
      assert.ok(duration !== null && duration >= expected - 2 && duration <= expected + 0.5, `duration ${duration} s, killed at ${expected.toFixed(2)} s`);
      assert.ok((await meanVolume(file)) > -45, 'not silent');
      await waitFor(async () => (await eventsOf(t, 'transcription_ready')).length > 0, 'transcription_ready', 60_000);
    } finally {
      await t.close();
    }
    // A second restart finds nothing left to finalize: no duplicate row or event.
    t = await startApp({ dataDir, onDisk: true });
    try {
      assert.equal((await eventsOf(t, 'recording_saved')).length, 1);
      const list = await api(t, 'GET', `/api/v1/partners/recordings?talk_id=${info.talkId}`, { token: info.token });
      assert.equal(list.body.recordings.length, 1);
    } finally {
      await t.close();
    }
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});
