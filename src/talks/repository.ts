import { sql } from 'kysely';
import type { Db, Queryable } from '../platform/db/index.js';
import type { NewTalk, Talk, TalkUpdate } from '../platform/db/schema.js';
import { afterCursor, isUuid } from '../platform/http.js';
import { type TalkUrls, isoSql, talkJsonSql } from './json.js';
import type { ListTalksFilter } from './schemas.js';

/** Talks, always within one partner: every method takes the partner id first. */
export class TalksRepository {
  constructor(private readonly db: Db) {}

  get(partnerId: string, talkId: string, q: Queryable = this.db): Promise<Talk | undefined> {
    if (!isUuid(talkId)) return Promise.resolve(undefined);
    return q.selectFrom('talks').selectAll().where('partner_id', '=', partnerId).where('id', '=', talkId).executeTakeFirst();
  }

  /** Several talks by id; ids that are not this partner's are simply absent. */
  getMany(partnerId: string, talkIds: string[], q: Queryable = this.db): Promise<Talk[]> {
    const ids = talkIds.filter(isUuid);
    if (ids.length === 0) return Promise.resolve([]);
    return q.selectFrom('talks').selectAll().where('partner_id', '=', partnerId).where('id', 'in', ids).execute();
  }

  /**
   * A page of talks, each as the JSON text the API returns (made by the database), with its page
   * key as text (the created_at the JSON shows, so no row value is parsed into a Date).
   */
  async listJson(
    partnerId: string,
    filter: ListTalksFilter & { limit: number | undefined },
    urls: TalkUrls,
  ): Promise<{ json: string; created_at: string; id: string }[]> {
    const query = this.listQuery(partnerId, filter);
    if (!query) return [];
    return query.select([talkJsonSql(this.db, urls).as('json'), isoSql(sql.ref('talks.created_at')).as('created_at'), 'id']).execute();
  }

