import type { Db } from '../platform/db/index.js';
import type { Recording, Talk } from '../platform/db/schema.js';

/** Reads for the public pages behind short URLs: the partner id first, taken from the talk the code named. */
export class ReplaysRepository {
  constructor(private readonly db: Db) {}

  /** The talk's replay: its newest recording that did not fail (else its newest one), or none. */
  async recordingOf(partnerId: string, talkId: string): Promise<Recording | undefined> {
    const rows = await this.db
      .selectFrom('recordings')
      .selectAll()
      .where('partner_id', '=', partnerId)
      .where('talk_id', '=', talkId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(20)
      .execute();
    return rows.find((r) => r.status !== 'failed') ?? rows[0];
  }

  /** Every talk of a series (its first talk and its occurrences), in time order. */
  seriesTalks(partnerId: string, headId: string): Promise<Talk[]> {
    return this.db
      .selectFrom('talks')
      .selectAll()
      .where('partner_id', '=', partnerId)
      .where((eb) => eb.or([eb('id', '=', headId), eb('schedule_talk_id', '=', headId)]))
      .orderBy('start_time')
      .orderBy('id')
      .execute();
  }

  /** The talks of a series that have a public, ready recording: talk id → recording id. */
  async publicReplays(partnerId: string, talkIds: string[]): Promise<Set<string>> {
    if (talkIds.length === 0) return new Set();
    const rows = await this.db
      .selectFrom('recordings')
      .select('talk_id')
      .where('partner_id', '=', partnerId)
      .where('talk_id', 'in', talkIds)
      .where('share_permission', '=', 'public')
      .where('status', '=', 'ready')
      .execute();
    return new Set(rows.map((r) => r.talk_id));
  }

  byId(partnerId: string, talkId: string): Promise<Talk | undefined> {
    return this.db.selectFrom('talks').selectAll().where('partner_id', '=', partnerId).where('id', '=', talkId).executeTakeFirst();
  }
}

/** The id of the series a talk belongs to (its first talk's), or null for a one-off talk. */
export function seriesIdOf(talk: Pick<Talk, 'id' | 'schedule' | 'schedule_talk_id'>): string | null {
  return talk.schedule_talk_id ?? (talk.schedule ? talk.id : null);
}
