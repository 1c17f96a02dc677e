import type { Db } from '../platform/db/index.js';
import type { Theme } from '../platform/db/schema.js';
import { notFound, validation } from '../platform/errors.js';
import { afterCursor, iso, isUuid, page } from '../platform/http.js';
import { contrastProblems } from './contrast.js';
import type { CreateThemeInput, ThemeJson, UpdateThemeInput } from './schemas.js';

/** Themes of a partner's talk pages (colors, logo, background). Every method takes the partner id first. */
export class ThemesService {
  constructor(
    private readonly db: Db,
    /** Called when a change here changed the partner's talks too. */
    private readonly talksChanged: (partnerId: string) => void = () => {},
  ) {}

  toJson(theme: Theme): ThemeJson {
    return {
      id: theme.id,
      partner_id: theme.partner_id,
      name: theme.name,
      colors: theme.colors,
      logo_url: theme.logo_url,
      background_url: theme.background_url,
      created_at: iso(theme.created_at) as string,
      updated_at: iso(theme.updated_at) as string,
    };
  }

  async get(partnerId: string, themeId: string): Promise<Theme> {
    const theme = isUuid(themeId)
      ? await this.db.selectFrom('themes').selectAll().where('partner_id', '=', partnerId).where('id', '=', themeId).executeTakeFirst()
      : undefined;
    if (!theme) throw notFound('theme');
    return theme;
  }

  /** For the talk page: the theme, or null (default theme) when it is gone. */
  getForPage(partnerId: string, themeId: string): Promise<Theme | null> {
    return this.get(partnerId, themeId).catch(() => null);
  }

  async list(partnerId: string, limit = 50, cursor?: string) {
    let query = this.db.selectFrom('themes').selectAll().where('partner_id', '=', partnerId);
    const after = afterCursor(cursor, 'created_at', 'asc');
    if (after) query = query.where(after);
    const rows = await query
      .orderBy('created_at')
      .orderBy('id')
      .limit(limit + 1)
      .execute();
    return page(rows, limit, (t) => [iso(t.created_at), t.id]);
  }

  create(partnerId: string, input: CreateThemeInput): Promise<Theme> {
    checkImageUrl(input.logo_url, 'logo_url');
    checkImageUrl(input.background_url, 'background_url');
    checkContrast(input.colors ?? {});
    return this.db
      .insertInto('themes')
      .values({
        partner_id: partnerId,
        name: input.name.trim(),
        colors: JSON.stringify(input.colors ?? {}),
        logo_url: input.logo_url ?? null,
        background_url: input.background_url ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  async update(partnerId: string, themeId: string, input: UpdateThemeInput): Promise<Theme> {
    await this.get(partnerId, themeId);
    checkImageUrl(input.logo_url, 'logo_url');
    checkImageUrl(input.background_url, 'background_url');
    if (input.colors !== undefined) checkContrast(input.colors);
    const changes: Record<string, unknown> = { updated_at: new Date() };
    if (input.name !== undefined) changes.name = input.name.trim();
    if (input.colors !== undefined) changes.colors = JSON.stringify(input.colors);
    if (input.logo_url !== undefined) changes.logo_url = input.logo_url;
    if (input.background_url !== undefined) changes.background_url = input.background_url;
    return this.db.updateTable('themes').set(changes).where('partner_id', '=', partnerId).where('id', '=', themeId).returningAll().executeTakeFirstOrThrow();
  }

  async delete(partnerId: string, themeId: string): Promise<Theme> {
    const theme = isUuid(themeId)
      ? await this.db.deleteFrom('themes').where('partner_id', '=', partnerId).where('id', '=', themeId).returningAll().executeTakeFirst()
      : undefined;
    if (!theme) throw notFound('theme');
    this.talksChanged(partnerId);
    return theme;
  }
}

/**
 * Image URLs end up in participants' pages, which are served over https in production: https only
 * (an http image there is mixed content, blocked or flagged by browsers).
 */
function checkImageUrl(value: string | null | undefined, field: string) {
  if (!value) return;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw validation(`${field} must be an https URL`, field);
  }
  if (url.protocol !== 'https:') throw validation(`${field} must be an https URL (an http image is mixed content on the talk page)`, field);
}

/** Text the page's visitors cannot read is refused: WCAG AA contrast on the background and the cards. */
function checkContrast(colors: Record<string, string | undefined>) {
  const [problem] = contrastProblems(colors);
  if (problem) throw validation(problem.message, problem.field);
}
