import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../platform/db/index.js';

/**
 * Where a talk's live room is: here, or on another node (its address; null when that node
 * recorded the same address as this one, the shared PUBLIC_URL, so it cannot be reached by it).
 */
export type Placement = { local: true } | { local: false; nodeUrl: string | null };

/**
 * Which node hosts each live room. A room (participants, hands, slots) lives in one node's memory
 * and its media in that node's SFU workers, so all of a talk's participants must reach that node.
 */
export interface RoomPlacement {
  /** Renew this often (ms) while rooms are open; 0: nothing to renew (every room is local). */
  readonly heartbeatMs: number;
  /** A claim not renewed for this long is stale: its node is taken for dead. */
  readonly staleSeconds: number;
  start(): Promise<void>;
  /** Claims the talk's room for this node unless a live node hosts it; says where the room is. */
  claim(talkId: string): Promise<Placement>;
  /** Renews this node's claims on its open rooms; returns those it holds no claim on any more. */
  renew(talkIds: string[]): Promise<string[]>;
  /** The room closed here: other nodes may claim the talk at once. */
  release(talkId: string): Promise<void>;
  /** This node stops: all its claims go. */
  releaseAll(): Promise<void>;
}

/** Embedded: one process, so every room is local and nothing is recorded. */
export const localPlacement: RoomPlacement = {
  heartbeatMs: 0,
  staleSeconds: 0,
  start: async () => undefined,
  claim: async () => ({ local: true }),
  renew: async () => [],
  release: async () => undefined,
  releaseAll: async () => undefined,
};

/**
 * Whether another node's process lives, as the database sees it (a lock it holds on a connection of
 * its own: platform/db/node-lock.ts). A SIGKILLed node is gone at once; a slow one is not.
 */
export interface NodeLiveness {
  /** Holds this node's liveness from now on. */
  hold(nodeId: string): Promise<void>;
  /** Whether the node with this id is alive (holds its liveness). */
  held(nodeId: string): Promise<boolean>;
  release(): Promise<void>;
}

/**
 * Scaled: a `room_nodes` row per open room names the node hosting it. The first node that gets a
 * join for a talk claims it; the host renews its claim every heartbeat and deletes it when the room
 * closes. A claim is taken over by the next claim when its node is gone: at once when that node's
 * process has no session with the database any more (killed, crashed: `NodeLiveness`) and does not
 * answer at its address; after three heartbeats without a renewal in any case (a node cut off or
 * frozen), and that node gives its room up at its next renewal. A node that is only slow (its
 * liveness held, its heartbeats late, its address slow to answer) keeps its rooms. Times are the
 * database's, so the nodes' clocks do not matter.
 */
export class SharedPlacement implements RoomPlacement {
  readonly nodeId = randomUUID();
  /** Recent answers of other nodes' liveness probe, by address: [alive, when]. */
  private readonly probes = new Map<string, [boolean, number]>();

  /**
   * @param nodeUrl this node's own address (NODE_PUBLIC_URL), or the shared PUBLIC_URL when unset.
   * @param ownUrl the address is this node's alone (NODE_PUBLIC_URL was set): a claim left at it by
   *   an earlier process (a crash, then a restart) is this node's to take over at once.
   */
  constructor(
    private readonly db: Db,
    private readonly nodeUrl: string,
    readonly heartbeatMs: number,
    private readonly ownUrl: boolean,
    /** Whether a node's process lives (a lock it holds in the database); see `claim`. */
    private readonly liveness: NodeLiveness,
    /** Whether the node at an address answers (its /healthz); see `claim`. */
    private readonly isAlive: (nodeUrl: string) => Promise<boolean> = probeNode,
  ) {}

  get staleSeconds() {
    return (this.heartbeatMs * 3) / 1000;
  }

  async start() {
    await this.liveness.hold(this.nodeId);
    if (this.ownUrl) await this.db.deleteFrom('room_nodes').where('node_url', '=', this.nodeUrl).where('node_id', '!=', this.nodeId).execute();
  }

