import { randomInt } from 'node:crypto';
import rrulePkg from 'rrule';
import type { Db, Queryable, Tx } from '../platform/db/index.js';
import type { Talk, TalkUpdate } from '../platform/db/schema.js';
import { AppError, notFound, validation } from '../platform/errors.js';
import { page, pageSize } from '../platform/http.js';
import { type TalkUrls, shortUrl, talkToJson } from './json.js';
import { type CachedPage, TalkListCache } from './list-cache.js';
import { TalksRepository } from './repository.js';
import type { CreateTalkInput, ListTalksFilter, TalkJson, UpdateTalkInput } from './schemas.js';

const { RRule, rrulestr } = rrulePkg;

export interface Warning {
  code: string;
  message: string;
  field?: string;
}

/** Series occurrences are kept materialized this far ahead (and at most this many). */
const SERIES_HORIZON_DAYS = 90;
const SERIES_MAX_OCCURRENCES = 52;
const SHORT_CODE_ALPHABET = 'abcdefghijkmnopqrstuvwxyz23456789';

/** Hooks other features attach to talk changes (the live room closes an ended or deleted talk). */
export interface TalkLifecycleListener {
  talkEnded?(talk: Talk): void | Promise<void>;
  talkDeleted?(talk: Talk): void | Promise<void>;
  /**
   * Talks about to be deleted, inside the deleting transaction (their rows, and the rows that go
   * with them by cascade, still there): what must go outside the database with them (a recording's
   * files), returned as work to run once the deletion has committed.
   */
  deletingTalks?(q: Queryable, partnerId: string, talkIds: string[]): Promise<(() => Promise<void>) | undefined>;
  /** The talk was edited on this node (its fields or times: PATCH, the dashboard). */
  talkUpdated?(talk: Talk): void | Promise<void>;
  /**
   * Another node announced a change to some of the partner's talks (changes.ts, Postgres only);
   * null: announcements may have been missed while this node was not listening.
   */
  changedElsewhere?(partnerId: string | null): void | Promise<void>;
}

export class TalksService {
  readonly repo: TalksRepository;
  readonly listeners: TalkLifecycleListener[] = [];
  /** Rendered list pages; enabled by the change listener (changes.ts) once it hears changes. */
  readonly listCache: TalkListCache;
  /** Tells the other nodes (set by changes.ts on Postgres). */
  announce?: (partnerId: string) => void;

  constructor(
    private readonly db: Db,
    private readonly urls: TalkUrls,
    listCache: { bytes: number; maxAgeMs: number } = { bytes: 0, maxAgeMs: 0 },
  ) {
    this.repo = new TalksRepository(db);
    this.listCache = new TalkListCache(listCache.bytes, listCache.maxAgeMs);
  }

  /** After a commit that changed the partner's talks: their list pages go, here and on every node. */
  changed(partnerId: string) {
    this.listCache.invalidate(partnerId);
    this.announce?.(partnerId);
  }

  toJson(talk: Talk): TalkJson {
    return talkToJson(talk, this.urls);
  }

  shortUrl(talk: Pick<Talk, 'short_code'>): string {
    return shortUrl(this.urls.publicUrl, talk);
  }

  async get(partnerId: string, talkId: string): Promise<Talk> {
    const talk = await this.repo.get(partnerId, talkId);
    if (!talk) throw notFound('talk', 'talk_id');
    return talk;
  }

  /** One of the partner's talks, or undefined. */
  find(partnerId: string, talkId: string): Promise<Talk | undefined> {
    return this.repo.get(partnerId, talkId);
  }

  /** Which of these ids are the partner's talks (in `q`'s transaction when given). */
  async existingIds(partnerId: string, talkIds: string[], q?: Queryable): Promise<Set<string>> {
    return new Set((await this.repo.getMany(partnerId, talkIds, q)).map((t) => t.id));
  }

  /** The talk behind a short URL, whatever its partner: the code is the capability. */
  byShortCode(code: string): Promise<Talk | undefined> {
    return this.repo.byShortCode(code);
  }

  /** By id alone, for the live room (its join token or short code was already checked). */
  byIdForRoom(talkId: string): Promise<Talk | undefined> {
    return this.repo.byIdForRoom(talkId);
  }

