import type { PeerConnection } from 'node-datachannel';

/** How long a libdatachannel peer waits for its ICE candidates before it describes itself (host candidates take a few ms). */
const GATHERING_MS = 3000;

/**
 * Runs `describe` (setting the local or the remote description, which starts candidate gathering) and
 * resolves, once the connection has gathered its candidates or after GATHERING_MS, with the local
 * description's SDP (null if there is none). The wait is set up before `describe`, so an end of
 * gathering that comes at once is not missed. Used by the media process, its light load-test
 * listeners and bench/sfu/floor.ts.
 */
export async function describeGathered(pc: PeerConnection, describe: () => void): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  const gathered = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, GATHERING_MS);
    pc.onGatheringStateChange((state) => {
      if (state === 'complete') resolve();
    });
  });
  describe();
  if (pc.gatheringState() !== 'complete') await gathered;
  clearTimeout(timer);
  return pc.localDescription()?.sdp ?? null;
}
