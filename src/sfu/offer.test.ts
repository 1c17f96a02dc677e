import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { usableCandidate, usableOffer } from './offer.js';

/** The shape of a libwebrtc offer (one of its m-lines shortened to the lines that matter here). */
const section = (mid: number, direction: string) =>
  [
    'm=audio 46135 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126',
    'c=IN IP4 192.0.2.2',
    'a=candidate:1 1 udp 2122265343 fd00::2 50041 typ host generation 0',
    'a=candidate:2 1 udp 2122194687 192.0.2.2 46135 typ host generation 0',
    'a=candidate:3 1 udp 2122063615 127.0.0.1 54080 typ host generation 0',
    'a=candidate:4 1 tcp 1518083839 127.0.0.1 37087 typ host tcptype passive generation 0',
    'a=candidate:5 1 udp 2122063615 4b7c-1234.local 54081 typ host generation 0',
    'a=ice-ufrag:PhyO',
    `a=mid:${mid}`,
    'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
    `a=${direction}`,
    'a=rtcp-mux',
    'a=rtpmap:111 opus/48000/2',
    'a=rtcp-fb:111 transport-cc',
    'a=fmtp:111 minptime=10;useinbandfec=1',
    'a=rtpmap:63 red/48000/2',
    'a=fmtp:63 111/111',
    'a=rtpmap:9 G722/8000',
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:13 CN/8000',
    'a=rtpmap:110 telephone-event/48000',
    'a=rtpmap:126 telephone-event/8000',
  ].join('\r\n');
const offer =
  ['v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0 1'].join('\r\n') +
  '\r\n' +
  section(0, 'sendonly') +
  '\r\n' +
  section(1, 'recvonly') +
  '\r\n';

describe('what the SFU keeps of an offer', () => {
  test('only the Opus payload type of each m-line, with its own lines, and every other line as it was', () => {
    const out = usableOffer(offer, false);
    const lines = out.split('\r\n');
    assert.deepEqual(
      lines.filter((l) => l.startsWith('m=')),
      ['m=audio 46135 UDP/TLS/RTP/SAVPF 111', 'm=audio 46135 UDP/TLS/RTP/SAVPF 111'],
    );
    for (const kept of ['a=rtpmap:111 opus/48000/2', 'a=rtcp-fb:111 transport-cc', 'a=fmtp:111 minptime=10;useinbandfec=1']) {
      assert.equal(lines.filter((l) => l === kept).length, 2, `${kept} stays in both m-lines`);
    }
    assert.ok(!/a=(rtpmap|fmtp):(63|9|0|8|13|110|126)\b/.test(out), 'no other codec is left');
    for (const same of [
      'a=group:BUNDLE 0 1',
      'a=mid:0',
      'a=mid:1',
      'a=sendonly',
      'a=recvonly',
      'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
      'a=rtcp-mux',
    ]) {
      assert.ok(lines.includes(same), `${same} is kept`);
    }
    assert.ok(out.endsWith('\r\n'), 'the offer still ends with a line break');
  });

  test('candidates: UDP to IPv4 only, and only 127.0.0.1 in loopback mode', () => {
    const candidates = (sdp: string) => sdp.split('\r\n').filter((l) => l.startsWith('a=candidate:'));
    assert.deepEqual(candidates(usableOffer(offer, false)), [
      'a=candidate:2 1 udp 2122194687 192.0.2.2 46135 typ host generation 0',
      'a=candidate:3 1 udp 2122063615 127.0.0.1 54080 typ host generation 0',
      'a=candidate:2 1 udp 2122194687 192.0.2.2 46135 typ host generation 0',
      'a=candidate:3 1 udp 2122063615 127.0.0.1 54080 typ host generation 0',
    ]);
    assert.deepEqual(candidates(usableOffer(offer, true)), [
      'a=candidate:3 1 udp 2122063615 127.0.0.1 54080 typ host generation 0',
      'a=candidate:3 1 udp 2122063615 127.0.0.1 54080 typ host generation 0',
    ]);
    assert.equal(usableCandidate('candidate:9 1 UDP 1686052607 203.0.113.7 3478 typ srflx raddr 0.0.0.0 rport 0', false), true);
    assert.equal(usableCandidate('candidate:9 1 udp 1686052607 203.0.113.7 3478 typ srflx raddr 0.0.0.0 rport 0', true), false);
    assert.equal(usableCandidate('candidate:5 1 udp 2122063615 4b7c-1234.local 54081 typ host', false), false);
    assert.equal(usableCandidate('not a candidate', false), false);
  });

  test('an m-line without Opus is left for werift to refuse', () => {
    const noOpus = offer.replaceAll('opus/48000/2', 'speex/16000');
    assert.ok(usableOffer(noOpus, false).includes('m=audio 46135 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126'));
  });
});
