import type { Db, Queryable } from '../platform/db/index.js';
import type { Group } from '../platform/db/schema.js';
import { AppError, notFound, validation } from '../platform/errors.js';
import { isUuid, iso, page, pageSize, parseIdList } from '../platform/http.js';
import { GroupsRepository } from './repository.js';
import type { CreateGroupInput, GroupJson, UpdateGroupInput } from './schemas.js';
import type { TalksService } from '../talks/service.js';

export class GroupsService {
  readonly repo: GroupsRepository;

  constructor(
    private readonly db: Db,
    private readonly talks: Pick<TalksService, 'existingIds'>,
  ) {
    this.repo = new GroupsRepository(db);
  }

  toJson(group: Group): GroupJson {
    return {
      id: group.id,
      name: group.name,
      description: group.description,
      rank: group.rank,
      visible: group.visible,
      currency: group.currency,
      price: group.price === null ? null : Number(group.price),
      partner_id: group.partner_id,
      created_at: iso(group.created_at) as string,
      updated_at: iso(group.updated_at) as string,
    };
  }

  async get(partnerId: string, groupId: string | undefined): Promise<Group> {
    if (!groupId) throw validation('group_id is required', 'group_id');
    const group = await this.repo.get(partnerId, groupId);
    if (!group) throw notFound('group', 'group_id');
    return group;
  }

  async list(partnerId: string, query: { limit?: number; cursor?: string }) {
    const limit = pageSize(query);
    return page(await this.repo.list(partnerId, limit, query.cursor), limit, (g) => [g.rank, g.id]);
  }

  create(partnerId: string, input: CreateGroupInput): Promise<Group> {
    const name = checkName(input.name);
    return this.db.transaction().execute(async (tx) =>
      this.repo.insert(tx, partnerId, {
        name,
        description: input.description ?? null,
        rank: input.rank ?? (await this.repo.nextRank(tx, partnerId)),
        visible: input.visible ?? true,
        price: input.price === undefined || input.price === null ? null : String(input.price),
        currency: input.currency ? input.currency.toUpperCase() : null,
      }),
    );
  }

  async update(partnerId: string, groupId: string, input: UpdateGroupInput): Promise<Group> {
    const changes: Partial<Group> = {};
    if (input.name !== undefined) changes.name = checkName(input.name);
    if (input.description !== undefined) changes.description = input.description;
    if (input.rank !== undefined) changes.rank = input.rank;
    if (input.visible !== undefined) changes.visible = input.visible;
    if (input.price !== undefined) changes.price = input.price === null ? null : String(input.price);
    if (input.currency !== undefined) changes.currency = input.currency ? input.currency.toUpperCase() : null;
    const group = await this.repo.update(partnerId, groupId, changes);
    if (!group) throw notFound('group');
    return group;
  }

  async delete(partnerId: string, groupId: string): Promise<Group> {
    const group = await this.repo.delete(partnerId, groupId);
    if (!group) throw notFound('group');
    return group;
  }

  /** Makes the group hold exactly `talkIds`. Unknown talk ids change nothing and answer 404. */
  async setTalks(partnerId: string, groupId: string | undefined, rawTalkIds: unknown) {
    const group = await this.get(partnerId, groupId);
    if (rawTalkIds === undefined) throw validation('talk_ids is required', 'talk_ids');
    const talkIds = parseIdList(rawTalkIds);
    return this.db.transaction().execute(async (tx) => {
      await this.requireTalks(partnerId, talkIds, tx);
      await this.repo.removeTalksExcept(tx, partnerId, group.id, talkIds);
      await this.repo.addTalks(tx, partnerId, group.id, talkIds);
      return this.repo.memberships(partnerId, group.id, tx);
    });
  }

  /** Removes `talkIds` (every talk when absent; an id that is no UUID names no talk of the group) and returns what remains. */
  async removeTalks(partnerId: string, groupId: string | undefined, rawTalkIds: unknown) {
    const group = await this.get(partnerId, groupId);
    const talkIds = rawTalkIds === undefined ? 'all' : parseIdList(rawTalkIds);
    return this.db.transaction().execute(async (tx) => {
      await this.repo.removeTalks(tx, partnerId, group.id, talkIds === 'all' ? 'all' : talkIds.filter(isUuid));
      return this.repo.memberships(partnerId, group.id, tx);
    });
  }

  async withTalks(partnerId: string, groupId: string | undefined) {
    const group = await this.get(partnerId, groupId);
    return { group, talks: await this.repo.talksOf(partnerId, group.id) };
  }

  private async requireTalks(partnerId: string, talkIds: string[], tx: Queryable) {
    const found = await this.talks.existingIds(partnerId, talkIds, tx);
    const missing = talkIds.filter((id) => !found.has(id));
    if (missing.length > 0) throw new AppError('not_found', `talk not found: ${missing.join(', ')}`, 'talk_ids');
  }
}

function checkName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > 200) throw validation('name must be 1 to 200 characters', 'name');
  return trimmed;
}
