import type { ExpressionBuilder } from 'kysely';
import type { FastifyReply } from 'fastify';
import { type Static, type TNull, type TSchema, type TUnion, Type } from '@sinclair/typebox';
import { AppError, validation } from './errors.js';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The app every feature registers its routes on: Fastify with TypeBox schemas as types. */
export type App = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

/** Schema of the error envelope, shared by every route's OpenAPI responses. */
/**
 * The listen backlog (the kernel caps it at net.core.somaxconn). Node's default, 511, overflowed
 * when a thousand audience listeners connected within a second: the kernel dropped their SYNs and
 * they retried 1, 3 and 7 s later (bench/audience; TcpExtListenOverflows in `nstat`).
 */
export const LISTEN_BACKLOG = 4096;

export const ErrorEnvelope = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      field: Type.Optional(Type.String()),
      request_id: Type.String(),
    }),
  },
  { $id: 'ErrorEnvelope', description: 'Every error: a code from the catalogue, a message, the field at fault when there is one.' },
);

export const Warning = Type.Object({ code: Type.String(), message: Type.String(), field: Type.Optional(Type.String()) });

/** `{ [key]: data, error: null }`, plus `next_cursor` on lists and `warnings` when there are some. */
export function envelope<K extends string, T extends TSchema>(key: K, data: T, options: { list?: boolean } = {}) {
  return Type.Object({
    [key]: data,
    ...(options.list ? { next_cursor: Type.Union([Type.String(), Type.Null()]) } : {}),
    warnings: Type.Optional(Type.Array(Warning)),
    error: Type.Null(),
  } as Record<K, T>);
}

/**
 * `T | null`. A scalar becomes `{"type": ["string", "null"]}` rather than an `anyOf`: the
 * response serializer must run a validator per value to pick an `anyOf` branch, which made
 * a page of 50 talks cost milliseconds. Other schemas stay a union.
 */
export const Nullable = <T extends TSchema>(schema: T): TUnion<[T, TNull]> => {
  const type = (schema as { type?: unknown }).type;
  if (typeof type === 'string' && ['string', 'number', 'integer', 'boolean'].includes(type)) {
    return Type.Unsafe<Static<T> | null>({ ...schema, type: [type, 'null'] }) as unknown as TUnion<[T, TNull]>;
  }
  return Type.Union([schema, Type.Null()]);
};

/** The standard error responses for OpenAPI, by status. */
export function errorResponses(...statuses: number[]) {
  return Object.fromEntries(statuses.map((s) => [s, Type.Ref(ErrorEnvelope)]));
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are UUIDs; anything else cannot name a row of ours (and must not reach Postgres as a uuid). */
/** `value` as a normalized URL when it is an absolute http(s) URL, else null (pages only show such links and images). */
export function httpUrl(value: string | null | undefined): string | null {
  if (!value) return null;
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.toString() : null;
  } catch {
    return null;
  }
}

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && uuidPattern.test(value);
}

/** ISO 8601 with an explicit offset, as the API doc shows: 2021-12-16T06:06:25.244+00:00. */
export function iso(date: Date | string | null | undefined): string | null {
  if (date === null || date === undefined) return null;
  const d = typeof date === 'string' ? new Date(date) : date;
  return d.toISOString().replace('Z', '+00:00');
}

/**
 * A list of ids in any shape real clients send: a JSON array, the doc's form string
 * `[id1, id2]` (quoted or not), repeated fields, or a comma-separated string.
 */
export function parseIdList(value: unknown): string[] {
  const parts: string[] = [];
  const visit = (v: unknown) => {
    if (v === undefined || v === null) return;
    if (Array.isArray(v)) {
      for (const item of v) visit(item);
      return;
    }
    const text = String(v).trim();
    if (text.startsWith('[')) {
      try {
        const parsed = JSON.parse(text);
        if (Array.isArray(parsed)) {
          for (const item of parsed) visit(item);
          return;
        }
      } catch {
        // not JSON: the doc's unquoted [a, b] form, handled below
      }
    }
    for (const piece of text.replace(/^\[|\]$/g, '').split(',')) {
      const id = piece
        .trim()
        .replace(/^["'“”‘’]+|["'“”‘’]+$/g, '')
        .trim();
      if (id) parts.push(id);
    }
  };
  visit(value);
  return [...new Set(parts)];
}

/** Opaque cursor for keyset pagination: the sort key of the last row of a page. */
export function encodeCursor(values: unknown[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

export function decodeCursor(cursor: string | undefined, length: number): unknown[] | undefined {
  if (!cursor) return undefined;
  try {
    const values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(values) && values.length === length) return values;
  } catch {
    // fall through
  }
  throw new AppError('validation_failed', 'cursor is not one this API returned', 'cursor');
}

export const PaginationQuery = {
  limit: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 200,
      description: 'Page size, at most 200. Talks, recordings and groups: without limit or cursor, every row (next_cursor null); elsewhere 50.',
    }),
  ),
  cursor: Type.Optional(Type.String({ description: 'The next_cursor of the previous page (a page of 50 unless limit says otherwise).' })),
};

