import { parseArgs } from 'node:util';
import type { Config } from '../platform/config.js';
import { BotParticipant, warmUp, decodeAudio } from './participant.js';

/** Resolves `<short_url|talk_id>`: a URL is used as is; a bare id needs PUBLIC_URL and a lookup by the server. */
async function pageUrlOf(target: string, config: () => Config): Promise<string> {
  if (/^https?:\/\//.test(target)) return target;
  const base = config().PUBLIC_URL;
  const res = await fetch(`${base}/t/by-id/${encodeURIComponent(target)}`, { redirect: 'manual' });
  const location = res.headers.get('location');
  if (res.status >= 300 && res.status < 400 && location) return new URL(location, base).toString();
  throw new Error(`no talk ${target} at ${base}`);
}

export const botUsage = 'smalltalk bot join <short_url|talk_id> [--token T] [--name N] [--play speech.wav] [--seconds S] [--json]';

/** `smalltalk bot join …` (botUsage). */
export async function botCommand(args: string[], config: () => Config): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      token: { type: 'string' },
      invite: { type: 'string' },
      name: { type: 'string' },
      play: { type: 'string' },
      seconds: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  if (sub !== 'join' || positionals.length !== 1) {
    console.error(`usage: ${botUsage}`);
    return 2;
  }
  const pageUrl = await pageUrlOf(positionals[0], config);
  const audio = values.play ? await decodeAudio(values.play) : undefined;
  const seconds = Number(values.seconds ?? 10);
  const bot = new BotParticipant({ pageUrl, name: values.name ?? 'bot', token: values.token, invite: values.invite, audio });
  try {
    warmUp();
    await bot.join();
  } catch (err) {
    const message = (err as Error).message;
    if (values.json) console.log(JSON.stringify({ ...bot.report, error: message }));
    else console.error(`could not join: ${message}`);
    await bot.leave();
    return 1;
  }
  const ended = bot.next((m) => m.type === 'ended' || m.type === 'removed', seconds * 1000 + 1000).catch(() => null);
  await Promise.race([new Promise((r) => setTimeout(r, seconds * 1000)), ended]);
  await bot.leave();
  const r = bot.report;
  if (values.json) console.log(JSON.stringify(r));
  else {
    console.log(`participant ${r.participantId} as ${r.role}${r.canSpeak ? ' (may speak)' : ' (listening)'}`);
    console.log(`join time (connect to first audio frame): ${r.joinMs === null ? 'no audio received' : `${r.joinMs} ms`}`);
    console.log(`received audio: mean RMS ${r.receivedRms}, ${r.loudFrames}/${r.frames} frames above threshold`);
    console.log(`packets: ${r.packetsReceived} received, ${r.packetsLost} lost; concealed ${r.concealedSamples}/${r.totalSamples} samples`);
  }
  return 0;
}