  /** Talks of live rooms, whatever their partner. */
  byIdsForRooms(talkIds: string[]): Promise<Talk[]> {
    return this.repo.byIdsForRooms(talkIds);
  }

  /**
   * `GET /api/v1/partners/talks`: the response body, built from each talk's JSON text made by the
   * database (see json.ts), or kept from an earlier identical request if none of the partner's
   * talks changed since (list-cache.ts). With `talk_id`, that talk alone or a 404.
   */
  async listPage(partnerId: string, filter: ListTalksFilter): Promise<CachedPage> {
    return this.listCache.page(partnerId, cacheKey(filter), async () => {
      const limit = filter.talk_id !== undefined ? 1 : pageSize(filter);
      const rows = await this.repo.listJson(partnerId, { ...filter, limit }, this.urls);
      if (filter.talk_id !== undefined && rows.length === 0) throw notFound('talk', 'talk_id');
      const result = page(rows, limit, (t) => [t.created_at, t.id]);
      return Buffer.from(`{"talks":[${result.items.map((r) => r.json).join(',')}],"next_cursor":${JSON.stringify(result.next_cursor)},"error":null}`);
    });
  }

  async create(partnerId: string, createdById: string | null, input: CreateTalkInput): Promise<{ talk: Talk; warnings: Warning[] }> {
    const warnings: Warning[] = [];
    const name = input.name.trim();
    if (name.length === 0) throw validation('name must not be empty', 'name');
    if (name.length > 200) throw validation('name must be at most 200 characters', 'name');
    const start = parseTime(input.start_time, 'start_time');
    const end = parseTime(input.end_time, 'end_time');
    if (start && end && end <= start) throw validation('end_time must be after start_time', 'end_time');
    const schedule = normalizeSchedule(input.schedule, start);
    checkUrl(input.thumbnail_url, 'thumbnail_url');

    const created = await this.db.transaction().execute(async (tx) => {
      let themeId: string | null = input.theme_id || null;
      if (themeId && !(await this.repo.themeExists(tx, partnerId, themeId))) {
        warnings.push({
          code: 'unknown_theme_id',
          field: 'theme_id',
          message: `theme ${themeId} is not one of your themes; the talk uses the default theme`,
        });
        themeId = null;
      }
      const talk = await this.repo.insert(tx, partnerId, {
        created_by_id: createdById,
        name,
        description: input.description ?? null,
        room_type: input.room_type ?? 'default',
        access: input.access ?? 'anyone',
        mic_behavior: input.mic_behavior ?? 'start_on',
        theme_id: themeId,
        start_time: start,
        end_time: end,
        subscriptions_allowed: input.subscriptions_allowed ?? false,
        recording: input.recording ?? true,
        webrtc_listener_limit: input.webrtc_listener_limit ?? null,
        thumbnail_url: input.thumbnail_url ?? null,
        price: input.price === undefined || input.price === null ? null : String(input.price),
        currency: input.currency ? input.currency.toUpperCase() : null,
        schedule,
        schedule_talk_id: null,
        short_code: newShortCode(),
      });
      if (schedule) await this.materializeSeries(tx, talk, new Date());
      return { talk, warnings };
    });
    this.changed(partnerId);
    return created;
  }

