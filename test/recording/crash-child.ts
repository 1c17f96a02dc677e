// A server recording a talk, for crash.test.ts to SIGKILL mid-talk. Prints one JSON line once
// the speaker's track is being written. Usage: node --import tsx crash-child.ts <dataDir> <wav>
import { probeDuration } from '../../src/platform/media.js';
import { startBackground } from '../../src/compose.js';
import { api, createPartner, startApp, waitFor } from '../helpers.js';
import { RtpTestRoom, speaker } from './media.js';

const [dataDir, wav] = process.argv.slice(2);
const t = await startApp({ dataDir, onDisk: true, background: false });
const room = new RtpTestRoom();
t.services.live = room;
await startBackground(t.services);
const p = await createPartner(t, 'Crashy');
const created = await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Crash course' } });
const talk = await t.services.talks.repo.get(p.partnerId, created.body.talk.id);
if (!talk) throw new Error('no talk');
room.voice('host', wav);
const startedAt = new Date();
await room.talkStarted(talk, startedAt);
await room.speakerStarted(talk.id, speaker('host', 'Hana Host', 'hana'));
const rec = (await t.services.recordings.repo.list(p.partnerId, { talkId: talk.id, limit: 1 }))[0];
const track = t.services.recordings.storage.localPath(rec.tracks[0].storage_key);
await waitFor(async () => ((await probeDuration(track)) ?? 0) > 0.5, 'track on disk');
process.stdout.write(
  `${JSON.stringify({ token: p.token, partnerId: p.partnerId, talkId: talk.id, recordingId: rec.id, startedAt: startedAt.getTime(), track })}\n`,
);