/**
 * The page size of a list that the API doc shows whole: the limit asked for, 50 when only a cursor
 * is sent, and undefined (every row) when neither is: a partner's client written to the doc
 * never asks for a page, so it must not be cut to one.
 */
export function pageSize(query: { limit?: number; cursor?: string }): number | undefined {
  if (query.limit !== undefined) return query.limit;
  return query.cursor ? 50 : undefined;
}

/** Returns the page and the cursor of the next one (null at the end, and for a whole list: no limit). */
export function page<T>(rows: T[], limit: number | undefined, keyOf: (row: T) => unknown[]): { items: T[]; next_cursor: string | null } {
  if (limit === undefined) return { items: rows, next_cursor: null };
  const items = rows.slice(0, limit);
  const next_cursor = rows.length > limit ? encodeCursor(keyOf(items[items.length - 1])) : null;
  return { items, next_cursor };
}

/**
 * Keyset pagination: a `where` for the rows after the cursor's (column, id), in the list's
 * direction; undefined without a cursor. Timestamp columns (`*_at`) are compared as dates.
 */
export function afterCursor(cursor: string | undefined, column: string, direction: 'asc' | 'desc') {
  const after = decodeCursor(cursor, 2);
  if (!after) return undefined;
  const [raw, id] = after as [string | number, string];
  const value = column.endsWith('_at') ? new Date(raw) : raw;
  const op = direction === 'desc' ? '<' : '>';
  // any: one predicate serves every table's (column, id) keyset
  return (eb: ExpressionBuilder<any, any>) => eb.or([eb(column, op, value), eb.and([eb(column, '=', value), eb('id', op, id)])]);
}

/** Whether an If-None-Match header names this entity tag (weak comparison, as RFC 9110 asks for GET). */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

/**
 * Sends JSON text already made (by the database, say) as is: a string with a JSON content type
 * skips Fastify's serializer. The caller makes sure it has the route's response schema's shape.
 */
export function sendJsonText(reply: FastifyReply, json: string | Buffer): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(json);
}

/** NUL (Postgres text and jsonb refuse it) and UTF-16 surrogates without their pair (not text). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the NUL is what it looks for
const unstorableChar = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Deeper than any of our bodies nests; deeper ones are refused before code walks them. */
const maxDepth = 32;

/**
 * Why a request value (body, query, params) cannot be taken in, as an error naming the field,
 * or undefined: a NUL byte or a lone surrogate in a string or key, a number that is not finite
 * (`limit=Infinity` or `1e309` passes the integer schema once coerced), or nesting deeper than
 * any of our bodies. Walks iteratively, so a hostile depth cannot overflow the stack.
 */
export function hostileValue(root: unknown): AppError | undefined {
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value: root, path: '', depth: 0 }];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop() as { value: unknown; path: string; depth: number };
    const field = path || undefined;
    if (typeof value === 'string') {
      if (unstorableChar.test(value)) return validation(`${path || 'a value'} contains a NUL byte or an unpaired surrogate, which is not text`, field);
    } else if (typeof value === 'number') {
      if (!Number.isFinite(value)) return validation(`${path || 'a value'} must be a finite number`, field);
    } else if (value !== null && typeof value === 'object') {
      if (depth >= maxDepth) return validation(`${path || 'the body'} nests deeper than ${maxDepth} levels`, field);
      for (const [key, child] of Object.entries(value)) {
        if (unstorableChar.test(key)) return validation('a field name contains a NUL byte or an unpaired surrogate', field);
        stack.push({ value: child, path: path ? `${path}.${key}` : key, depth: depth + 1 });
      }
    }
  }
  return undefined;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A body's bytes as text; invalid UTF-8 is a 400 rather than text with replacement characters. */
export function utf8Body(body: Buffer): string {
  try {
    return strictUtf8.decode(body);
  } catch {
    throw new AppError('bad_request', 'the body is not valid UTF-8');
  }
}
