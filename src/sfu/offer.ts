/** What the SFU keeps of a client's offer and trickled candidates before its media engine sees them. */

/**
 * Whether the media engines (werift, libdatachannel) could use a client's candidate (`candidate:...` or an SDP `a=candidate:` line):
 * UDP to an IPv4 address (werift here has no IPv6 and no ICE-TCP; a browser's `.local` names are
 * mDNS), and in loopback mode (werift bound to 127.0.0.1) only 127.0.0.1. The rest are dropped
 * before werift sees them: each one it is given costs a re-serialisation of the whole remote
 * description (about 4.6 ms of the worker thread per trickling client in a profiled burst of joins),
 * and a client it cannot reach directly is found anyway from its first connectivity check (a
 * peer-reflexive candidate).
 */
export function usableCandidate(candidate: string, loopback: boolean): boolean {
  const f = candidate.replace(/^a=/, '').split(' ');
  const ip = f[4] ?? '';
  if (f[2]?.toLowerCase() !== 'udp' || !/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) return false;
  return !loopback || ip === '127.0.0.1';
}

/**
 * The offer as werift needs it: without the candidates it could not use (see usableCandidate) and
 * with only the Opus payload types of each m-line (the only codec the SFU forwards). A libwebrtc
 * offer lists 15 payload types per m-line (RED, G722, PCMU, CN, telephone-event...) on five
 * m-lines; werift builds objects for each and writes them back: measured in-process, the answer
 * took 11-15 ms of CPU from the whole offer and 6-10 ms from this one, for the same answer.
 */
export function usableOffer(sdp: string, loopback: boolean): string {
  return sdp
    .split(/\r\n(?=m=)/)
    .map((section) => {
      const lines = section.split('\r\n').filter((line) => !line.startsWith('a=candidate:') || usableCandidate(line, loopback));
      if (!lines[0].startsWith('m=audio ')) return lines.join('\r\n');
      const opus = new Set(lines.map((l) => /^a=rtpmap:(\d+) opus\//i.exec(l)?.[1]).filter((pt): pt is string => pt !== undefined));
      if (opus.size === 0) return lines.join('\r\n');
      const m = lines[0].split(' ');
      const mline = [...m.slice(0, 3), ...m.slice(3).filter((pt) => opus.has(pt))].join(' ');
      const rest = lines.slice(1).filter((l) => {
        const pt = /^a=(?:rtpmap|fmtp|rtcp-fb):(\d+)/.exec(l)?.[1];
        return pt === undefined || opus.has(pt);
      });
      return [mline, ...rest].join('\r\n');
    })
    .join('\r\n');
}

/**
 * Whether an offer comes from libdatachannel (its origin line's user name is `rtc`): native apps, the
 * load test's light listeners (src/bot/dc-listeners.ts). libdatachannel routes incoming RTP by SSRC
 * only, ignoring the MID header extension: its answer must name the receive slots' SSRCs, which the
 * answers otherwise leave out (dc-worker.ts's withSlotSsrcs). The werift engine does not connect to
 * such a client at all (ICE never completed in a try; not investigated).
 */
export function fromLibdatachannel(sdp: string): boolean {
  return /^o=rtc /m.test(sdp);
}
