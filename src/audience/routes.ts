import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Talk } from '../platform/db/schema.js';
import { AppError } from '../platform/errors.js';
import type { App } from '../platform/http.js';
import type { LiveTalks } from '../rooms/live.js';
import type { TalksService } from '../talks/service.js';
import { Lookups, type PassedAnswer, PassOn } from './pass-on.js';
import type { AudienceStreams } from './service.js';
import type { LiveStream } from './stream.js';

const StreamParams = Type.Object({ code: Type.String({ maxLength: 32 }), key: Type.String({ maxLength: 64 }) });
const MediaParams = Type.Object({
  code: Type.String({ maxLength: 32 }),
  key: Type.String({ maxLength: 64 }),
  epoch: Type.String({ maxLength: 16 }),
  name: Type.String({ maxLength: 40 }),
});
const PlaylistQuery = Type.Object({
  _HLS_msn: Type.Optional(Type.Integer({ minimum: 0, maximum: 1e9 })),
  _HLS_part: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
  _HLS_skip: Type.Optional(Type.String({ maxLength: 8 })),
});

/** How long a talk looked up by its short code is fresh (Lookups: then looked up again, once, while requests get the answer before). */
const LOOKUP_MS = 2_000;
/** The same for the node hosting a talk's room. */
const HOST_MS = 1_000;
/** How long the last hosting node found stands in when lookups find none (a room whose node died is taken over within ~3 heartbeats). */
const LAST_HOST_MS = 30_000;
/** Parts and segments never change once made (their URLs carry the stream's epoch). */
const IMMUTABLE = 'public, max-age=86400, immutable';
/** Set on a request one node passes to the node hosting the talk, so it is never passed on again. */
const HOP_HEADER = 'x-smalltalk-stream-hop';

type StreamTalkRow = Pick<Talk, 'id' | 'status' | 'stream_key'>;

/**
 * The audience stream's public URLs, under the talk's short URL:
 *   /t/:code/live/:key/index.m3u8          the LL-HLS media playlist (blocking reload with _HLS_msn/_HLS_part, delta update with _HLS_skip)
 *   /t/:code/live/:key/:epoch/init.mp4     the init segment
 *   /t/:code/live/:key/:epoch/:msn.m4s     a segment;  :msn.:part.m4s  a part
 * Any node answers: the node hosting the talk's room makes the stream, another passes the request on to it.
 * Everything a cache may keep says so, so a CDN or nginx in front fans it out (docs/operations.md).
 */
