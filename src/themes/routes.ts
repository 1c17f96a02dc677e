import type { App } from '../platform/http.js';
import type { ThemesService } from './service.js';
import { ThemeSchema, createThemeSchema, deleteThemeSchema, getThemeSchema, listThemesSchema, updateThemeSchema } from './schemas.js';

export async function themeRoutes(app: App, themes: ThemesService) {
  app.addSchema(ThemeSchema);

  app.post('/api/v1/partners/themes', { schema: createThemeSchema }, async (request) => ({
    theme: themes.toJson(await themes.create(request.partner.partnerId, request.body)),
    error: null,
  }));

  app.get('/api/v1/partners/themes', { schema: listThemesSchema }, async (request) => {
    const result = await themes.list(request.partner.partnerId, request.query);
    return { themes: result.items.map((t) => themes.toJson(t)), next_cursor: result.next_cursor, error: null };
  });

  app.get('/api/v1/partners/themes/:id', { schema: getThemeSchema }, async (request) => ({
    theme: themes.toJson(await themes.get(request.partner.partnerId, request.params.id)),
    error: null,
  }));

  app.patch('/api/v1/partners/themes/:id', { schema: updateThemeSchema }, async (request) => ({
    theme: themes.toJson(await themes.update(request.partner.partnerId, request.params.id, request.body)),
    error: null,
  }));

  app.delete('/api/v1/partners/themes/:id', { schema: deleteThemeSchema }, async (request) => ({
    theme: themes.toJson(await themes.delete(request.partner.partnerId, request.params.id)),
    error: null,
  }));
}
