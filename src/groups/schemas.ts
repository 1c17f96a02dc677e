import { type Static, Type } from '@sinclair/typebox';
import { Nullable, PaginationQuery, envelope, errorResponses } from '../platform/http.js';

export const GroupSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    name: Type.String(),
    description: Nullable(Type.String()),
    rank: Type.Number(),
    visible: Type.Boolean(),
    currency: Nullable(Type.String()),
    price: Nullable(Type.Number()),
    partner_id: Type.String(),
    created_at: Type.String(),
    updated_at: Type.String(),
  },
  { $id: 'Group' },
);
export type GroupJson = Static<typeof GroupSchema>;

const groupFields = {
  name: Type.String({ description: 'The name of the group (1 to 200 characters).' }),
  description: Type.Optional(Nullable(Type.String({ maxLength: 5000 }))),
  rank: Type.Optional(Type.Number({ description: "Order in the organization's list (ascending). Default: after the last group." })),
  visible: Type.Optional(Type.Boolean({ description: 'Whether the group is visible to users (default true).' })),
  price: Type.Optional(Nullable(Type.Number({ minimum: 0 }))),
  currency: Type.Optional(Nullable(Type.String({ pattern: '^[A-Za-z]{3}$' }))),
};

export const CreateGroupBody = Type.Object(groupFields);
export type CreateGroupInput = Static<typeof CreateGroupBody>;
export const UpdateGroupBody = Type.Partial(Type.Object(groupFields));
export type UpdateGroupInput = Static<typeof UpdateGroupBody>;

const IdParams = Type.Object({ id: Type.String() });

/** The doc shows the group's fields beside "error"; we also nest them under "group". */
const GroupCreated = Type.Object({ ...GroupSchema.properties, group: Type.Ref(GroupSchema), error: Type.Null() });

export const createGroupSchema = {
  summary: 'Create a group of talks',
  tags: ['groups'],
  operationId: 'createGroup',
  description: "The answer carries the group's fields at the top level (as the doc's sample) and under `group`.",
  body: CreateGroupBody,
  response: { 200: GroupCreated, ...errorResponses(400, 401, 409) },
};

export const listGroupsSchema = {
  summary: "Get an organization's groups",
  tags: ['groups'],
  operationId: 'listGroups',
  description: 'Ordered by rank.',
  querystring: Type.Object({ ...PaginationQuery }),
  response: { 200: envelope('groups', Type.Array(Type.Ref(GroupSchema)), { list: true }), ...errorResponses(401) },
};

export const getGroupSchema = {
  summary: 'Get one group',
  tags: ['groups'],
  operationId: 'getGroup',
  params: IdParams,
  response: { 200: envelope('group', Type.Ref(GroupSchema)), ...errorResponses(401, 404) },
};

export const updateGroupSchema = {
  summary: 'Update a group',
  tags: ['groups'],
  operationId: 'updateGroup',
  params: IdParams,
  body: UpdateGroupBody,
  response: { 200: envelope('group', Type.Ref(GroupSchema)), ...errorResponses(400, 401, 404) },
};

export const deleteGroupSchema = {
  summary: 'Delete a group',
  tags: ['groups'],
  operationId: 'deleteGroup',
  description: 'The talks stay; only the group and its memberships go.',
  params: IdParams,
  response: { 200: envelope('group', Type.Ref(GroupSchema)), ...errorResponses(401, 404) },
};

const TalkIds = Type.Optional(
  Type.Union([Type.Array(Type.String()), Type.String()], {
    description: 'Talk ids: a JSON array, the form string `[id1, id2]`, repeated fields, or comma-separated.',
  }),
);

export const GroupTalksBody = Type.Object({ group_id: Type.Optional(Type.String()), talk_ids: TalkIds });
export const GroupTalksQuery = Type.Object({ group_id: Type.Optional(Type.String()), talk_ids: TalkIds });

const TalkGroup = Type.Object({ talk_id: Type.String(), group_id: Type.String(), partner_id: Type.String() });
const TalkGroups = envelope('talk_groups', Type.Array(TalkGroup));

export const putGroupTalksSchema = {
  summary: 'Set the talks in a group',
  tags: ['groups'],
  operationId: 'addTalksToGroup',
  description: 'The group then holds exactly `talk_ids`. Body (JSON or form) or query string.',
  body: GroupTalksBody,
  querystring: GroupTalksQuery,
  response: { 200: TalkGroups, ...errorResponses(400, 401, 404) },
};

export const deleteGroupTalksSchema = {
  summary: 'Remove talks from a group',
  tags: ['groups'],
  operationId: 'removeTalksFromGroup',
  description: 'Removes `talk_ids` (all talks when absent); answers with the talks that remain.',
  body: GroupTalksBody,
  querystring: GroupTalksQuery,
  response: { 200: TalkGroups, ...errorResponses(400, 401, 404) },
};

export const getGroupTalksSchema = {
  summary: "Get one of your organization's groups with its talks",
  tags: ['groups'],
  operationId: 'listGroupTalks',
  querystring: Type.Object({ group_id: Type.String() }),
  response: {
    200: Type.Object({ group: Type.Ref(GroupSchema), talks: Type.Array(Type.Ref('Talk')), error: Type.Null() }),
    ...errorResponses(400, 401, 404),
  },
};
