import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { exited, probeDuration } from '../../src/platform/media.js';
import { api } from '../support/api.js';
import { startApp, testDb } from '../support/app.js';
import { requireProgram } from '../support/processes.js';
import { eventsOf, maxVolume, speech, withPauses } from './media.js';

// A capture whose ffmpeg listens only 8 s after it was started (as a starved process on a loaded
// machine): the recorder taps the speaker at once, into a hold that keeps the packets
// until ffmpeg listens, so the file starts at the tap with the speaker's first words in it. (Before
// the hold, what the tap sent until ffmpeg listened was lost and the track started 8 s in; earlier
// still, it stayed placed at the tap's time and ended about 3 s before the kill.)
test('SIGKILL after a capture that started listening late: its track starts at the tap, keeps the first words, and ends at the kill', {
  skip: testDb !== 'pglite',
}, async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'smalltalk-crash-late-'));
  const lines = [
    'The lighthouse keeper wrote down every ship that passed in the night.',
    'In the morning he walked down to the harbour to count the boats.',
    'Some of them had come from very far away across the northern sea.',
    'He always asked the sailors where they had been and what they had seen.',
  ];
  const wav = await withPauses(await Promise.all(lines.map(speech)), 0.5, path.join(dataDir, 'talk.wav'));
  // The capture's ffmpeg starts 8 s late: a shim first on the child's PATH sleeps before it execs the
  // real one for a recorder capture (an SDP in a smalltalk-rtp- directory). Stopping the real ffmpeg
  // with SIGSTOP instead raced its bind: caught after binding, it held the packets in its own socket
  // buffer, which overflows after ~4 s, and no hold on our side can help a process that never reads.
  const bin = path.join(dataDir, 'bin');
  mkdirSync(bin);
  const ffmpeg = requireProgram('ffmpeg');
  writeFileSync(path.join(bin, 'ffmpeg'), `#!/bin/sh\ncase "$*" in *smalltalk-rtp-*) sleep 8 ;; esac\nexec ${ffmpeg} "$@"\n`, { mode: 0o755 });
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'crash-child.ts'), dataDir, wav, 'late-listen'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
  });
  try {
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
    });
    child.kill('SIGKILL');
    const killedAt = Date.now();
    await exited(child);
    const info = JSON.parse(first) as { token: string; talkId: string; recordingId: string; startedAt: number; stopped: number[] };

    const t = await startApp({ dataDir, onDisk: true, env: { TRANSCRIBE_ENGINE: 'none' } });
    try {
      const rec = (await api(t, 'GET', `/api/v1/partners/recordings/${info.recordingId}`, { token: info.token })).body.recording;
      assert.equal(rec.status, 'ready');
      assert.equal((await eventsOf(t, 'recording_saved')).length, 1);
      assert.equal(rec.tracks.length, 1);
      const file = path.join(dataDir, 'track.m4a');
      await writeFile(file, Buffer.from(await (await fetch(rec.tracks[0].url)).arrayBuffer()));
      const lasted = (await probeDuration(file)) ?? 0;
      const untilKill = (killedAt - new Date(rec.start_time).getTime()) / 1000;
      const trackEnd = rec.tracks[0].offset + lasted;
      console.log(
        `crash-late: track ${lasted.toFixed(2)} s from ${rec.tracks[0].offset.toFixed(2)} s, ending ${trackEnd.toFixed(2)} s in; the kill ${untilKill.toFixed(2)} s in`,
      );
      assert.ok(rec.tracks[0].offset < 2, `the track starts at the tap, not where ffmpeg listened 8 s later: ${rec.tracks[0].offset} s`);
      // The first sentence is spoken from the tap's first moments: it is in the file, not lost.
      const firstWords = await maxVolume(file, 0, 2);
      assert.ok(firstWords > -30, `speech in the track's first 2 s (loudest ${firstWords} dB)`);
      assert.ok(Math.abs(trackEnd - untilKill) < 2, `the track ends ${trackEnd.toFixed(2)} s in, the kill came ${untilKill.toFixed(2)} s in`);
    } finally {
      await t.close();
    }
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});
