import type { App } from '../app.js';
import { AppError } from '../platform/errors.js';
import type { Services } from '../services.js';
import { RecordingSchema, TranscriptionSchema, deleteRecordingSchema, getRecordingSchema, listRecordingsSchema, updateRecordingSchema } from './schemas.js';

export async function recordingRoutes(app: App, { recordings }: Services) {
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

/** Downloads: public recordings by link; private ones only with a valid, unexpired signature. */
export async function recordingFileRoutes(app: App, { recordings }: Services) {
  app.get('/files/recordings/:id/:file', { schema: { hide: true } }, async (request, reply) => {
    const { id, file } = request.params as { id: string; file: string };
    const { expires, sig } = request.query as { expires?: string; sig?: string };
    const rec = await recordings.repo.byIdForDownload(id);
    const track = rec && (rec.file_name === file ? { storage_key: rec.storage_key } : rec.tracks.find((t) => t.file_name === file));
    if (!rec || !track) throw new AppError('not_found', 'no such file');
    const allowed = rec.share_permission === 'public' || (sig !== undefined && recordings.verify(rec.id, file, Number(expires), sig));
    if (!allowed) throw new AppError('not_found', 'no such file, or the link has expired');
    const size = await recordings.storage.size(track.storage_key);
    if (size === null) throw new AppError('not_found', 'the file is not available');
    const type = file.endsWith('.mp4') || file.endsWith('.m4a') ? 'audio/mp4' : file.endsWith('.ogg') ? 'audio/ogg' : 'application/octet-stream';
    reply.header('content-length', size).header('cache-control', 'private, max-age=300').type(type);
    return reply.send(await recordings.storage.read(track.storage_key));
  });
}
