import send from '@fastify/send';
import type { App } from '../platform/http.js';
import { AppError } from '../platform/errors.js';
import { TranscriptionSchema } from '../transcription/schema.js';
import { RecordingSchema, deleteRecordingSchema, getRecordingSchema, listRecordingsSchema, updateRecordingSchema } from './schemas.js';
import type { RecordingsService } from './service.js';
import { contentTypeOf } from './storage.js';

export async function recordingRoutes(app: App, recordings: RecordingsService) {
  app.addSchema(TranscriptionSchema);
  app.addSchema(RecordingSchema);

  app.get('/api/v1/partners/recordings', { schema: listRecordingsSchema }, async (request) => {
    const { talk_id, limit, cursor } = request.query;
    const result = await recordings.list(request.partner.partnerId, { talkId: talk_id, limit, cursor });
    return { recordings: result.items.map((r) => recordings.toJson(r)), next_cursor: result.next_cursor, error: null };
  });

  app.get('/api/v1/partners/recordings/:id', { schema: getRecordingSchema }, async (request) => ({
    recording: recordings.toJson(await recordings.get(request.partner.partnerId, request.params.id)),
    error: null,
  }));

  app.patch('/api/v1/partners/recordings/:id', { schema: updateRecordingSchema }, async (request) => ({
    recording: recordings.toJson(await recordings.setSharePermission(request.partner.partnerId, request.params.id, request.body.share_permission)),
    error: null,
  }));

  app.delete('/api/v1/partners/recordings/:id', { schema: deleteRecordingSchema }, async (request) => ({
    recording: recordings.toJson(await recordings.delete(request.partner.partnerId, request.params.id)),
    error: null,
  }));
}

/**
 * Downloads: public recordings by link; private ones only with a valid, unexpired signature.
 * Local files are served by `@fastify/send` (the module behind @fastify/static): Range (206, 416),
 * HEAD, ETag, Last-Modified, If-None-Match/If-Modified-Since (304), If-Range, If-Match (412). On S3 the
 * route answers with a redirect to a presigned URL of the object, and the object store serves ranges.
 */
export async function recordingFileRoutes(app: App, recordings: RecordingsService) {
  app.get('/files/recordings/:id/:file', { schema: { hide: true } }, async (request, reply) => {
    const { id, file } = request.params as { id: string; file: string };
    const { expires, sig } = request.query as { expires?: string; sig?: string };
    const rec = await recordings.repo.byIdForDownload(id);
    const track = rec && (rec.file_name === file ? { storage_key: rec.storage_key } : rec.tracks.find((t) => t.file_name === file));
    if (!rec || !track) throw new AppError('not_found', 'no such file');
    const allowed = rec.share_permission === 'public' || (sig !== undefined && recordings.verify(rec.id, file, Number(expires), sig));
    if (!allowed) throw new AppError('not_found', 'no such file, or the link has expired');
    // A presigned URL lives as long as our signed link (at least a minute, so a link opened just before it
    // expires still plays); a public link's for an hour, and our stable URL gives a fresh one.
    const ttl = rec.share_permission === 'public' ? 3600 : Math.min(3600, Math.max(60, Number(expires) - Math.floor(Date.now() / 1000)));
    const target = await recordings.storage.download(track.storage_key, file, ttl);
    if ('url' in target) return reply.code(302).header('cache-control', 'private, no-store').header('location', target.url).send();
    const served = await send(request.raw, target.path.split('/').map(encodeURIComponent).join('/'), {
      root: target.root,
      index: false,
      dotfiles: 'allow',
      cacheControl: false,
      contentType: false,
    });
    if (served.type !== 'file') {
      if (served.statusCode === 416)
        throw new AppError('range_not_satisfiable', 'the requested range is outside the file', undefined, { 'content-range': served.headers['Content-Range'] });
      if (served.statusCode === 412) throw new AppError('precondition_failed', 'the file does not match If-Match or If-Unmodified-Since');
      throw new AppError('not_found', 'the file is not available');
    }
    reply.code(served.statusCode).headers(served.headers).header('cache-control', 'private, max-age=300');
    if (served.statusCode !== 304) reply.type(contentTypeOf(file));
    return reply.send(served.stream);
  });
}