  async update(partnerId: string, talkId: string, input: UpdateTalkInput): Promise<{ talk: Talk; warnings: Warning[] }> {
    const warnings: Warning[] = [];
    const updated = await this.db.transaction().execute(async (tx) => {
      const current = await this.repo.get(partnerId, talkId, tx);
      if (!current) throw notFound('talk');
      const changes: TalkUpdate = {};
      if (input.name !== undefined) {
        const name = input.name.trim();
        if (name.length === 0 || name.length > 200) throw validation('name must be 1 to 200 characters', 'name');
        changes.name = name;
      }
      for (const key of [
        'room_type',
        'access',
        'mic_behavior',
        'subscriptions_allowed',
        'recording',
        'description',
        'thumbnail_url',
        'webrtc_listener_limit',
      ] as const) {
        if (input[key] !== undefined) (changes as Record<string, unknown>)[key] = input[key];
      }
      checkUrl(input.thumbnail_url, 'thumbnail_url');
      if (input.price !== undefined) changes.price = input.price === null ? null : String(input.price);
      if (input.currency !== undefined) changes.currency = input.currency ? input.currency.toUpperCase() : null;
      if (input.start_time !== undefined) changes.start_time = parseTime(input.start_time, 'start_time');
      if (input.end_time !== undefined) changes.end_time = parseTime(input.end_time, 'end_time');
      const start = changes.start_time !== undefined ? (changes.start_time as Date | null) : current.start_time;
      const end = changes.end_time !== undefined ? (changes.end_time as Date | null) : current.end_time;
      if (start && end && end <= start) throw validation('end_time must be after start_time', 'end_time');
      if (input.theme_id !== undefined) {
        changes.theme_id = input.theme_id || null;
        if (changes.theme_id && !(await this.repo.themeExists(tx, partnerId, changes.theme_id))) {
          warnings.push({
            code: 'unknown_theme_id',
            field: 'theme_id',
            message: `theme ${changes.theme_id} is not one of your themes; the talk uses the default theme`,
          });
          changes.theme_id = null;
        }
      }
      const scheduleChanged = input.schedule !== undefined && (input.schedule || null) !== current.schedule;
      const timesChanged = input.start_time !== undefined || input.end_time !== undefined;
      if (input.schedule !== undefined) {
        if (current.schedule_talk_id) throw validation('this talk is an occurrence of a series; change the schedule on its first talk', 'schedule');
        changes.schedule = normalizeSchedule(input.schedule, start);
      }
      const talk = (await this.repo.update(tx, partnerId, talkId, changes)) as Talk;
      let removed: Talk[] = [];
      if (talk.schedule_talk_id === null && (scheduleChanged || (talk.schedule && timesChanged))) {
        const now = new Date();
        removed = await this.repo.deleteOccurrences(tx, partnerId, talk.id, now);
        if (talk.schedule) await this.materializeSeries(tx, talk, now);
      }
      return { talk, warnings, removed };
    });
    this.changed(partnerId);
    for (const l of this.listeners) await l.talkUpdated?.(updated.talk);
    // An occurrence the new schedule replaced may have its lobby open here (anyone with its link opens it).
    await this.tellDeleted(updated.removed);
    return { talk: updated.talk, warnings: updated.warnings };
  }

  async delete(partnerId: string, talkId: string): Promise<Talk> {
    // A series' occurrences go with its first talk (the foreign key cascades): deleted here first, to
    // close their rooms too.
    const { talk, occurrences, afterwards } = await this.db.transaction().execute(async (tx) => {
      const ids = [talkId, ...(await this.repo.occurrenceIds(tx, partnerId, talkId))];
      const afterwards: (() => Promise<void>)[] = [];
      for (const l of this.listeners) {
        const then = await l.deletingTalks?.(tx, partnerId, ids);
        if (then) afterwards.push(then);
      }
      const occurrences = await this.repo.deleteOccurrences(tx, partnerId, talkId);
      return { talk: await this.repo.delete(tx, partnerId, talkId), occurrences, afterwards };
    });
    if (!talk) throw notFound('talk');
    this.changed(partnerId);
    for (const then of afterwards) await then();
    await this.tellDeleted([talk, ...occurrences]);
    return talk;
  }

  private async tellDeleted(talks: Talk[]) {
    for (const talk of talks) for (const l of this.listeners) await l.talkDeleted?.(talk);
  }

  /** Its live room's session began (rooms/lifecycle.ts): the talk is live; undefined if it has ended meanwhile. */
  async markLive(partnerId: string, talkId: string, startedAt: Date): Promise<Talk | undefined> {
    const talk = await this.repo.markLive(this.db, partnerId, talkId, startedAt);
    if (talk) this.changed(partnerId);
    return talk;
  }

  /** Ends a talk (host action or API): the room closes and the page says it has ended. */
  async end(partnerId: string, talkId: string): Promise<Talk> {
    const talk = await this.endTalk(partnerId, talkId, false);
    if (!talk) throw notFound('talk');
    return talk;
  }

  /** Ends a talk only if it is still live (a talk left live by a stopped node): undefined if it was not. */
  endIfLive(partnerId: string, talkId: string): Promise<Talk | undefined> {
    return this.endTalk(partnerId, talkId, true);
  }

