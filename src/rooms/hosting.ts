/** This node's share of the rooms (placement.ts): claims made on first joins, renewed by heartbeat, and live talks no node hosts swept to their end. */
import type { Logger } from 'pino';
import type { TalksService } from '../talks/service.js';
import type { RoomPlacement } from './placement.js';
import type { RoomsRepository } from './repository.js';

/** The rooms open on this node, as hosting sees them. */
export interface OpenRooms {
  has(talkId: string): boolean;
  talkIds(): string[];
  /** Another node took the talk over: its room here closes, its pages reconnect there. */
  moved(talkId: string): void;
}

/** Claims, renewals and the orphan sweep of one node; the rooms themselves are the caller's. */
export class RoomHosting {
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private heartbeating: Promise<void> | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  /** First joins of a talk on this node between its claim and its room opening. */
  private readonly claiming = new Map<string, number>();
  /** Live talks seen with no room on any node, since when (sweepOrphans). */
  private readonly orphanedSince = new Map<string, number>();

  constructor(
    private readonly placement: RoomPlacement,
    private readonly repo: RoomsRepository,
    private readonly talks: TalksService,
    private readonly emptyRoomTimeoutSeconds: number,
    private readonly log: Logger,
    private readonly rooms: OpenRooms,
  ) {}

  async start() {
    await this.placement.start();
    const timeoutMs = this.emptyRoomTimeoutSeconds * 1000;
    this.sweepTimer = setInterval(
      () => void this.sweepOrphans().catch((err) => this.log.warn({ err }, 'could not look for live talks left without a room')),
      Math.min(60_000, Math.max(500, timeoutMs / 2)),
    );
    this.sweepTimer.unref();
    if (this.placement.heartbeatMs > 0) {
      this.heartbeatTimer = setInterval(() => {
        this.heartbeating ??= this.heartbeat().finally(() => {
          this.heartbeating = null;
        });
      }, this.placement.heartbeatMs);
      this.heartbeatTimer.unref();
    }
  }

  /**
   * A first join of a talk whose room is not open here: the talk is claimed for this node and
   * `join` opens its room, unless another node hosts it (its URL, for the client to go there).
   */
  async claimAndJoin<T>(talkId: string, join: () => Promise<T>): Promise<T | { nodeUrl: string | null }> {
    this.claiming.set(talkId, (this.claiming.get(talkId) ?? 0) + 1);
    try {
      const placed = await this.placement.claim(talkId);
      if (!placed.local) return { nodeUrl: placed.nodeUrl };
      return await join();
    } finally {
      const left = (this.claiming.get(talkId) ?? 1) - 1;
      if (left > 0) this.claiming.set(talkId, left);
      else this.claiming.delete(talkId);
      // Refused before the room opened (a bad token, say), and no other first join under way: the
      // claim goes. (A claim another node holds is not this node's to release: release checks.)
      if (left === 0 && !this.rooms.has(talkId)) void this.placement.release(talkId).catch(() => undefined);
    }
  }

  /** A room closed for good here: other nodes may claim the talk at once. */
  release(talkId: string) {
    void this.placement.release(talkId).catch((err) => this.log.warn({ err, talkId }, 'could not release the room'));
  }

  /** This node stops: no more renewals or sweeps, and every claim (and this node's liveness) goes. */
  async stop() {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    // A renewal under way could claim again what the caller's closes release.
    await this.heartbeating;
    // The claims go first: the pages the caller's closes send away find their talks free on the
    // node they reach next, not held by a node that is going.
    await this.placement.releaseAll().catch((err) => this.log.warn({ err }, 'could not release the live rooms'));
  }

  /**
   * Renews this node's claims on its rooms; a room another node has taken over is given up here.
   * While the database cannot be reached the rooms go on (so does the talk, if the outage is
   * everyone's); if only this node was cut off, another may take a talk over meanwhile, and this
   * node gives its room up at the first renewal that gets through.
   */
  private async heartbeat() {
    try {
      const missing = await this.placement.renew(this.rooms.talkIds());
      for (const talkId of missing) {
        // Closed meanwhile: its claim is gone with it, and must not be made again.
        if (!this.rooms.has(talkId)) continue;
        // No row (deleted by hand, or by a node that took the talk over and closed it): claiming
        // again keeps the room here, unless another node holds the talk now.
        const placed = await this.placement.claim(talkId);
        if (placed.local && !this.rooms.has(talkId)) await this.placement.release(talkId);
        if (placed.local) continue;
        this.log.warn({ talkId }, 'another node took over this live room (this node missed its heartbeats): its participants reconnect there');
        this.rooms.moved(talkId);
      }
    } catch (err) {
      this.log.warn({ err }, 'renewing the claims on live rooms failed; retrying at the next heartbeat');
    }
  }

  /**
   * A talk left live by a node that stopped or crashed, and that nobody rejoined, ends once it has
   * had no room on any node for EMPTY_ROOM_TIMEOUT_SECONDS, as an emptied room would. Otherwise its
   * status stayed `live` for good.
   */
  private async sweepOrphans() {
    const now = Date.now();
    const hostedHere = (talkId: string) => this.rooms.has(talkId) || this.claiming.has(talkId);
    const seen = new Set<string>();
    for (const talk of await this.repo.liveTalksWithoutRoom(this.placement.staleSeconds)) {
      if (hostedHere(talk.id)) continue;
      seen.add(talk.id);
      const since = this.orphanedSince.get(talk.id) ?? now;
      this.orphanedSince.set(talk.id, since);
      if (now - since < this.emptyRoomTimeoutSeconds * 1000 || hostedHere(talk.id)) continue;
      this.orphanedSince.delete(talk.id);
      const ended = await this.talks.endIfLive(talk.partner_id, talk.id);
      if (ended) this.log.info({ talkId: talk.id }, 'ended a live talk that had no room on any node (left by a stopped node, nobody came back)');
    }
    for (const id of this.orphanedSince.keys()) if (!seen.has(id)) this.orphanedSince.delete(id);
  }
}
