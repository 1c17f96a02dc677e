// A server recording a live talk through its real SFU, with a bot (real WebRTC) speaking, for
// crash-stall.test.ts to SIGKILL. Once the bot's track is being written, this process's main thread
// is starved three times for 1.5 s (a busy loop: the bot's audio timer stops, the SFU worker's tap
// sends silence through the gap, then the bot sends the stalled audio in a burst, as on a machine
// at load 50), then it prints one JSON line and waits to be killed.
// Usage: node --import tsx stall-child.ts <dataDir>
import { BotParticipant, decodeAudio } from '../../src/bot/participant.js';
import { probeDuration } from '../../src/platform/media.js';
import { api } from '../support/api.js';
import { createPartner, startApp } from '../support/app.js';
import { waitFor } from '../support/wait.js';
import { speechWav } from '../live/media.js';

const [dataDir] = process.argv.slice(2);
const STALLS = 3;
const STALL_MS = 1500;
const t = await startApp({
  dataDir,
  onDisk: true,
  env: { RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '1', TRANSCRIBE_ENGINE: 'none', LIVE_CAPTIONS: 'false' },
});
const p = await createPartner(t, 'Stalled');
const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Stalled talk' } })).body.talk;
const joinUrl = (await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/join_tokens`, { token: p.token, json: { name: 'Hana Host', role: 'host', uid: 'h' } }))
  .body.join_token.join_url;
const bot = new BotParticipant({ pageUrl: joinUrl, audio: await decodeAudio(speechWav()), decode: false });
await bot.join();
bot.send({ type: 'mute', muted: false });
const recording = async () => (await t.services.recordings.repo.list(p.partnerId, { talkId: talk.id, limit: 1 }))[0];
// The bot's track is in the row and its capture has written a second of audio.
const track = await waitFor(
  async () => {
    const rec = await recording();
    const tr = rec?.tracks[0];
    if (!tr) return null;
    const file = t.services.recordings.storage.localPath(tr.storage_key);
    return ((await probeDuration(file)) ?? 0) > 1 ? file : null;
  },
  'the bot’s track on disk',
  60_000,
);
for (let i = 0; i < STALLS; i++) {
  const until = Date.now() + STALL_MS;
  while (Date.now() < until) {
    // starved: nothing else runs on this thread
  }
  await new Promise((r) => setTimeout(r, 2500));
}
const rec = await recording();
process.stdout.write(
  `${JSON.stringify({ token: p.token, talkId: talk.id, recordingId: rec.id, track, trackSeconds: await probeDuration(track), stalls: STALLS, stallMs: STALL_MS })}\n`,
);
await new Promise(() => {});