  /**
   * Newest first, limit + 1 rows (the extra one says whether a next page exists), or all without a
   * limit; undefined when nothing can match.
   */
  private listQuery(partnerId: string, filter: ListTalksFilter & { limit: number | undefined }) {
    let query = this.db.selectFrom('talks').where('partner_id', '=', partnerId);
    if (filter.talk_id !== undefined) {
      if (!isUuid(filter.talk_id)) return undefined;
      query = query.where('id', '=', filter.talk_id);
    }
    if (filter.room_type) query = query.where('room_type', '=', filter.room_type);
    if (filter.status) query = query.where('status', '=', filter.status);
    if (filter.start_after) query = query.where('start_time', '>=', new Date(filter.start_after));
    if (filter.start_before) query = query.where('start_time', '<', new Date(filter.start_before));
    if (filter.schedule_talk_id) {
      if (!isUuid(filter.schedule_talk_id)) return undefined;
      query = query.where('schedule_talk_id', '=', filter.schedule_talk_id);
    }
    if (filter.q) query = query.where('name', 'ilike', `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    const after = afterCursor(filter.cursor, 'created_at', 'desc');
    if (after) query = query.where(after);
    return query
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .$if(filter.limit !== undefined, (q) => q.limit((filter.limit as number) + 1));
  }

  insert(q: Queryable, partnerId: string, talk: Omit<NewTalk, 'partner_id'>): Promise<Talk> {
    return q
      .insertInto('talks')
      .values({ ...talk, partner_id: partnerId })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** Updates a talk; with `onlyIfLive`, only while its status is `live` (undefined otherwise). */
  update(q: Queryable, partnerId: string, talkId: string, changes: TalkUpdate, onlyIfLive = false): Promise<Talk | undefined> {
    if (!isUuid(talkId)) return Promise.resolve(undefined);
    return q
      .updateTable('talks')
      .set({ ...changes, updated_at: new Date() })
      .where('partner_id', '=', partnerId)
      .where('id', '=', talkId)
      .$if(onlyIfLive, (u) => u.where('status', '=', 'live'))
      .returningAll()
      .executeTakeFirst();
  }

  /** The talk's live session began: live, with this start time; never once it has ended (undefined then). */
  markLive(q: Queryable, partnerId: string, talkId: string, startedAt: Date): Promise<Talk | undefined> {
    return q
      .updateTable('talks')
      .set({ status: 'live', started_at: startedAt, updated_at: new Date() })
      .where('partner_id', '=', partnerId)
      .where('id', '=', talkId)
      .where('status', '!=', 'ended')
      .returningAll()
      .executeTakeFirst();
  }

  delete(q: Queryable, partnerId: string, talkId: string): Promise<Talk | undefined> {
    if (!isUuid(talkId)) return Promise.resolve(undefined);
    return q.deleteFrom('talks').where('partner_id', '=', partnerId).where('id', '=', talkId).returningAll().executeTakeFirst();
  }

  /**
   * A series' occurrences, deleted and returned: all of them (its first talk is deleted, which would
   * take them with it), or with `notStartedBy` the upcoming ones that have not started (those a
   * schedule change replaces).
   */
  /** The ids of a series' occurrences (none for a talk that is no series). */
  async occurrenceIds(q: Queryable, partnerId: string, seriesId: string): Promise<string[]> {
    if (!isUuid(seriesId)) return [];
    const rows = await q.selectFrom('talks').select('id').where('partner_id', '=', partnerId).where('schedule_talk_id', '=', seriesId).execute();
    return rows.map((r) => r.id);
  }

  deleteOccurrences(q: Queryable, partnerId: string, seriesId: string, notStartedBy?: Date): Promise<Talk[]> {
    if (!isUuid(seriesId)) return Promise.resolve([]);
    let query = q.deleteFrom('talks').where('partner_id', '=', partnerId).where('schedule_talk_id', '=', seriesId);
    if (notStartedBy) query = query.where('status', '=', 'scheduled').where('start_time', '>', notStartedBy);
    return query.returningAll().execute();
  }

  occurrenceStarts(q: Queryable, partnerId: string, seriesId: string): Promise<Date[]> {
    return q
      .selectFrom('talks')
      .select('start_time')
      .where('partner_id', '=', partnerId)
      .where('schedule_talk_id', '=', seriesId)
      .execute()
      .then((rows) => rows.map((r) => r.start_time).filter((d): d is Date => d !== null));
  }

  /** Every series head (for the periodic top-up of occurrences); not partner data read for a partner. */
  seriesHeads(): Promise<Talk[]> {
    return this.db.selectFrom('talks').selectAll().where('schedule', 'is not', null).where('schedule_talk_id', 'is', null).execute();
  }

  /** Public page lookup by short code: the code is the capability, so no partner id here. */
  byShortCode(code: string): Promise<Talk | undefined> {
    return this.db.selectFrom('talks').selectAll().where('short_code', '=', code).executeTakeFirst();
  }

  /** Talks of live rooms, whatever their partner (the rooms re-read theirs after a change elsewhere). */
  byIdsForRooms(talkIds: string[]): Promise<Talk[]> {
    const ids = talkIds.filter(isUuid);
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.selectFrom('talks').selectAll().where('id', 'in', ids).execute();
  }

  /** By id alone, for the live room (its join token or short code was already checked). */
  byIdForRoom(talkId: string): Promise<Talk | undefined> {
    if (!isUuid(talkId)) return Promise.resolve(undefined);
    return this.db.selectFrom('talks').selectAll().where('id', '=', talkId).executeTakeFirst();
  }

  themeExists(q: Queryable, partnerId: string, themeId: string): Promise<boolean> {
    if (!isUuid(themeId)) return Promise.resolve(false);
    return q
      .selectFrom('themes')
      .select('id')
      .where('partner_id', '=', partnerId)
      .where('id', '=', themeId)
      .executeTakeFirst()
      .then((r) => r !== undefined);
  }
}
