/**
 * Times the steps of one join against werift directly (no server, no signalling): the wrtc offer
 * and its ICE gathering, werift's answer and gathering, and answer-to-connected (ICE + DTLS), with
 * werift as DTLS client (what werift picks as answerer) or server (what the SFU now forces).
 *   node --import tsx bench/sfu/phases.ts [client|server]
 */
import { createRequire } from 'node:module';
import { RTCPeerConnection, useAudioLevelIndication, useOPUS, useSdesMid } from 'werift';

interface WrtcPeer {
  addTransceiver(t: unknown, init: { direction: string }): void;
  createOffer(): Promise<{ type: string; sdp: string }>;
  setLocalDescription(d: { type: string; sdp: string }): Promise<void>;
  setRemoteDescription(d: { type: string; sdp: string }): Promise<void>;
  localDescription: { sdp: string };
  iceGatheringState: string;
  connectionState: string;
  onicegatheringstatechange: (() => void) | null;
  onconnectionstatechange: (() => void) | null;
  close(): void;
}
const wrtc = createRequire(import.meta.url)('@roamhq/wrtc') as {
  RTCPeerConnection: new (c: object) => WrtcPeer;
  nonstandard: { RTCAudioSource: new () => { createTrack(): { stop(): void } } };
};
const role = process.argv[2] === 'client' ? 'client' : 'server';
const t0 = performance.now();
const ms = () => Math.round(performance.now() - t0);
const pc = new wrtc.RTCPeerConnection({ iceServers: [] });
const track = new wrtc.nonstandard.RTCAudioSource().createTrack();
pc.addTransceiver(track, { direction: 'sendonly' });
for (let i = 0; i < 4; i++) pc.addTransceiver('audio', { direction: 'recvonly' });
await pc.setLocalDescription(await pc.createOffer());
await new Promise<void>((r) => {
  if (pc.iceGatheringState === 'complete') return r();
  pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r();
});
console.log('wrtc offer gathered', ms());
const s = new RTCPeerConnection({
  codecs: { audio: [useOPUS()], video: [] },
  headerExtensions: { audio: [useSdesMid(), useAudioLevelIndication()], video: [] },
  iceUseIpv6: false,
  iceAdditionalHostAddresses: ['127.0.0.1'],
  iceInterfaceAddresses: { udp4: '127.0.0.1' },
});
await s.setRemoteDescription({ type: 'offer', sdp: pc.localDescription.sdp });
s.getTransceivers().forEach((t, i) => {
  t.setDirection(i === 0 ? 'recvonly' : 'sendonly');
  if (role === 'server') t.dtlsTransport.role = 'server';
});
await s.setLocalDescription(await s.createAnswer());
console.log('werift answered', ms(), s.iceGatheringState, s.localDescription?.sdp.match(/a=setup:\w+/)?.[0]);
const loopback = (s.localDescription?.sdp ?? '')
  .split('\r\n')
  .filter((l) => !l.startsWith('a=candidate:') || l.split(' ')[4] === '127.0.0.1')
  .join('\r\n');
const answered = ms();
const connected = new Promise<void>((r) => {
  pc.onconnectionstatechange = () => pc.connectionState === 'connected' && r();
});
await pc.setRemoteDescription({ type: 'answer', sdp: loopback });
await connected;
console.log(`werift as DTLS ${role}: answer to connected ${ms() - answered} ms`);
track.stop();
pc.close();
await s.close();
process.exit(0);
