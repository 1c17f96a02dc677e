import { createSocket } from 'node:dgram';

/**
 * Picks UDP ports for werift's ICE sockets inside RTC_PORT_MIN..MAX.
 *
 * werift's own finder scans from the bottom of the range every time, binding and closing a probe
 * socket per port, then binds the port it found. Measured here: joining the Nth participant costs
 * N probes, and two peers gathering at once both find the same free port; the loser's bind fails,
 * its candidate never appears, gathering never completes, and the join times out. This cursor
 * moves forward through the range (wrapping), so concurrent callers in this thread never get the
 * same port, and a port is reused only after the whole range has been handed out.
 */
export class PortCursor {
  private readonly next = new Map<string, number>();

  async find(min: number, max: number, family: 'udp4' | 'udp6' = 'udp4', address?: string): Promise<number> {
    const key = `${min}-${max}`;
    const span = max - min + 1;
    for (let tries = 0; tries < span; tries++) {
      // Taken synchronously, before any await: no two callers probe the same port.
      const cursor = this.next.get(key) ?? min;
      this.next.set(key, cursor >= max ? min : cursor + 1);
      if (await isFree(cursor, family, address)) return cursor;
    }
    throw new Error(`no free UDP port in ${min}-${max}`);
  }
}

function isFree(port: number, family: 'udp4' | 'udp6', address?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket(family);
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind({ port, address }, () => socket.close(() => resolve(true)));
  });
}
