import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { exited } from '../../src/platform/media.js';
import { api } from '../support/api.js';
import { startApp, testDb } from '../support/app.js';
import { requireProgram } from '../support/processes.js';
import { eventsOf, speech } from './media.js';

// A SIGKILL before the speaker's capture had written anything (its ffmpeg not started yet, as on a
// machine at load 40: the chaos run's kill 1). It used to be finalized `ready` as a 0.1 s silent mix
// with no track, and announced with recording_saved as if it were the talk.
test('SIGKILL before any capture bytes: the recording is failed with a reason, never a silent ready file; no recording_saved', {
  skip: testDb !== 'pglite',
}, async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'smalltalk-crash-early-'));
  const wav = await speech('The harbour master counted every boat that came in before the storm.');
  // The capture's ffmpeg never starts: a shim first on the child's PATH stops itself (SIGSTOP) before it
  // execs the real one for a recorder capture (an SDP in a smalltalk-rtp- directory). The child finds it
  // stopped. Stopping the real ffmpeg once it appeared raced it: with the packets held for it passed on
  // the moment it listens, it wrote its first 770 bytes before the poll caught it (CI, load 3).
  const bin = path.join(dataDir, 'bin');
  mkdirSync(bin);
  const ffmpeg = requireProgram('ffmpeg');
  writeFileSync(path.join(bin, 'ffmpeg'), `#!/bin/sh\ncase "$*" in *smalltalk-rtp-*) kill -STOP $$ ;; esac\nexec ${ffmpeg} "$@"\n`, { mode: 0o755 });
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'crash-child.ts'), dataDir, wav, 'before-audio'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
  });
  let stopped: number[] = [];
  try {
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
    });
    const info = JSON.parse(first) as { token: string; talkId: string; recordingId: string; bytes: number; stopped: number[] };
    stopped = info.stopped;
    assert.equal(info.stopped.length, 1, 'the capture ffmpeg was stopped before it wrote');
    assert.equal(info.bytes, 0, 'no capture bytes on disk at the kill');
    child.kill('SIGKILL');
    await exited(child);

    let t = await startApp({ dataDir, onDisk: true });
    try {
      // Start-up dealt with it (recover() runs before the server is ready).
      const list = await api(t, 'GET', `/api/v1/partners/recordings?talk_id=${info.talkId}`, { token: info.token });
      assert.equal(list.body.recordings.length, 1);
      const rec = list.body.recordings[0];
      assert.equal(rec.id, info.recordingId);
      assert.equal(rec.status, 'failed', `status ${rec.status}, duration ${rec.duration}`);
      assert.match(rec.failure_reason, /before any speaker’s audio .* was written to disk/);
      assert.deepEqual(rec.tracks, []);
      assert.equal((await eventsOf(t, 'recording_saved')).length, 0);
    } finally {
      await t.close();
    }
    // A second restart leaves it as it is: still failed, still no event.
    t = await startApp({ dataDir, onDisk: true });
    try {
      const rec = (await api(t, 'GET', `/api/v1/partners/recordings/${info.recordingId}`, { token: info.token })).body.recording;
      assert.equal(rec.status, 'failed');
      assert.equal((await eventsOf(t, 'recording_saved')).length, 0);
    } finally {
      await t.close();
    }
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    // The stopped capture outlives the killed child: end it too.
    for (const pid of stopped) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
});
