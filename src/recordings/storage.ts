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
  size(key: string): Promise<number | null>;
  read(key: string): Promise<Readable>;
  delete(key: string): Promise<void>;
}

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
}
