import { BotParticipant, decodeAudio, warmUp } from './participant.js';

/**
 * A worker process of the load test: `count` participants joining `pageUrl`, one every
 * `spacingMs` (default 20), the first after `delayMs` (default 0). The first `decode` of them decode audio; the rest are light
 * (ICE/DTLS/SRTP complete, packets counted from stats). Prints one JSON line with every
 * participant's report.
 */
async function main() {
  const [pageUrl, countText, secondsText, decodeText, playFile, spacingText, delayText] = process.argv.slice(2);
  const spacingMs = Number(spacingText || 20);
  warmUp();
  await new Promise((r) => setTimeout(r, Number(delayText || 0)));
  const count = Number(countText);
  const seconds = Number(secondsText);
  const audio = playFile ? await decodeAudio(playFile) : undefined;
  const bots: BotParticipant[] = [];
  const joins: Promise<void>[] = [];
  // The decoding listeners' concealment, once a second, so a run can tell when it happened.
  const sampler = setInterval(() => {
    for (const b of bots) if (b.report.decoding && !audio) void b.sampleConcealment().catch(() => undefined);
  }, 1000);
  for (let i = 0; i < count; i++) {
    const bot = new BotParticipant({ pageUrl, name: `load ${process.pid}-${i}`, audio, decode: audio ? true : i < Number(decodeText) });
    bots.push(bot);
    joins.push(
      bot.join().catch((err: Error) => {
        bot.report.error = err.message;
      }),
    );
    await new Promise((r) => setTimeout(r, spacingMs)); // spread the joins, as real arrivals are
  }
  await Promise.all(joins);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  clearInterval(sampler);
  for (const b of bots) await b.collectStats().catch(() => undefined);
  const reports = bots.map((b) => ({ ...b.report }));
  await Promise.all(bots.map((b) => b.leave()));
  process.stdout.write(`${JSON.stringify(reports)}\n`);
  process.exit(0);
}

void main();
