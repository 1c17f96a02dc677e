/**
 * Times the steps of one join against werift directly (no server, no signalling): the wrtc offer
 * and its ICE gathering, werift's answer and gathering, and answer-to-connected (ICE + DTLS), with
 * werift as DTLS client (what werift picks as answerer) or server (what the SFU now forces).
 *   node --import tsx bench/sfu/phases.ts [client|server]
 */
import { weriftAnswerer, wrtcOfferer } from './peers.js';

const role = process.argv[2] === 'client' ? 'client' : 'server';
const t0 = performance.now();
const ms = () => Math.round(performance.now() - t0);
const client = await wrtcOfferer();
await client.gathered();
console.log('wrtc offer gathered', ms());
const server = await weriftAnswerer(client.pc.localDescription.sdp, role);
console.log('werift answered', ms(), server.pc.iceGatheringState, server.answer.match(/a=setup:\w+/)?.[0]);
const answered = ms();
const connected = client.connected();
await client.pc.setRemoteDescription({ type: 'answer', sdp: server.answer });
await connected;
console.log(`werift as DTLS ${role}: answer to connected ${ms() - answered} ms`);
client.close();
await server.pc.close();
process.exit(0);
