import { createReadStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';

/** Where recording files live: local disk under DATA_DIR, or an S3-compatible bucket. */
export interface RecordingStorage {
  /** A local path to write `key` to before `commit` (local disk writes in place). */
  localPath(key: string): string;
  /** Makes the file at localPath(key) durable in the store (uploads it, for S3). */
  commit(key: string): Promise<void>;
  /** A local path holding the file of `key` (downloads it first when the store is remote). */
  fetch(key: string): Promise<string>;
  /**
   * This node needs no local copy of `key` any more (it is committed, and was mixed or transcribed):
   * a remote store removes its staging or fetched copy; on local disk the file is the store, kept.
   */
  release(key: string): Promise<void>;
  size(key: string): Promise<number | null>;
  read(key: string): Promise<Readable>;
  delete(key: string): Promise<void>;
  /**
   * Where a download of `key` is served from: a file under `root` (our route serves it, with ranges),
   * or a URL of the object store valid `expiresIn` seconds (the route redirects there; the store serves ranges).
   */
  download(key: string, fileName: string, expiresIn: number): Promise<DownloadTarget>;
}

export type DownloadTarget = { root: string; path: string } | { url: string };

/** The Content-Type of a recording file, by its name (audio/mp4 for .mp4 and .m4a: recordings are audio only). */
export function contentTypeOf(fileName: string): string {
  const ext = path.extname(fileName).toLowerCase();
  return contentTypes[ext] ?? 'application/octet-stream';
}

const contentTypes: Record<string, string> = {
  '.mp4': 'audio/mp4',
  '.m4a': 'audio/mp4',
  '.ogg': 'audio/ogg',
  '.opus': 'audio/ogg',
  '.vtt': 'text/vtt; charset=utf-8',
  '.srt': 'application/x-subrip; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.json': 'application/json',
};

export class LocalStorage implements RecordingStorage {
  constructor(private readonly root: string) {}

  localPath(key: string): string {
    const file = path.resolve(this.root, key);
    if (!file.startsWith(path.resolve(this.root) + path.sep)) throw new Error(`storage key escapes the store: ${key}`);
    return file;
  }

  async commit(key: string): Promise<void> {
    await mkdir(path.dirname(this.localPath(key)), { recursive: true });
  }

  async fetch(key: string): Promise<string> {
    return this.localPath(key);
  }

  async size(key: string): Promise<number | null> {
    try {
      return (await stat(this.localPath(key))).size;
    } catch {
      return null;
    }
  }

  async read(key: string): Promise<Readable> {
    return createReadStream(this.localPath(key));
  }

  async delete(key: string): Promise<void> {
    await rm(this.localPath(key), { force: true });
  }

  async release(): Promise<void> {
    // The file is the recording.
  }

  async download(key: string): Promise<DownloadTarget> {
    this.localPath(key);
    return { root: path.resolve(this.root), path: key };
  }
}
