import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Database } from '../platform/db/schema.js';
import type { Talk } from '../platform/db/schema.js';
import { iso } from '../platform/http.js';
import type { TalkJson } from './schemas.js';

/**
 * How each key of a talk's JSON is made from its row, in the order partners see the keys. One
 * table drives both renderings: `talkToJson` (a row in hand) and `talkJsonSql` (the database
 * builds the JSON text of a list page, so the hot list endpoint neither parses 23 columns per row
 * into JavaScript values nor serializes them again).
 *   value: the column as stored; time: ISO 8601 in UTC with milliseconds and "+00:00";
 *   number: a numeric column as a JSON number; short_url: the public URL of the talk's page;
 *   hls_url: the talk's live audience stream (src/audience/) while it is live, else null.
 */
const TALK_JSON = {
  id: 'value',
  created_at: 'time',
  updated_at: 'time',
  name: 'value',
  description: 'value',
  thumbnail_url: 'value',
  created_by_id: 'value',
  partner_id: 'value',
  price: 'number',
  currency: 'value',
  start_time: 'time',
  end_time: 'time',
  short_url: 'short_url',
  schedule: 'value',
  schedule_talk_id: 'value',
  access: 'value',
  mic_behavior: 'value',
  room_type: 'value',
  theme_id: 'value',
  subscriptions_allowed: 'value',
  recording: 'value',
  status: 'value',
  webrtc_listener_limit: 'value',
  hls_url: 'hls_url',
} as const satisfies Record<keyof TalkJson, 'value' | 'time' | 'number' | 'short_url' | 'hls_url'>;

/** What a talk's URLs are made from: the server's public URL, and whether live talks are streamed (LIVE_STREAM). */
export interface TalkUrls {
  publicUrl: string;
  liveStreams: boolean;
}

/** The page behind a talk's short URL. */
export function shortUrl(publicUrl: string, talk: Pick<Talk, 'short_code'>): string {
  return `${publicUrl}/t/${talk.short_code}`;
}

/** The talk's LL-HLS playlist (src/audience/routes.ts), while it is live. */
export function hlsUrl(urls: TalkUrls, talk: Pick<Talk, 'short_code' | 'status' | 'stream_key'>): string | null {
  return urls.liveStreams && talk.status === 'live' ? `${urls.publicUrl}${streamPath(talk)}` : null;
}

/** The path of the talk's LL-HLS playlist on any node (the talk page plays it from its own server). */
export function streamPath(talk: Pick<Talk, 'short_code' | 'stream_key'>): string {
  return `${shortUrl('', talk)}/live/${talk.stream_key}/index.m3u8`;
}

export function talkToJson(talk: Talk, urls: TalkUrls): TalkJson {
  const out: Record<string, unknown> = {};
  for (const [key, kind] of Object.entries(TALK_JSON)) {
    if (kind === 'short_url') out[key] = shortUrl(urls.publicUrl, talk);
    else if (kind === 'hls_url') out[key] = hlsUrl(urls, talk);
    else {
      const value = talk[key as keyof Talk];
      if (kind === 'time') out[key] = iso(value as Date | null);
      else if (kind === 'number') out[key] = value === null ? null : Number(value);
      else out[key] = value;
    }
  }
  return out as TalkJson;
}

/** A timestamp column as `iso()` writes it: ISO 8601 in UTC, milliseconds, "+00:00". */
export function isoSql(column: RawBuilder<unknown> | ReturnType<typeof sql.ref>): RawBuilder<string> {
  return sql<string>`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"+00:00"')`;
}

const compiled = new Map<string, RawBuilder<string>>();

/**
 * The same JSON as `talkToJson`, as text made by the database from the `talks` row in scope.
 * Compiled once per public URL (which goes in as a literal) and LIVE_STREAM into one SQL fragment, so a list
 * request does not build and compile 22 fields again.
 */
export function talkJsonSql(db: Kysely<Database>, urls: TalkUrls): RawBuilder<string> {
  const { publicUrl, liveStreams } = urls;
  const cacheKey = `${liveStreams}:${publicUrl}`;
  const done = compiled.get(cacheKey);
  if (done) return done;
  const fields = Object.entries(TALK_JSON).map(([key, kind]) => {
    const column = sql.ref(`talks.${key}`);
    const value =
      kind === 'short_url'
        ? sql`${sql.lit(`${publicUrl}/t/`)}::text || talks.short_code`
        : kind === 'hls_url'
          ? liveStreams
            ? sql`case when talks.status = 'live' then ${sql.lit(`${publicUrl}/t/`)}::text || talks.short_code || '/live/' || talks.stream_key || '/index.m3u8' end`
            : sql`null::text`
          : kind === 'time'
            ? isoSql(column)
            : kind === 'number'
              ? sql`${column}::float8`
              : column;
    return sql`${value} as ${sql.id(key)}`;
  });
  // to_json of a row is compact (no spaces) and keeps the columns' order; json_build_object is not.
  const query = sql<string>`(select to_json(j) from (select ${sql.join(fields)}) as j)::text`.compile(db);
  if (query.parameters.length > 0) throw new Error('talk JSON must compile without parameters');
  const fragment = sql.raw<string>(query.sql);
  compiled.set(cacheKey, fragment);
  return fragment;
}
