import type { Db, Queryable } from '../platform/db/index.js';
import type { Recording, RecordingTrack, RecordingsTable } from '../platform/db/schema.js';
import type { Insertable, Updateable } from 'kysely';
import { decodeCursor, isUuid } from '../platform/http.js';

/** Recordings within one partner. */
export class RecordingsRepository {
  constructor(private readonly db: Db) {}

  get(partnerId: string, recordingId: string, q: Queryable = this.db): Promise<Recording | undefined> {
    if (!isUuid(recordingId)) return Promise.resolve(undefined);
    return q.selectFrom('recordings').selectAll().where('partner_id', '=', partnerId).where('id', '=', recordingId).executeTakeFirst();
  }

  /** Newest first; limit + 1 rows (the extra one says whether a next page exists), or all without a limit. */
  async list(partnerId: string, options: { talkId?: string; limit?: number; cursor?: string }): Promise<Recording[]> {
    let query = this.db.selectFrom('recordings').selectAll().where('partner_id', '=', partnerId);
    if (options.talkId !== undefined) {
      if (!isUuid(options.talkId)) return [];
      query = query.where('talk_id', '=', options.talkId);
    }
    const after = decodeCursor(options.cursor, 2);
    if (after) {
      const [createdAt, id] = after as [string, string];
      query = query.where((eb) => eb.or([eb('created_at', '<', new Date(createdAt)), eb.and([eb('created_at', '=', new Date(createdAt)), eb('id', '<', id)])]));
    }
    return query
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .$if(options.limit !== undefined, (q) => q.limit((options.limit as number) + 1))
      .execute();
  }

  insert(q: Queryable, partnerId: string, recording: Omit<Insertable<RecordingsTable>, 'partner_id'> & { tracks?: RecordingTrack[] }): Promise<Recording> {
    return q
      .insertInto('recordings')
      .values({ ...recording, partner_id: partnerId, tracks: JSON.stringify(recording.tracks ?? []) })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  update(partnerId: string, recordingId: string, changes: Updateable<RecordingsTable>, q: Queryable = this.db): Promise<Recording | undefined> {
    if (!isUuid(recordingId)) return Promise.resolve(undefined);
    const values = { ...changes, updated_at: new Date() } as Record<string, unknown>;
    if (values.tracks !== undefined && typeof values.tracks !== 'string') values.tracks = JSON.stringify(values.tracks);
    if (values.transcription !== undefined && values.transcription !== null && typeof values.transcription !== 'string')
      values.transcription = JSON.stringify(values.transcription);
    return q.updateTable('recordings').set(values).where('partner_id', '=', partnerId).where('id', '=', recordingId).returningAll().executeTakeFirst();
  }

  delete(partnerId: string, recordingId: string): Promise<Recording | undefined> {
    if (!isUuid(recordingId)) return Promise.resolve(undefined);
    return this.db.deleteFrom('recordings').where('partner_id', '=', partnerId).where('id', '=', recordingId).returningAll().executeTakeFirst();
  }

  /** The stored files of the talks' recordings (read before the talks are deleted: the recordings go with them). */
  async filesOfTalks(q: Queryable, partnerId: string, talkIds: string[]): Promise<string[]> {
    const ids = talkIds.filter(isUuid);
    if (ids.length === 0) return [];
    const rows = await q.selectFrom('recordings').select(['storage_key', 'tracks']).where('partner_id', '=', partnerId).where('talk_id', 'in', ids).execute();
    return rows.flatMap((r) => [r.storage_key, ...r.tracks.map((t) => t.storage_key)]);
  }

  /** For the public download route, after its signature was checked. */
  byIdForDownload(recordingId: string): Promise<Recording | undefined> {
    if (!isUuid(recordingId)) return Promise.resolve(undefined);
    return this.db.selectFrom('recordings').selectAll().where('id', '=', recordingId).executeTakeFirst();
  }

  /** Recordings a crash left 'recording' or 'processing' (all partners): the recorder finalizes them at start-up. */
  unfinished(): Promise<Recording[]> {
    return this.db.selectFrom('recordings').selectAll().where('status', 'in', ['recording', 'processing']).orderBy('created_at').execute();
  }
}
