import type { Db, Queryable } from '../platform/db/index.js';
import type { Group } from '../platform/db/schema.js';
import { afterCursor, isUuid } from '../platform/http.js';

/** Groups and their talks, within one partner. */
export class GroupsRepository {
  constructor(private readonly db: Db) {}

  get(partnerId: string, groupId: string, q: Queryable = this.db): Promise<Group | undefined> {
    if (!isUuid(groupId)) return Promise.resolve(undefined);
    return q.selectFrom('groups').selectAll().where('partner_id', '=', partnerId).where('id', '=', groupId).executeTakeFirst();
  }

  /** In rank order; limit + 1 rows (the extra one says whether a next page exists), or all without a limit. */
  async list(partnerId: string, limit: number | undefined, cursor?: string): Promise<Group[]> {
    let query = this.db.selectFrom('groups').selectAll().where('partner_id', '=', partnerId);
    const after = afterCursor(cursor, 'rank', 'asc');
    if (after) query = query.where(after);
    return query
      .orderBy('rank')
      .orderBy('id')
      .$if(limit !== undefined, (q) => q.limit((limit as number) + 1))
      .execute();
  }

  async nextRank(q: Queryable, partnerId: string): Promise<number> {
    const row = await q
      .selectFrom('groups')
      .select((eb) => eb.fn.max('rank').as('max'))
      .where('partner_id', '=', partnerId)
      .executeTakeFirst();
    return row?.max === null || row?.max === undefined ? 1 : Number(row.max) + 1;
  }

  insert(q: Queryable, partnerId: string, group: Omit<Group, 'id' | 'partner_id' | 'created_at' | 'updated_at'>): Promise<Group> {
    return q
      .insertInto('groups')
      .values({ ...group, partner_id: partnerId })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  update(partnerId: string, groupId: string, changes: Partial<Group>): Promise<Group | undefined> {
    if (!isUuid(groupId)) return Promise.resolve(undefined);
    return this.db
      .updateTable('groups')
      .set({ ...changes, updated_at: new Date() })
      .where('partner_id', '=', partnerId)
      .where('id', '=', groupId)
      .returningAll()
      .executeTakeFirst();
  }

  delete(partnerId: string, groupId: string): Promise<Group | undefined> {
    if (!isUuid(groupId)) return Promise.resolve(undefined);
    return this.db.deleteFrom('groups').where('partner_id', '=', partnerId).where('id', '=', groupId).returningAll().executeTakeFirst();
  }

  memberships(partnerId: string, groupId: string, q: Queryable = this.db) {
    return q
      .selectFrom('group_talks')
      .select(['talk_id', 'group_id', 'partner_id'])
      .where('partner_id', '=', partnerId)
      .where('group_id', '=', groupId)
      .orderBy('created_at')
      .orderBy('talk_id')
      .execute();
  }

  talksOf(partnerId: string, groupId: string) {
    return this.db
      .selectFrom('group_talks')
      .innerJoin('talks', 'talks.id', 'group_talks.talk_id')
      .selectAll('talks')
      .where('group_talks.partner_id', '=', partnerId)
      .where('group_talks.group_id', '=', groupId)
      .orderBy('talks.start_time')
      .orderBy('talks.created_at')
      .execute();
  }

  addTalks(q: Queryable, partnerId: string, groupId: string, talkIds: string[]) {
    if (talkIds.length === 0) return Promise.resolve();
    return q
      .insertInto('group_talks')
      .values(talkIds.map((talk_id) => ({ talk_id, group_id: groupId, partner_id: partnerId })))
      .onConflict((oc) => oc.columns(['group_id', 'talk_id']).doNothing())
      .execute();
  }

  removeTalks(q: Queryable, partnerId: string, groupId: string, talkIds: string[] | 'all') {
    let query = q.deleteFrom('group_talks').where('partner_id', '=', partnerId).where('group_id', '=', groupId);
    if (talkIds !== 'all') {
      if (talkIds.length === 0) return Promise.resolve();
      query = query.where('talk_id', 'in', talkIds);
    }
    return query.execute();
  }

  removeTalksExcept(q: Queryable, partnerId: string, groupId: string, keep: string[]) {
    let query = q.deleteFrom('group_talks').where('partner_id', '=', partnerId).where('group_id', '=', groupId);
    if (keep.length > 0) query = query.where('talk_id', 'not in', keep);
    return query.execute();
  }
}
