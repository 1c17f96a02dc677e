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
 *   number: a numeric column as a JSON number; short_url: the public URL of the talk's page.
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
} as const satisfies Record<keyof TalkJson, 'value' | 'time' | 'number' | 'short_url'>;

/** The page behind a talk's short URL. */
export function shortUrl(publicUrl: string, talk: Pick<Talk, 'short_code'>): string {
  return `${publicUrl}/t/${talk.short_code}`;
}

export function talkToJson(talk: Talk, publicUrl: string): TalkJson {
  const out: Record<string, unknown> = {};
  for (const [key, kind] of Object.entries(TALK_JSON)) {
    if (kind === 'short_url') out[key] = shortUrl(publicUrl, talk);
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
 * Compiled once per public URL (which goes in as a literal) into one SQL fragment, so a list
 * request does not build and compile 22 fields again.
 */
export function talkJsonSql(db: Kysely<Database>, publicUrl: string): RawBuilder<string> {
  const done = compiled.get(publicUrl);
  if (done) return done;
  const fields = Object.entries(TALK_JSON).map(([key, kind]) => {
    const column = sql.ref(`talks.${key}`);
    const value =
      kind === 'short_url'
        ? sql`${sql.lit(`${publicUrl}/t/`)}::text || talks.short_code`
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
  compiled.set(publicUrl, fragment);
  return fragment;
}
