/**
 * The SFU worker's CPU per answer: werift answering a libwebrtc offer (one mic m-line, four receive
 * slots, one bundled transport) as the offer arrives, and as the worker now hands it over (only the
 * usable candidates and the Opus payload types: src/sfu/offer.ts). Rounds alternate; prints the
 * process CPU per answer (werift's peer creation, SDP handling, gathering on 127.0.0.1, close).
 *   node --import tsx bench/sfu/answer.ts [answers per round=40] [rounds=3]
 */
import { usableOffer } from '../../src/sfu/offer.js';
import { weriftAnswerer, wrtcOfferer } from './peers.js';

const perRound = Number(process.argv[2] ?? 40);
const rounds = Number(process.argv[3] ?? 3);
const client = await wrtcOfferer();
await client.gathered();
const offer = client.pc.localDescription.sdp;
client.close();
const trimmed = usableOffer(offer, true);
console.log(`offer: ${offer.length} bytes as sent, ${trimmed.length} as handed to werift`);
const results: Record<string, number[]> = { 'as sent': [], 'handed over': [] };
for (let r = 0; r < rounds; r++) {
  for (const [name, sdp] of (r % 2
    ? [
        ['handed over', trimmed],
        ['as sent', offer],
      ]
    : [
        ['as sent', offer],
        ['handed over', trimmed],
      ]) as [string, string][]) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < perRound; i++) await (await weriftAnswerer(sdp)).pc.close();
    const c = process.cpuUsage(c0);
    results[name].push((c.user + c.system) / perRound / 1000);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [name, xs] of Object.entries(results))
  console.log(`${name.padEnd(12)} ${median(xs).toFixed(1)} ms CPU per answer (rounds: ${xs.map((x) => x.toFixed(1)).join(', ')})`);
console.log(`ratio: ${(median(results['handed over']) / median(results['as sent'])).toFixed(2)}`);
process.exit(0);