  private async endTalk(partnerId: string, talkId: string, onlyIfLive: boolean): Promise<Talk | undefined> {
    const talk = await this.repo.update(this.db, partnerId, talkId, { status: 'ended', ended_at: new Date() }, onlyIfLive);
    if (!talk) return undefined;
    this.changed(partnerId);
    for (const l of this.listeners) await l.talkEnded?.(talk);
    return talk;
  }

  /** Creates the series' upcoming occurrences (after `now`, within the horizon) that do not exist yet. */
  async materializeSeries(tx: Tx | Db, head: Talk, now: Date): Promise<number> {
    if (!head.schedule || !head.start_time) return 0;
    const rule = rrulestr(`DTSTART:${toRruleDate(head.start_time)}\nRRULE:${head.schedule}`);
    const until = new Date(now.getTime() + SERIES_HORIZON_DAYS * 86_400_000);
    const existing = new Set((await this.repo.occurrenceStarts(tx, head.partner_id, head.id)).map((d) => d.getTime()));
    const duration = head.end_time ? head.end_time.getTime() - head.start_time.getTime() : null;
    let created = 0;
    for (const when of rule.between(now, until, true).slice(0, SERIES_MAX_OCCURRENCES)) {
      // The rule works in whole seconds: a first talk at 10:00:00.250 is its 10:00:00 occurrence, not another one.
      if (Math.floor(when.getTime() / 1000) === Math.floor(head.start_time.getTime() / 1000) || existing.has(when.getTime())) continue;
      await this.repo.insert(tx, head.partner_id, {
        created_by_id: head.created_by_id,
        name: head.name,
        description: head.description,
        room_type: head.room_type,
        access: head.access,
        mic_behavior: head.mic_behavior,
        theme_id: head.theme_id,
        start_time: when,
        end_time: duration === null ? null : new Date(when.getTime() + duration),
        subscriptions_allowed: head.subscriptions_allowed,
        recording: head.recording,
        webrtc_listener_limit: head.webrtc_listener_limit,
        thumbnail_url: head.thumbnail_url,
        price: head.price,
        currency: head.currency,
        schedule: null,
        schedule_talk_id: head.id,
        short_code: newShortCode(),
      });
      created++;
    }
    return created;
  }

  /** Tops up every series to the horizon; run periodically. */
  async extendAllSeries(now = new Date()): Promise<number> {
    let created = 0;
    for (const head of await this.repo.seriesHeads()) {
      const added = await this.materializeSeries(this.db, head, now);
      if (added > 0) this.changed(head.partner_id);
      created += added;
    }
    return created;
  }
}

/** The same filter always gives the same key, whatever order the query string had. */
function cacheKey(filter: ListTalksFilter): string {
  return JSON.stringify(Object.entries(filter).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function parseTime(value: string | null | undefined, field: string): Date | null {
  if (value === undefined || value === null || value.trim() === '') return null;
  const date = new Date(value.trim());
  if (Number.isNaN(date.getTime())) throw validation(`${field} must be an ISO 8601 date-time`, field);
  return date;
}

function checkUrl(value: string | null | undefined, field: string) {
  if (!value) return;
  try {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') return;
  } catch {
    // fall through
  }
  throw validation(`${field} must be an http(s) URL`, field);
}

function toRruleDate(date: Date): string {
  return `${date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')}`;
}

/** Validates an RRULE (with or without the `RRULE:` prefix); returns it normalized, or null. */
function normalizeSchedule(schedule: string | null | undefined, start: Date | null): string | null {
  if (schedule === undefined || schedule === null || schedule.trim() === '') return null;
  if (!start) throw validation('a schedule needs a start_time', 'schedule');
  const text = schedule.trim().replace(/^RRULE:/i, '');
  try {
    const options = RRule.parseString(text);
    if (options.freq === undefined) throw new Error('FREQ is required');
    return RRule.optionsToString(options).replace(/^RRULE:/, '');
  } catch (err) {
    throw validation(`schedule must be an RFC 5545 RRULE such as FREQ=WEEKLY;BYDAY=TH (${(err as Error).message})`, 'schedule');
  }
}

function newShortCode(): string {
  let code = '';
  for (let i = 0; i < 10; i++) code += SHORT_CODE_ALPHABET[randomInt(SHORT_CODE_ALPHABET.length)];
  return code;
}

export { AppError };