  async claim(talkId: string): Promise<Placement> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const takeOver = sql<boolean>`room_nodes.node_id = excluded.node_id
        or room_nodes.heartbeat_at < now() - make_interval(secs => ${this.staleSeconds})
        or (${this.ownUrl} and room_nodes.node_url = excluded.node_url)`;
      const { rows } = await sql<{ node_id: string }>`
        insert into room_nodes (talk_id, node_id, node_url) values (${talkId}, ${this.nodeId}, ${this.nodeUrl})
        on conflict (talk_id) do update
          set node_id = excluded.node_id, node_url = excluded.node_url, heartbeat_at = now(),
            claimed_at = case when room_nodes.node_id = excluded.node_id then room_nodes.claimed_at else now() end
          where ${takeOver}
        returning node_id`.execute(this.db);
      if (rows.length > 0) return { local: true };
      const holder = await this.db.selectFrom('room_nodes').select(['node_id', 'node_url']).where('talk_id', '=', talkId).executeTakeFirst();
      // Gone between the two statements (its room just closed): claim again.
      if (!holder) continue;
      // A claim that is not stale yet, of another process. Alive as the database sees it: the room
      // is there, even if that node is slow to answer (at our own address: nowhere to send the client).
      if (await this.liveness.held(holder.node_id)) return { local: false, nodeUrl: holder.node_url === this.nodeUrl ? null : holder.node_url };
      // Its process has no session with the database: killed or crashed (this node restarted after a
      // SIGKILL, say), or alive with its connection being made again after a database outage, which
      // its address still answering tells apart. At our own address there is no telling: a shared
      // PUBLIC_URL is one node, or a load balancer that could not reach the room's node anyway.
      if (holder.node_url !== this.nodeUrl && (await this.answers(holder.node_url))) return { local: false, nodeUrl: holder.node_url };
      const taken = await this.db
        .updateTable('room_nodes')
        .set({ node_id: this.nodeId, node_url: this.nodeUrl, heartbeat_at: sql`now()`, claimed_at: sql`now()` })
        .where('talk_id', '=', talkId)
        .where('node_id', '=', holder.node_id)
        .returning('talk_id')
        .executeTakeFirst();
      if (taken) return { local: true };
    }
    throw new Error('could not place the room: its claim kept changing hands');
  }

  /** Whether the node at `nodeUrl` answers, asked at most once every PROBE_CACHE_MS per address. */
  private async answers(nodeUrl: string): Promise<boolean> {
    const known = this.probes.get(nodeUrl);
    if (known && Date.now() - known[1] < PROBE_CACHE_MS) return known[0];
    const alive = await this.isAlive(nodeUrl);
    this.probes.set(nodeUrl, [alive, Date.now()]);
    if (this.probes.size > 1000) this.probes.clear();
    return alive;
  }

  async renew(talkIds: string[]): Promise<string[]> {
    if (talkIds.length === 0) return [];
    const kept = await this.db
      .updateTable('room_nodes')
      .set({ heartbeat_at: sql`now()` })
      .where('node_id', '=', this.nodeId)
      .where('talk_id', 'in', talkIds)
      .returning('talk_id')
      .execute();
    const ours = new Set(kept.map((r) => r.talk_id));
    return talkIds.filter((id) => !ours.has(id));
  }

  async release(talkId: string) {
    await this.db.deleteFrom('room_nodes').where('talk_id', '=', talkId).where('node_id', '=', this.nodeId).execute();
  }

  async releaseAll() {
    try {
      await this.db.deleteFrom('room_nodes').where('node_id', '=', this.nodeId).execute();
    } finally {
      await this.liveness.release();
    }
  }
}

/** How long another node's liveness answer is reused (joins of a talk hosted elsewhere come in bursts). */
const PROBE_CACHE_MS = 2_000;
/** A node that has not answered its liveness probe in this long is taken for dead. */
const PROBE_TIMEOUT_MS = 1_500;

/**
 * Asks another node's /healthz: 200 means alive. Refused, reset, silent, or any other status (a
 * stopping node answers 503 while it closes, and takes no new sockets) means it will not host the room.
 */
export async function probeNode(nodeUrl: string): Promise<boolean> {
  try {
    const res = await fetch(new URL('/healthz', nodeUrl), { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}
