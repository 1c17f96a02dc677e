import { type Static, Type } from '@sinclair/typebox';
import { Nullable, PaginationQuery, envelope, errorResponses } from '../platform/http.js';

const Color = Type.String({ pattern: '^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$' });
export const ThemeColors = Type.Object(
  {
    background: Type.Optional(Color),
    text: Type.Optional(Color),
    accent: Type.Optional(Color),
    surface: Type.Optional(Color),
  },
  {
    description:
      'Hex colors for the talk page. Text must contrast at least 4.5:1 (WCAG AA) with background and surface (missing colors count as the defaults), or the theme is refused.',
    additionalProperties: false,
  },
);

export const ThemeSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    partner_id: Type.String(),
    name: Type.String(),
    colors: ThemeColors,
    logo_url: Nullable(Type.String()),
    background_url: Nullable(Type.String()),
    created_at: Type.String(),
    updated_at: Type.String(),
  },
  { $id: 'Theme' },
);
export type ThemeJson = Static<typeof ThemeSchema>;

const themeFields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  colors: Type.Optional(ThemeColors),
  logo_url: Type.Optional(Nullable(Type.String({ description: 'An https image URL (http is refused: mixed content).' }))),
  background_url: Type.Optional(Nullable(Type.String({ description: 'An https image URL for the page background.' }))),
};
export const CreateThemeBody = Type.Object(themeFields);
export type CreateThemeInput = Static<typeof CreateThemeBody>;
export const UpdateThemeBody = Type.Partial(Type.Object(themeFields));
export type UpdateThemeInput = Static<typeof UpdateThemeBody>;

const IdParams = Type.Object({ id: Type.String() });
const ThemeEnvelope = envelope('theme', Type.Ref(ThemeSchema));

export const createThemeSchema = {
  summary: 'Create a theme',
  tags: ['themes'],
  operationId: 'createTheme',
  body: CreateThemeBody,
  response: { 200: ThemeEnvelope, ...errorResponses(400, 401) },
};
export const listThemesSchema = {
  summary: 'List themes',
  tags: ['themes'],
  operationId: 'listThemes',
  querystring: Type.Object({ ...PaginationQuery }),
  response: { 200: envelope('themes', Type.Array(Type.Ref(ThemeSchema)), { list: true }), ...errorResponses(401) },
};
export const getThemeSchema = {
  summary: 'Get a theme',
  tags: ['themes'],
  operationId: 'getTheme',
  params: IdParams,
  response: { 200: ThemeEnvelope, ...errorResponses(401, 404) },
};
export const updateThemeSchema = {
  summary: 'Update a theme',
  tags: ['themes'],
  operationId: 'updateTheme',
  params: IdParams,
  body: UpdateThemeBody,
  response: { 200: ThemeEnvelope, ...errorResponses(400, 401, 404) },
};
export const deleteThemeSchema = {
  summary: 'Delete a theme',
  tags: ['themes'],
  operationId: 'deleteTheme',
  description: 'Talks that used it fall back to the default theme.',
  params: IdParams,
  response: { 200: ThemeEnvelope, ...errorResponses(401, 404) },
};
