import type { Db } from '../platform/db/index.js';
import type { Theme } from '../platform/db/schema.js';
import { notFound, validation } from '../platform/errors.js';
import { iso, page, pageSize } from '../platform/http.js';
import { contrastProblems } from './contrast.js';
import { ThemesRepository } from './repository.js';
import type { CreateThemeInput, ThemeJson, UpdateThemeInput } from './schemas.js';

/** Themes of a partner's talk pages (colors, logo, background). Every method takes the partner id first. */
export class ThemesService {
  private readonly repo: ThemesRepository;

  constructor(
    db: Db,
    /** Called when a change here changed the partner's talks too. */
    private readonly talksChanged: (partnerId: string) => void = () => {},
  ) {
    this.repo = new ThemesRepository(db);
  }

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
    const theme = await this.repo.get(partnerId, themeId);
    if (!theme) throw notFound('theme');
    return theme;
  }

  /** For the talk page: the theme, or null (default theme) when it is gone. */
  async getForPage(partnerId: string, themeId: string): Promise<Theme | null> {
    return (await this.repo.get(partnerId, themeId)) ?? null;
  }

  /** A page when asked for one (`limit` or `cursor`), else every theme, as the other lists. */
  async list(partnerId: string, query: { limit?: number; cursor?: string }) {
    const limit = pageSize(query);
    return page(await this.repo.list(partnerId, limit, query.cursor), limit, (t) => [iso(t.created_at), t.id]);
  }

  create(partnerId: string, input: CreateThemeInput): Promise<Theme> {
    checkImageUrl(input.logo_url, 'logo_url');
    checkImageUrl(input.background_url, 'background_url');
    checkContrast(input.colors ?? {});
    return this.repo.insert(partnerId, {
      name: input.name.trim(),
      colors: JSON.stringify(input.colors ?? {}),
      logo_url: input.logo_url ?? null,
      background_url: input.background_url ?? null,
    });
  }

  async update(partnerId: string, themeId: string, input: UpdateThemeInput): Promise<Theme> {
    await this.get(partnerId, themeId);
    checkImageUrl(input.logo_url, 'logo_url');
    checkImageUrl(input.background_url, 'background_url');
    if (input.colors !== undefined) checkContrast(input.colors);
    const theme = await this.repo.update(partnerId, themeId, {
      ...(input.name !== undefined && { name: input.name.trim() }),
      ...(input.colors !== undefined && { colors: JSON.stringify(input.colors) }),
      ...(input.logo_url !== undefined && { logo_url: input.logo_url }),
      ...(input.background_url !== undefined && { background_url: input.background_url }),
    });
    if (!theme) throw notFound('theme');
    return theme;
  }

  async delete(partnerId: string, themeId: string): Promise<Theme> {
    const theme = await this.repo.delete(partnerId, themeId);
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
