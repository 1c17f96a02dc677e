import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { type DownloadTarget, type RecordingStorage, contentTypeOf } from './storage.js';

export interface S3Options {
  bucket: string;
  region: string;
  endpoint?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Where files are written while recording, and cached for transcription. */
  stagingDir: string;
}

/**
 * An S3-compatible bucket (AWS, MinIO, R2...) through the official AWS SDK. The recorder writes
 * under `stagingDir`; `commit` uploads. A custom endpoint uses path-style addressing (MinIO).
 */
export class S3Storage implements RecordingStorage {
  readonly client: S3Client;

  constructor(private readonly options: S3Options) {
    this.client = new S3Client({
      region: options.region,
      endpoint: options.endpoint,
      forcePathStyle: options.endpoint !== undefined,
      // Plain bodies with a Content-Length, not the SDK's default aws-chunked upload with a CRC
      // trailer: S3-compatible servers that do not speak that encoding store the framing as part of
      // the object (seen with s3rver in test/recording/s3.test.ts: 44 bytes too many, a broken mp4).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      credentials: options.accessKeyId && options.secretAccessKey ? { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } : undefined,
    });
  }

  localPath(key: string): string {
    const root = path.resolve(this.options.stagingDir);
    const file = path.resolve(root, key);
    if (!file.startsWith(root + path.sep)) throw new Error(`storage key escapes the store: ${key}`);
    return file;
  }

  async commit(key: string): Promise<void> {
    const file = this.localPath(key);
    const { size } = await stat(file);
    await this.client.send(
      new PutObjectCommand({ Bucket: this.options.bucket, Key: key, Body: createReadStream(file), ContentLength: size, ContentType: contentTypeOf(key) }),
    );
  }

  async fetch(key: string): Promise<string> {
    const file = this.localPath(key);
    try {
      await stat(file);
      return file;
    } catch {
      await mkdir(path.dirname(file), { recursive: true });
      await pipeline(await this.read(key), createWriteStream(file));
      return file;
    }
  }

  /** Staging copies were kept for good: every recording's audio twice, the bucket's and this disk's. */
  async release(key: string): Promise<void> {
    await rm(this.localPath(key), { force: true });
  }

  async size(key: string): Promise<number | null> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: key }));
      return head.ContentLength ?? null;
    } catch {
      return null;
    }
  }

  async read(key: string): Promise<Readable> {
    const object = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
    return object.Body as Readable;
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: key }));
    await rm(this.localPath(key), { force: true });
  }

  async download(key: string, fileName: string, expiresIn: number): Promise<DownloadTarget> {
    return { url: await this.signedUrl(key, expiresIn, fileName) };
  }

  /**
   * A presigned GET URL for `key`, valid `expiresIn` seconds (downloads straight from the bucket, which
   * answers Range requests itself). Served inline with our Content-Type, as our own route serves local files.
   */
  signedUrl(key: string, expiresIn: number, fileName: string): Promise<string> {
    return getSignedUrl(
      this.client,
      new GetObjectCommand({
        Bucket: this.options.bucket,
        Key: key,
        ResponseContentType: contentTypeOf(fileName),
        ResponseContentDisposition: `inline; filename="${fileName.replace(/["\\\r\n]/g, '_')}"`,
      }),
      { expiresIn },
    );
  }
}
