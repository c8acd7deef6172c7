// ObjectStore on S3: private objects, presigned GET URLs for results, presigned PUT for
// direct uploads, multipart (lib-storage Upload) for big streamed objects with the byte cap
// enforced while streaming, so an oversized upload never lands whole in memory or in the bucket.
import { type Readable, Transform, type TransformCallback } from "node:stream";
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { ImageEditError, isImageEditError } from "../../core/errors.js";
import type { ObjectStore, StoredObject } from "../../ports.js";

export interface S3ObjectStoreOptions {
  client: S3Client;
  bucket: string;
  /** Multipart part size for putStream (S3 minimum 5 MiB). */
  partSize?: number;
}

/** Presigned URLs are SigV4: at most 7 days. */
const MAX_PRESIGN_SEC = 7 * 24 * 3600;

function storageError(action: string, key: string, e: unknown): ImageEditError {
  const message = e instanceof Error ? e.message : String(e);
  return new ImageEditError("STORAGE_FAILED", `object store: ${action} ${key} failed: ${message}`, {
    retryable: true,
    cause: e,
  });
}

function isMissing(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err?.name === "NoSuchKey" || err?.name === "NotFound" || err?.$metadata?.httpStatusCode === 404;
}

function clampExpiry(sec: number): number {
  return Math.max(1, Math.min(MAX_PRESIGN_SEC, Math.floor(sec)));
}

/** Counts bytes through and fails with IMAGE_TOO_LARGE the moment the cap is passed. */
class ByteCap extends Transform {
  bytes = 0;
  constructor(private readonly maxBytes: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      cb(new ImageEditError("IMAGE_TOO_LARGE", `upload exceeds the ${this.maxBytes}-byte limit`));
      return;
    }
    cb(null, chunk);
  }
}

/**
 * What S3 stores with an object. An SVG can carry script: opened from its signed link it must
 * download, not render as a page on the bucket's origin (S3 cannot send the CSP sandbox the local
 * download route sends). An <img> shows it all the same.
 */
function storedAs(contentType: string): { ContentType: string; ContentDisposition?: string } {
  return contentType === "image/svg+xml"
    ? { ContentType: contentType, ContentDisposition: "attachment" }
    : { ContentType: contentType };
}

export class S3ObjectStore implements ObjectStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly partSize: number;

  constructor(opts: S3ObjectStoreOptions) {
    this.client = opts.client;
    this.bucket = opts.bucket;
    this.partSize = Math.max(5 * 1024 * 1024, opts.partSize ?? 8 * 1024 * 1024);
  }

  async put(key: string, body: Buffer, contentType: string): Promise<void> {
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ...storedAs(contentType) }),
      );
    } catch (e) {
      throw storageError("put", key, e);
    }
  }

  async putStream(key: string, body: Readable, contentType: string, maxBytes: number): Promise<number> {
    const cap = new ByteCap(maxBytes);
    body.on("error", (e) => cap.destroy(e));
    body.pipe(cap);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: cap, ...storedAs(contentType) },
      partSize: this.partSize,
      queueSize: 2,
      // Abort the multipart upload on failure: no orphaned parts billed forever.
      leavePartsOnError: false,
    });
    let capError: unknown;
    cap.on("error", (e) => {
      capError = e;
      void upload.abort().catch(() => undefined);
    });
    try {
      await upload.done();
    } catch (e) {
      const cause = capError ?? e;
      if (isImageEditError(cause)) throw cause;
      throw storageError("putStream", key, cause);
    }
    if (capError) {
      // The cap tripped after the last part went out: do not keep a truncated object.
      await this.delete(key).catch(() => undefined);
      throw capError;
    }
    return cap.bytes;
  }

  async get(key: string): Promise<StoredObject | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return {
        body: out.Body as Readable,
        contentType: out.ContentType ?? "application/octet-stream",
        bytes: Number(out.ContentLength ?? 0),
      };
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw storageError("get", key, e);
    }
  }

  async getBuffer(key: string): Promise<Buffer | undefined> {
    const obj = await this.get(key);
    if (!obj) return undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of obj.body) chunks.push(Buffer.from(chunk as Uint8Array));
    return Buffer.concat(chunks);
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (e) {
      if (isMissing(e)) return false;
      throw storageError("head", key, e);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (e) {
      if (!isMissing(e)) throw storageError("delete", key, e);
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    if (!prefix) throw new ImageEditError("INVALID_INPUT", "deletePrefix needs a non-empty prefix");
    // Delete page by page (1000 keys per request, the DeleteObjects maximum).
    for (;;) {
      const keys = await this.listPage(prefix, 1000);
      if (keys.length === 0) return;
      try {
        await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
          }),
        );
      } catch (e) {
        throw storageError("deletePrefix", prefix, e);
      }
      if (keys.length < 1000) return;
    }
  }

  private async listPage(prefix: string, max: number): Promise<string[]> {
    try {
      const out = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, MaxKeys: max }),
      );
      return (out.Contents ?? []).map((o) => o.Key!).filter(Boolean);
    } catch (e) {
      throw storageError("list", prefix, e);
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      try {
        const out = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key);
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } catch (e) {
        throw storageError("list", prefix, e);
      }
    } while (token);
    return keys;
  }

  async signedGetUrl(key: string, expiresInSec: number): Promise<string> {
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
      expiresIn: clampExpiry(expiresInSec),
    });
  }

  async signedPutUrl(key: string, contentType: string, expiresInSec: number): Promise<string> {
    return getSignedUrl(
      this.client,
      new PutObjectCommand({ Bucket: this.bucket, Key: key, ContentType: contentType }),
      { expiresIn: clampExpiry(expiresInSec) },
    );
  }
}