export function audienceRoutes(streams: AudienceStreams, services: { talks: TalksService; live: LiveTalks }) {
  return async (app: App) => {
    // Every listener's request needs the talk and, on a node that does not host it, where its room is:
    // looked up once at a time each (Lookups). A lookup of the hosting node that finds none (its
    // heartbeat late under load, the room moving) keeps the last node found for up to LAST_HOST_MS:
    // if that node no longer hosts the talk, or is gone, the request fails there (503, ask again).
    const talks = new Lookups<StreamTalkRow | null>(async (code) => {
      const row = await services.talks.byShortCode(code);
      return row ? { id: row.id, status: row.status, stream_key: row.stream_key } : null;
    }, LOOKUP_MS);
    const hosts = new Lookups<{ nodeUrl: string; foundAt: number } | null>(
      async (talkId) => {
        const nodeUrl = await services.live.hostedElsewhere(talkId);
        return nodeUrl ? { nodeUrl, foundAt: Date.now() } : null;
      },
      HOST_MS,
      (found, before) => found ?? (before && Date.now() - before.foundAt < LAST_HOST_MS ? before : null),
    );
    const passer = new PassOn(HOP_HEADER);

    /** The local stream, or null after passing the request to the node that hosts the talk. */
    const streamFor = async (request: FastifyRequest, reply: FastifyReply, code: string, key: string): Promise<LiveStream | null> => {
      const talk = await talks.get(code);
      if (!talk) throw new AppError('not_found', 'no live stream at this address');
      const local = streams.streamOf(talk, key);
      if (local) return local;
      if (talk.stream_key !== key || talk.status !== 'live') throw new AppError('not_found', 'no live stream at this address');
      // Hosted here (just taken over, say), the stream starting: never passed on to the node before.
      const host = request.headers[HOP_HEADER] || services.live.hostsRoom(talk.id) ? null : await hosts.get(talk.id);
      const nodeUrl = host?.nodeUrl;
      if (!nodeUrl) throw new AppError('service_unavailable', 'the talk is live but its stream is not ready yet', undefined, { 'retry-after': '1' });
      await passOn(passer, request, reply, nodeUrl);
      return null;
    };

    app.get(
      '/t/:code/live/:key/index.m3u8',
      { schema: { hide: true, params: StreamParams, querystring: PlaylistQuery }, onSend: openErrors },
      async (request, reply) => {
        const { code, key } = request.params;
        const stream = await streamFor(request, reply, code, key);
        if (!stream) return reply;
        const { _HLS_msn: msn, _HLS_part: part, _HLS_skip: skip } = request.query;
        const target = stream.targetDuration;
        if (msn !== undefined) {
          if (stream.tooFarAhead(msn)) throw new AppError('bad_request', `segment ${msn} is too far ahead of the live edge`);
          if (!(await stream.wait(msn, part, 3 * target * 1000))) throw unavailable();
        } else if (!stream.edge && !stream.ended && !(await stream.wait(0, 0, 5_000))) {
          // A stream that just started has no part yet: the first playlist waits for one.
          throw unavailable();
        }
        // A delta update, when asked for: v2 also asks to skip date ranges, and this playlist has none.
        const delta = skip === 'YES' || skip === 'v2';
        return reply
          .header('content-type', 'application/vnd.apple.mpegurl')
          .header('cache-control', msn !== undefined ? `public, max-age=${target}` : 'public, max-age=1')
          .header('access-control-allow-origin', '*')
          .send(stream.playlist(delta));
      },
    );

    app.get('/t/:code/live/:key/:epoch/:name', { schema: { hide: true, params: MediaParams }, onSend: openErrors }, async (request, reply) => {
      const { code, key, epoch, name } = request.params;
      const stream = await streamFor(request, reply, code, key);
      if (!stream) return reply;
      if (epoch !== stream.epoch) throw new AppError('not_found', 'this stream has restarted since; reload the playlist');
      let body: Buffer | null;
      if (name === 'init.mp4') body = (await stream.waitForInit(5_000)) ? stream.init : null;
      else {
        const m = /^(\d{1,9})(?:\.(\d{1,4}))?\.m4s$/.exec(name);
        if (!m) throw new AppError('not_found', 'no such part');
        const msn = Number(m[1]);
        const part = m[2] === undefined ? undefined : Number(m[2]);
        // The part a preload hint names is held until it is made.
        if (
          part !== undefined &&
          !stream.part(msn, part) &&
          stream.isNextPart(msn, part) &&
          !(await stream.wait(msn, part, 3 * stream.targetDuration * 1000))
        ) {
          // Not made in time, or this run stopped: ask again, as a held playlist request is told.
          throw unavailable();
        }
        body = part === undefined ? stream.segment(msn) : stream.part(msn, part);
      }
      if (!body) throw new AppError('not_found', 'no such part (it is not made yet, or no longer kept)');
      return reply.header('content-type', 'audio/mp4').header('cache-control', IMMUTABLE).header('access-control-allow-origin', '*').send(body);
    });
  };
}

/**
 * A stream's error answers are for players on any site too, as its playlists and parts are: they carry
 * CORS (a player on a partner's page otherwise sees a 503 "ask again" as a network failure, which
 * hls.js does not retry) and are never kept by a cache (an edge or CDN would go on answering a 503
 * or a 404 after the part exists).
 */
async function openErrors(_request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  if (reply.statusCode >= 400) reply.header('access-control-allow-origin', '*').header('cache-control', 'no-store');
  return payload;
}

function unavailable(): AppError {
  return new AppError('service_unavailable', 'the stream has not reached that part in time', undefined, { 'retry-after': '1' });
}

/** Answers with what the node hosting the talk answers for the same path (shared and kept as PassOn says). */
async function passOn(passer: PassOn, request: FastifyRequest, reply: FastifyReply, nodeUrl: string): Promise<void> {
  let answer: PassedAnswer;
  try {
    answer = await passer.get(`${nodeUrl}${request.url}`);
  } catch (err) {
    request.log.warn({ err, nodeUrl }, 'the node hosting this talk did not answer a stream request');
    throw new AppError('service_unavailable', 'the node hosting this talk did not answer', undefined, { 'retry-after': '1' });
  }
  reply.code(answer.status);
  for (const [name, value] of answer.headers) reply.header(name, value);
  reply.send(answer.body);
}
