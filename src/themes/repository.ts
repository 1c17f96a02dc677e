import type { Db } from '../platform/db/index.js';
import type { Theme } from '../platform/db/schema.js';
import { afterCursor, isUuid } from '../platform/http.js';

/** The themes table, within one partner: every method takes the partner id first. */
export class ThemesRepository {
  constructor(private readonly db: Db) {}

  get(partnerId: string, themeId: string): Promise<Theme | undefined> {
    if (!isUuid(themeId)) return Promise.resolve(undefined);
    return this.db.selectFrom('themes').selectAll().where('partner_id', '=', partnerId).where('id', '=', themeId).executeTakeFirst();
  }

  /** Oldest first; limit + 1 rows (the extra one says whether a next page exists), or all without a limit. */
  list(partnerId: string, limit: number | undefined, cursor?: string): Promise<Theme[]> {
    let query = this.db.selectFrom('themes').selectAll().where('partner_id', '=', partnerId);
    const after = afterCursor(cursor, 'created_at', 'asc');
    if (after) query = query.where(after);
    return query
      .orderBy('created_at')
      .orderBy('id')
      .$if(limit !== undefined, (q) => q.limit((limit as number) + 1))
      .execute();
  }

  insert(partnerId: string, theme: Pick<Theme, 'name' | 'logo_url' | 'background_url'> & { colors: string }): Promise<Theme> {
    return this.db
      .insertInto('themes')
      .values({ ...theme, partner_id: partnerId })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  update(
    partnerId: string,
    themeId: string,
    changes: Partial<Pick<Theme, 'name' | 'logo_url' | 'background_url'>> & { colors?: string },
  ): Promise<Theme | undefined> {
    if (!isUuid(themeId)) return Promise.resolve(undefined);
    return this.db
      .updateTable('themes')
      .set({ ...changes, updated_at: new Date() })
      .where('partner_id', '=', partnerId)
      .where('id', '=', themeId)
      .returningAll()
      .executeTakeFirst();
  }

  delete(partnerId: string, themeId: string): Promise<Theme | undefined> {
    if (!isUuid(themeId)) return Promise.resolve(undefined);
    return this.db.deleteFrom('themes').where('partner_id', '=', partnerId).where('id', '=', themeId).returningAll().executeTakeFirst();
  }
}
