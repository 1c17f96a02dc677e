import type { Db, Tx } from '../platform/db/index.js';
import type { TalkCaptionsTable } from '../platform/db/schema.js';
import type { Insertable, Selectable } from 'kysely';
import { isUuid } from '../platform/http.js';
import { nextTalkSeq } from '../webhooks/outbox.js';

export type Caption = Selectable<TalkCaptionsTable>;

/** Saved live captions, within one partner. */
export class CaptionsRepository {
  constructor(private readonly db: Db) {}

  /**
   * The next caption number of a talk, from the per-talk sequence the webhooks migration made for
   * next_caption (so the event's `seq` and the saved row's are the same number).
   */
  nextSeq(tx: Tx, talkId: string): Promise<number> {
    return nextTalkSeq(tx, talkId);
  }

  insert(tx: Tx, caption: Omit<Insertable<TalkCaptionsTable>, 'id' | 'created_at'>): Promise<Caption> {
    return tx.insertInto('talk_captions').values(caption).returningAll().executeTakeFirstOrThrow();
  }

  /** A talk's captions in order; `afterSeq` pages on. */
  list(partnerId: string, talkId: string, options: { afterSeq?: number; limit: number }): Promise<Caption[]> {
    if (!isUuid(talkId)) return Promise.resolve([]);
    return this.db
      .selectFrom('talk_captions')
      .selectAll()
      .where('partner_id', '=', partnerId)
      .where('talk_id', '=', talkId)
      .$if(options.afterSeq !== undefined, (q) => q.where('seq', '>', options.afterSeq as number))
      .orderBy('seq')
      .limit(options.limit)
      .execute();
  }
}
