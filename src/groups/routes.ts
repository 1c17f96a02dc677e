import type { FastifyRequest } from 'fastify';
import type { App } from '../platform/http.js';
import type { TalksService } from '../talks/service.js';
import type { GroupsService } from './service.js';
import {
  GroupSchema,
  createGroupSchema,
  deleteGroupSchema,
  deleteGroupTalksSchema,
  getGroupSchema,
  getGroupTalksSchema,
  listGroupsSchema,
  putGroupTalksSchema,
  updateGroupSchema,
} from './schemas.js';

/**
 * group_id and talk_ids may come in the body (JSON or form) or the query string, and
 * `talk_ids[]` is the same field as `talk_ids`.
 */
function groupTalkParams(request: FastifyRequest) {
  const sources = [request.body, request.query].filter((s): s is Record<string, unknown> => typeof s === 'object' && s !== null);
  const pick = (...keys: string[]) => {
    for (const source of sources) for (const key of keys) if (source[key] !== undefined) return source[key];
    return undefined;
  };
  const groupId = pick('group_id');
  return { groupId: Array.isArray(groupId) ? String(groupId[0]) : (groupId as string | undefined), talkIds: pick('talk_ids', 'talk_ids[]') };
}

/** PUT/DELETE may carry everything in the query string and no body at all. */
async function bodyOptional(request: FastifyRequest) {
  if (request.body === undefined || request.body === null) request.body = {};
}

export async function groupRoutes(app: App, { groups, talks }: { groups: GroupsService; talks: TalksService }) {
  app.addSchema(GroupSchema);

  app.post('/api/v1/partners/groups', { schema: createGroupSchema }, async (request) => {
    const group = groups.toJson(await groups.create(request.partner.partnerId, request.body));
    return { ...group, group, error: null };
  });

  app.get('/api/v1/partners/groups', { schema: listGroupsSchema }, async (request) => {
    const result = await groups.list(request.partner.partnerId, request.query);
    return { groups: result.items.map((g) => groups.toJson(g)), next_cursor: result.next_cursor, error: null };
  });

  app.get('/api/v1/partners/groups/:id', { schema: getGroupSchema }, async (request) => {
    return { group: groups.toJson(await groups.get(request.partner.partnerId, request.params.id)), error: null };
  });

  app.patch('/api/v1/partners/groups/:id', { schema: updateGroupSchema }, async (request) => {
    return { group: groups.toJson(await groups.update(request.partner.partnerId, request.params.id, request.body)), error: null };
  });

  app.delete('/api/v1/partners/groups/:id', { schema: deleteGroupSchema }, async (request) => {
    return { group: groups.toJson(await groups.delete(request.partner.partnerId, request.params.id)), error: null };
  });

  app.put('/api/v1/partners/group_talks', { schema: putGroupTalksSchema, preValidation: bodyOptional }, async (request) => {
    const { groupId, talkIds } = groupTalkParams(request);
    return { talk_groups: await groups.setTalks(request.partner.partnerId, groupId, talkIds), error: null };
  });

  app.delete('/api/v1/partners/group_talks', { schema: deleteGroupTalksSchema, preValidation: bodyOptional }, async (request) => {
    const { groupId, talkIds } = groupTalkParams(request);
    return { talk_groups: await groups.removeTalks(request.partner.partnerId, groupId, talkIds), error: null };
  });

  app.get('/api/v1/partners/group_talks', { schema: getGroupTalksSchema }, async (request) => {
    const { group, talks: rows } = await groups.withTalks(request.partner.partnerId, request.query.group_id);
    return { group: groups.toJson(group), talks: rows.map((t) => talks.toJson(t)), error: null };
  });
}
