import { sql } from 'kysely';
import type { Db, Queryable } from '../platform/db/index.js';
import type { Talk } from '../platform/db/schema.js';

export type ReminderKind = 'starting' | 'replay';

export interface Recipient {
  subscription_id: string;
  email: string;
  name: string | null;
}

/**
 * Subscriptions, reminder batches and sends. A subscription on any talk of a series (its first
 * talk, or an occurrence) covers every talk of that series: a talk's series is
 * `coalesce(schedule_talk_id, id)`.
 */
export class RemindersRepository {
  constructor(private readonly db: Db) {}

  /** Talks (all partners) starting within `lead` from `now` (or started in the last 10 minutes and not ended) whose subscribers were not reminded yet. */
  dueToStart(now: Date, leadMs: number): Promise<Talk[]> {
    return this.db
      .selectFrom('talks as t')
      .selectAll('t')
      .where('t.status', '!=', 'ended')
      .where('t.start_time', '<=', new Date(now.getTime() + leadMs))
      .where('t.start_time', '>', new Date(now.getTime() - 10 * 60_000))
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('reminder_batches as b').select('b.talk_id').whereRef('b.talk_id', '=', 't.id').where('b.kind', '=', 'starting'))),
      )
      .where(
        sql<boolean>`exists (select 1 from talk_subscriptions s join talks x on x.id = s.talk_id where s.partner_id = t.partner_id and x.partner_id = t.partner_id and coalesce(x.schedule_talk_id, x.id) = coalesce(t.schedule_talk_id, t.id))`,
      )
      .orderBy('t.start_time')
      .limit(100)
      .execute();
  }

  /**
   * Ended talks (all partners) whose recording became public and ready in the last week (with its
   * transcript, unless there is no engine to write one) and whose subscribers were not told yet.
   */
  replaysReady(now: Date, needTranscript: boolean): Promise<Talk[]> {
    return this.db
      .selectFrom('talks as t')
      .innerJoin('recordings as r', (j) => j.onRef('r.talk_id', '=', 't.id').onRef('r.partner_id', '=', 't.partner_id'))
      .selectAll('t')
      .distinct()
      .where('r.status', '=', 'ready')
      .where('r.share_permission', '=', 'public')
      .$if(needTranscript, (q) => q.where('r.transcription', 'is not', null))
      .where('r.updated_at', '>', new Date(now.getTime() - 7 * 86_400_000))
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('reminder_batches as b').select('b.talk_id').whereRef('b.talk_id', '=', 't.id').where('b.kind', '=', 'replay'))),
      )
      .where(
        sql<boolean>`exists (select 1 from talk_subscriptions s join talks x on x.id = s.talk_id where s.partner_id = t.partner_id and x.partner_id = t.partner_id and coalesce(x.schedule_talk_id, x.id) = coalesce(t.schedule_talk_id, t.id))`,
      )
      .limit(100)
      .execute();
  }

  /** Claims a talk's batch: true for the one scan (of any node) that writes it. */
  async claimBatch(tx: Queryable, talk: Talk, kind: ReminderKind, recipients: number): Promise<boolean> {
    const row = await tx
      .insertInto('reminder_batches')
      .values({ partner_id: talk.partner_id, talk_id: talk.id, kind, recipients })
      .onConflict((oc) => oc.columns(['talk_id', 'kind']).doNothing())
      .returning('talk_id')
      .executeTakeFirst();
    return !!row;
  }

  /** Who gets a talk's emails: the subscribers of any talk of its series (or of it alone), once per address (its own subscription first). */
  async recipients(q: Queryable, talk: Pick<Talk, 'id' | 'partner_id' | 'schedule_talk_id'>): Promise<Recipient[]> {
    const seriesId = talk.schedule_talk_id ?? talk.id;
    const rows = await q
      .selectFrom('talk_subscriptions as s')
      .innerJoin('talks as x', 'x.id', 's.talk_id')
      .select(['s.id', 's.email', 's.name', 's.talk_id'])
      .where('s.partner_id', '=', talk.partner_id)
      .where('x.partner_id', '=', talk.partner_id)
      .where(sql<boolean>`coalesce(x.schedule_talk_id, x.id) = ${seriesId}`)
      .orderBy('s.created_at')
      .execute();
    const byEmail = new Map<string, Recipient>();
    for (const r of rows.sort((a, b) => Number(b.talk_id === talk.id) - Number(a.talk_id === talk.id))) {
      const key = r.email.toLowerCase();
      if (!byEmail.has(key)) byEmail.set(key, { subscription_id: r.id, email: r.email, name: r.name });
    }
    return [...byEmail.values()];
  }

  subscription(partnerId: string, id: string) {
    return this.db.selectFrom('talk_subscriptions').selectAll().where('partner_id', '=', partnerId).where('id', '=', id).executeTakeFirst();
  }

  /** A subscription by id alone: for the unsubscribe link, after its signature was checked. */
  subscriptionForUnsubscribe(id: string) {
    return this.db.selectFrom('talk_subscriptions').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /**
   * Unsubscribes an address from the talk it subscribed to and from that talk's series (every
   * subscription it has there), so no later occurrence mails it.
   */
  async unsubscribe(partnerId: string, talkId: string, email: string): Promise<number> {
    const talk = await this.db
      .selectFrom('talks')
      .select(['id', 'schedule_talk_id', 'schedule'])
      .where('partner_id', '=', partnerId)
      .where('id', '=', talkId)
      .executeTakeFirst();
    const seriesId = talk ? (talk.schedule_talk_id ?? (talk.schedule ? talk.id : null)) : null;
    const rows = await this.db
      .deleteFrom('talk_subscriptions')
      .where('partner_id', '=', partnerId)
      .where(sql<boolean>`lower(email) = ${email.toLowerCase()}`)
      .where((eb) =>
        seriesId
          ? eb.or([
              eb('talk_id', '=', talkId),
              eb(
                'talk_id',
                'in',
                eb
                  .selectFrom('talks')
                  .select('id')
                  .where('partner_id', '=', partnerId)
                  .where((e) => e.or([e('id', '=', seriesId), e('schedule_talk_id', '=', seriesId)])),
              ),
            ])
          : eb('talk_id', '=', talkId),
      )
      .executeTakeFirst();
    return Number(rows.numDeletedRows);
  }

  sent(talkId: string, kind: ReminderKind, email: string) {
    return this.db
      .selectFrom('reminder_sends')
      .select('sent_at')
      .where('talk_id', '=', talkId)
      .where('kind', '=', kind)
      .where('email', '=', email.toLowerCase())
      .executeTakeFirst();
  }

  markSent(partnerId: string, talkId: string, kind: ReminderKind, email: string) {
    return this.db
      .insertInto('reminder_sends')
      .values({ partner_id: partnerId, talk_id: talkId, kind, email: email.toLowerCase() })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  talk(partnerId: string, talkId: string) {
    return this.db.selectFrom('talks').selectAll().where('partner_id', '=', partnerId).where('id', '=', talkId).executeTakeFirst();
  }
}
