// A server recording a talk, for crash tests to SIGKILL mid-talk. Prints one JSON line once the
// speaker's track is being written (mode `audio`, the default), or once the track is in the row
// while its capture's ffmpeg is stopped (SIGSTOP) before it wrote anything (mode `before-audio`:
// what a heavily loaded machine does to a capture that is slow to start), or (mode `late-listen`,
// whose test puts an ffmpeg that starts 8 s late first on the PATH) once the track has caught up
// with the present, what was held meanwhile written (the taps of this mode are played from a process of their own, sending from the first
// moment as the SFU's do).
// Usage: node --import tsx crash-child.ts <dataDir> <wav> [audio|before-audio|late-listen]
import { readFile, stat } from 'node:fs/promises';
import { childrenOf } from '../support/processes.js';
import { probeDuration } from '../../src/platform/media.js';
import { startBackground } from '../../src/compose.js';
import { api } from '../support/api.js';
import { createPartner, startApp } from '../support/app.js';
import { waitFor } from '../support/wait.js';
import { RtpTestRoom, speaker } from './media.js';
import { PlayedRoom } from './rtp-player.js';

const [dataDir, wav, mode = 'audio'] = process.argv.slice(2);

/**
 * Stops (SIGSTOP) every recorder capture ffmpeg (`-i <tmp>/smalltalk-rtp-…/<n>.sdp`) this process
 * starts (through its spawner), as soon as it appears.
 */
const stopped = new Set<number>();
function stopCaptures(): () => number[] {
  let running = true;
  void (async () => {
    while (running) {
      // Every process under this one: the media children are the spawner's (src/platform/spawner.ts).
      for (const pid of childrenOf(process.pid)) {
        if (stopped.has(pid)) continue;
        const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
        if (!cmdline.some((a) => a.includes('smalltalk-rtp-') && a.endsWith('.sdp'))) continue;
        process.kill(pid, 'SIGSTOP');
        stopped.add(pid);
      }
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  return () => {
    running = false;
    return [...stopped];
  };
}

// late-listen checks where the track sits against the kill: its taps must start sending at once, as
// the SFU's do (an ffmpeg sender started at the tap took up to seconds under load).
const room = mode === 'late-listen' ? new PlayedRoom() : new RtpTestRoom();
const t = await startApp({ dataDir, onDisk: true, background: false, live: room });
await startBackground(t.services);
const p = await createPartner(t, 'Crashy');
const created = await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Crash course' } });
const talk = await t.services.talks.repo.get(p.partnerId, created.body.talk.id);
if (!talk) throw new Error('no talk');
room.voice('host', wav);
if (room instanceof PlayedRoom) await room.voiceOpus('host', wav);
// (late-listen: the test's PATH makes the capture ffmpeg start 8 s late; see crash-late.test.ts.)
const stoppedCaptures = mode === 'before-audio' ? stopCaptures() : () => [];
const startedAt = new Date();
await room.talkStarted(talk, startedAt);
// Resolves once the capture is started and the speaker tapped (RTP flowing to its port).
await room.speakerStarted(talk.id, speaker('host', 'Hana Host', 'hana'));
// The recorder no longer waits for its ffmpeg to listen before the tap (a hold keeps the packets):
// wait here for the capture to be caught and stopped.
if (mode === 'before-audio') await waitFor(async () => stopped.size > 0, 'the capture ffmpeg stopped', 30_000);
const rec = (await t.services.recordings.repo.list(p.partnerId, { talkId: talk.id, limit: 1 }))[0];
const track = t.services.recordings.storage.localPath(rec.tracks[0].storage_key);
if (mode === 'audio') await waitFor(async () => ((await probeDuration(track)) ?? 0) > 0.5, 'track on disk');
// late-listen: once what was held for the late ffmpeg is written and the track has caught up with the present.
if (mode === 'late-listen') {
  const caughtUp = async () => {
    const lasted = (await probeDuration(track)) ?? 0;
    return lasted > 2 && lasted > (Date.now() - startedAt.getTime()) / 1000 - 1;
  };
  await waitFor(caughtUp, 'the track caught up', 60_000);
}
const bytes = await stat(track).then(
  (s) => s.size,
  () => 0,
);
process.stdout.write(
  `${JSON.stringify({ token: p.token, partnerId: p.partnerId, talkId: talk.id, recordingId: rec.id, startedAt: startedAt.getTime(), track, bytes, stopped: stoppedCaptures() })}\n`,
);
