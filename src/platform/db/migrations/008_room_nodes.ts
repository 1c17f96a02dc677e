import { type Kysely, sql } from 'kysely';

/**
 * Scaled mode: which node hosts each open live room. A room (participants, hands, slots) lives in
 * one node's memory and its media in that node's SFU workers, so every participant of a talk must
 * reach that node: the first node that gets a join claims the talk here, refreshes `heartbeat_at`
 * while the room is open and deletes the row when it closes; the other nodes send their sockets
 * there (src/rooms/placement.ts). A row whose heartbeat is stale belongs to a dead node and is
 * taken over by the next claim.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table room_nodes (
      talk_id uuid primary key references talks (id) on delete cascade,
      node_id text not null,
      node_url text not null,
      claimed_at timestamptz not null default now(),
      heartbeat_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index room_nodes_node on room_nodes (node_id)`.execute(db);
}
