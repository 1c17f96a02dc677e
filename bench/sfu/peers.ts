/**
 * The two ends of one join, for the SFU benchmarks that run without the server: a libwebrtc (wrtc)
 * client offering as the bots and pages do (mic m-line, then four receive slots, one bundled
 * transport), and a werift peer configured as the SFU worker configures its own.
 */
import { createRequire } from 'node:module';
import { RTCPeerConnection, useAudioLevelIndication, useOPUS, useSdesMid } from 'werift';

export interface WrtcPeer {
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

/** A wrtc client with its offer set; `gathered` waits for its ICE gathering to complete. */
export async function wrtcOfferer() {
  const pc = new wrtc.RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle' });
  const track = new wrtc.nonstandard.RTCAudioSource().createTrack();
  pc.addTransceiver(track, { direction: 'sendonly' });
  for (let i = 0; i < 4; i++) pc.addTransceiver('audio', { direction: 'recvonly' });
  await pc.setLocalDescription(await pc.createOffer());
  const gathered = () =>
    new Promise<void>((r) => {
      if (pc.iceGatheringState === 'complete') return r();
      pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r();
    });
  const connected = () =>
    new Promise<void>((r) => {
      if (pc.connectionState === 'connected') return r();
      pc.onconnectionstatechange = () => pc.connectionState === 'connected' && r();
    });
  return {
    pc,
    gathered,
    connected,
    close() {
      track.stop();
      pc.close();
    },
  };
}

/** A werift peer answering `offer` as the SFU worker does (DTLS role `server` unless told `client`). */
export async function weriftAnswerer(offer: string, role: 'server' | 'client' = 'server') {
  const s = new RTCPeerConnection({
    codecs: { audio: [useOPUS()], video: [] },
    headerExtensions: { audio: [useSdesMid(), useAudioLevelIndication()], video: [] },
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceInterfaceAddresses: { udp4: '127.0.0.1' },
  });
  await s.setRemoteDescription({ type: 'offer', sdp: offer });
  const transceivers = s.getTransceivers();
  transceivers.forEach((t, i) => {
    // No STUN server: werift's default (a public one) is removed, as the worker does.
    (t.dtlsTransport.iceTransport.connection as { stunServer?: unknown }).stunServer = undefined;
    t.setDirection(i === 0 ? 'recvonly' : 'sendonly');
    if (role === 'server') t.dtlsTransport.role = 'server';
  });
  await s.setLocalDescription(await s.createAnswer());
  const answer = (s.localDescription?.sdp ?? '')
    .split('\r\n')
    .filter((l) => !l.startsWith('a=candidate:') || l.split(' ')[4] === '127.0.0.1')
    .join('\r\n');
  return { pc: s, transceivers, answer };
}
