import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import type { Db } from './db/index.js';
import { AppError } from './errors.js';
import type { Sealer } from './sealed.js';

const HEADER = 'idempotency-key';
const KEEP_HOURS = 24;

declare module 'fastify' {
  interface FastifyRequest {
    idempotencyKey?: string;
  }
}

/**
 * `Idempotency-Key` on partner POSTs: the first request's answer is stored; a retry of the same
 * request (the same path, query and body, from the same caller: the same API token, or the same
 * dashboard user) with the same key gets it again; the same key with any other request is a 409. A
 * key whose first request is still running is a 409 too (retry later). Answers of 5xx are not kept.
 * A stored answer may hold a secret (a join link, a webhook's signing secret), so it is sealed;
 * and it is replayed only to its own caller, who was allowed to see it (the replay comes before
 * a route's own role check).
 */
export function idempotency(db: Db, sealer: Sealer) {
  const preHandler = async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.method !== 'POST') return;
    const key = request.headers[HEADER];
    if (typeof key !== 'string' || key === '') return;
    if (key.length > 255) throw new AppError('validation_failed', 'Idempotency-Key is longer than 255 characters', 'Idempotency-Key');
    const { partnerId, via, tokenId, userId } = request.partner;
    const path = request.url.split('?')[0];
    const hash = createHash('sha256')
      .update(`${via}:${tokenId ?? userId}\n${request.method} ${path}\n${JSON.stringify(request.query ?? {})}\n${JSON.stringify(request.body ?? null)}`)
      .digest('hex');
    const inserted = await db
      .insertInto('idempotency_keys')
      .values({ partner_id: partnerId, key, request_hash: hash })
      .onConflict((oc) => oc.columns(['partner_id', 'key']).doNothing())
      .returning('key')
      .executeTakeFirst();
    if (inserted) {
      request.idempotencyKey = key;
      return;
    }
    const existing = await db.selectFrom('idempotency_keys').selectAll().where('partner_id', '=', partnerId).where('key', '=', key).executeTakeFirstOrThrow();
    if (existing.request_hash !== hash) {
      throw new AppError(
        'idempotency_conflict',
        'this Idempotency-Key was used for another request (another body or path, or another caller)',
        'Idempotency-Key',
      );
    }
    if (existing.status_code === null || existing.response === null) {
      throw new AppError('idempotency_in_progress', 'the first request with this Idempotency-Key is still running; retry shortly', 'Idempotency-Key');
    }
    reply.header('idempotent-replayed', 'true');
    reply.code(existing.status_code).type('application/json; charset=utf-8');
    return reply.send(sealer.open(existing.response));
  };

  const onSend = async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const key = request.idempotencyKey;
    if (!key) return payload;
    const partnerId = request.partner.partnerId;
    if (reply.statusCode >= 500) {
      await db.deleteFrom('idempotency_keys').where('partner_id', '=', partnerId).where('key', '=', key).execute();
    } else {
      await db
        .updateTable('idempotency_keys')
        .set({ status_code: reply.statusCode, response: sealer.seal(typeof payload === 'string' ? payload : JSON.stringify(payload)) })
        .where('partner_id', '=', partnerId)
        .where('key', '=', key)
        .execute();
    }
    return payload;
  };

  return { preHandler, onSend };
}

/** Forgets keys older than a day (run periodically). */
export function pruneIdempotencyKeys(db: Db) {
  return db.deleteFrom('idempotency_keys').where('created_at', '<', sql<Date>`now() - make_interval(hours => ${KEEP_HOURS})`).execute();
}
