import type { PeerConnection } from 'node-datachannel';

/** How long a libdatachannel peer waits for its ICE candidates before it describes itself (host candidates take a few ms). */
const GATHERING_MS = 3000;

/**
 * Resolves once the connection has gathered its candidates, or after GATHERING_MS. Made before the
 * description that starts gathering is set (so its end is not missed), awaited after it, when
 * `pc.gatheringState()` is not already `complete`. Used by the media process, its light load-test
 * listeners and bench/sfu/floor.ts.
 */
export function whenGathered(pc: PeerConnection): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, GATHERING_MS);
    pc.onGatheringStateChange((state) => {
      if (state === 'complete') {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}
