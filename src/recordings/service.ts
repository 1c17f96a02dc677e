import { createHmac } from 'node:crypto';
import type { Db, Queryable } from '../platform/db/index.js';
import type { Recording } from '../platform/db/schema.js';
import { notFound } from '../platform/errors.js';
import { iso, page, pageSize } from '../platform/http.js';
import { safeEqual } from '../platform/compare.js';
import { RecordingsRepository } from './repository.js';
import type { RecordingJson } from './schemas.js';
import type { RecordingStorage } from './storage.js';

const URL_TTL_SECONDS = 3600;

export class RecordingsService {
  readonly repo: RecordingsRepository;
  constructor(
    db: Db,
    readonly storage: RecordingStorage,
    private readonly publicUrl: string,
    private readonly secret: string,
  ) {
    this.repo = new RecordingsRepository(db);
  }

  toJson(rec: Recording, now = Date.now()): RecordingJson {
    return {
      id: rec.id,
      talk_id: rec.talk_id,
      created_at: iso(rec.created_at) as string,
      start_time: iso(rec.start_time) as string,
      end_time: iso(rec.end_time),
      duration: rec.duration,
      file_name: rec.file_name,
      size: rec.size,
      share_permission: rec.share_permission,
      created_by_id: rec.created_by_id,
      user_id: rec.user_id,
      status: rec.status,
      failure_reason: rec.failure_reason ?? null,
      url: rec.status === 'recording' ? null : this.fileUrl(rec, rec.file_name, now),
      tracks: rec.tracks.map((t) => ({
        name: t.name,
        username: t.username,
        user_id: t.user_id,
        uid: t.uid,
        file_name: t.file_name,
        offset: t.offset,
        url: this.fileUrl(rec, t.file_name, now),
      })),
      transcription: (rec.transcription as RecordingJson['transcription']) ?? null,
    };
  }

  /** Public recordings get a permanent link; private ones a signed link that expires in an hour. */
  fileUrl(rec: Pick<Recording, 'id' | 'share_permission'>, fileName: string, now = Date.now()): string {
    const base = `${this.publicUrl}/files/recordings/${rec.id}/${encodeURIComponent(fileName)}`;
    if (rec.share_permission === 'public') return base;
    const expires = Math.floor(now / 1000) + URL_TTL_SECONDS;
    return `${base}?expires=${expires}&sig=${this.sign(rec.id, fileName, expires)}`;
  }

  sign(recordingId: string, fileName: string, expires: number): string {
    return createHmac('sha256', this.secret).update(`${recordingId}/${fileName}/${expires}`).digest('base64url');
  }

  verify(recordingId: string, fileName: string, expires: number, sig: string): boolean {
    return Number.isFinite(expires) && expires * 1000 > Date.now() && safeEqual(sig, this.sign(recordingId, fileName, expires));
  }

  async get(partnerId: string, recordingId: string): Promise<Recording> {
    const rec = await this.repo.get(partnerId, recordingId);
    if (!rec) throw notFound('recording');
    return rec;
  }

  async list(partnerId: string, options: { talkId?: string; limit?: number; cursor?: string }) {
    const limit = pageSize(options);
    return page(await this.repo.list(partnerId, { ...options, limit }), limit, (r) => [iso(r.created_at), r.id]);
  }

  async setSharePermission(partnerId: string, recordingId: string, sharePermission: 'private' | 'public') {
    const rec = await this.repo.update(partnerId, recordingId, { share_permission: sharePermission });
    if (!rec) throw notFound('recording');
    return rec;
  }

  /**
   * Talks about to be deleted (TalkLifecycleListener.deletingTalks): their recordings' rows go with
   * them by cascade, so their files are found now and removed once the deletion has committed.
   * Before, a deleted talk's recordings stayed on disk or in the bucket with nothing pointing at them.
   */
  async deletingTalks(q: Queryable, partnerId: string, talkIds: string[]): Promise<() => Promise<void>> {
    const keys = await this.repo.filesOfTalks(q, partnerId, talkIds);
    // The deletion has committed by then: a file that cannot be removed (the bucket unreachable) does
    // not make it fail.
    return async () => {
      await Promise.allSettled(keys.map((key) => this.storage.delete(key)));
    };
  }

  async delete(partnerId: string, recordingId: string): Promise<Recording> {
    const rec = await this.repo.delete(partnerId, recordingId);
    if (!rec) throw notFound('recording');
    await Promise.all([this.storage.delete(rec.storage_key), ...rec.tracks.map((t) => this.storage.delete(t.storage_key))]);
    return rec;
  }
}
