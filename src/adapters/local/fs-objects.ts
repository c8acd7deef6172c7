// ObjectStore on the filesystem under DATA_DIR/objects. Keys are validated (no "..", no absolute
// paths, a small character set), writes are atomic (temp file + rename), and downloads go through
// HMAC-signed, expiring URLs (GET /files/<key>?exp=&sig=) checked in constant time.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { createReadStream } from "node:fs";
import fs, { type FileHandle } from "node:fs/promises";
import path from "node:path";
import { type Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { byteLimit } from "../../core/bytes.js";
import { ImageEditError } from "../../core/errors.js";
import type { Clock, ObjectStore, StoredObject } from "../../ports.js";

const SEGMENT = /^[A-Za-z0-9_@|:+=-][A-Za-z0-9._@|:+= -]{0,199}$/;
const TEMP_MARK = ".tmp-";

const MIME: Record<string, string> = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
  avif: "image/avif",
  gif: "image/gif",
  tif: "image/tiff",
  tiff: "image/tiff",
  heic: "image/heic",
  heif: "image/heif",
  svg: "image/svg+xml",
  bmp: "image/bmp",
};

/**
 * The file system cannot store it now (full, read-only, out of quota or descriptors, an I/O
 * error, no permission): STORAGE_FAILED, retryable (503 to a client), as the session store
 * answers the same disk. Anything else (a client's stream that broke) stays as it is.
 */
const STORAGE_ERRNOS = new Set(["ENOSPC", "EDQUOT", "EROFS", "EIO", "EACCES", "EPERM", "EMFILE", "ENFILE", "EFBIG"]);

function storageError(key: string, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (e instanceof ImageEditError || typeof code !== "string" || !STORAGE_ERRNOS.has(code)) return e;
  return new ImageEditError("STORAGE_FAILED", `the object store could not write ${key} (${code})`, {
    retryable: true,
    cause: e,
  });
}

/** Throws INVALID_INPUT unless key is a relative path of safe segments. */
export function assertSafeKey(key: string): void {
  const ok =
    typeof key === "string" &&
    key.length > 0 &&
    key.length <= 1024 &&
    key.split("/").every((s) => SEGMENT.test(s) && !s.includes(TEMP_MARK));
  if (!ok) throw new ImageEditError("INVALID_INPUT", `object key not allowed: ${JSON.stringify(key).slice(0, 120)}`);
}

export interface FsObjectStoreOptions {
  /** Secret for signed URLs. */
  secret: Uint8Array;
  /** Prefix of signed URLs ("" gives a path the app makes absolute per request). */
  baseUrl?: string;
  clock?: Clock;
  /** Content type of keys without a known extension (uploads), from their first bytes. */
  sniff?: (head: Uint8Array) => { mime: string } | undefined;
}

export class FsObjectStore implements ObjectStore {
  readonly root: string;
  private readonly secret: Uint8Array;
  private readonly baseUrl: string;
  private readonly clock: Clock;
  private readonly sniff?: FsObjectStoreOptions["sniff"];

  constructor(root: string, opts: FsObjectStoreOptions) {
    this.root = path.resolve(root);
    this.secret = opts.secret;
    this.baseUrl = (opts.baseUrl ?? "").replace(/\/+$/, "");
    this.clock = opts.clock ?? { now: () => Date.now() };
    this.sniff = opts.sniff;
  }

  private file(key: string): string {
    assertSafeKey(key);
    const p = path.join(this.root, ...key.split("/"));
    // Belt and braces: the validated key cannot escape, but check the resolved path anyway.
    if (!p.startsWith(this.root + path.sep)) throw new ImageEditError("INVALID_INPUT", "object key escapes the store");
    return p;
  }

  private async atomicWrite(key: string, write: (fh: FileHandle) => Promise<void>): Promise<void> {
    const dest = this.file(key);
    const tmp = `${dest}${TEMP_MARK}${randomBytes(6).toString("hex")}`;
    const fh = await this.createTemp(tmp).catch((e: unknown) => {
      throw storageError(key, e);
    });
    try {
      await write(fh);
      await fh.close(); // a no-op if a stream closed it
      await fs.rename(tmp, dest);
    } catch (e) {
      await fh.close().catch(() => undefined);
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      throw storageError(key, e);
    }
  }

  /**
   * Opens a new temp file, making its directories. A delete may prune a directory it emptied
   * between the mkdir and the open (see pruneEmpty): then the directory is made again. Once the
   * temp file is in it, the directory is no longer empty and stays.
   */
  private async createTemp(tmp: string): Promise<FileHandle> {
    for (let attempt = 1; ; attempt++) {
      try {
        // mkdir too: finding the directory there, it checks it, and may find it pruned by then
        await fs.mkdir(path.dirname(tmp), { recursive: true });
        return await fs.open(tmp, "wx", 0o600);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT" || attempt >= 5) throw e;
      }
    }
  }

  /**
   * Removes dir and then its parents, up to the store's root, while they are empty, so deleted
   * sessions (and a result written after its session was deleted, then removed) leave no empty
   * directories. rmdir refuses a non-empty directory, which ends the walk.
   */
  private async pruneEmpty(dir: string): Promise<void> {
    for (let d = dir; d.startsWith(this.root + path.sep); d = path.dirname(d)) {
      try {
        await fs.rmdir(d);
      } catch {
        return;
      }
    }
  }

  async put(key: string, body: Buffer, _contentType: string): Promise<void> {
    await this.atomicWrite(key, (fh) => fh.writeFile(body));
  }

  async putStream(key: string, body: Readable, _contentType: string, maxBytes: number): Promise<number> {
    let bytes = 0;
    const cap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        bytes += chunk.length;
        if (bytes > maxBytes) {
          cb(new ImageEditError("IMAGE_TOO_LARGE", `the upload is larger than allowed; ${byteLimit(maxBytes)}`));
        } else cb(null, chunk);
      },
    });
    await this.atomicWrite(key, (fh) => pipeline(body, cap, fh.createWriteStream()));
    return bytes;
  }

  private async contentTypeOf(key: string, file: string): Promise<string> {
    const ext = path.extname(key).slice(1).toLowerCase();
    if (MIME[ext]) return MIME[ext];
    if (this.sniff) {
      const fh = await fs.open(file, "r");
      try {
        const head = Buffer.alloc(512);
        const { bytesRead } = await fh.read(head, 0, head.length, 0);
        const t = this.sniff(head.subarray(0, bytesRead));
        if (t) return t.mime;
      } finally {
        await fh.close();
      }
    }
    return "application/octet-stream";
  }

  async get(key: string): Promise<StoredObject | undefined> {
    const file = this.file(key);
    const st = await fs.stat(file).catch(() => undefined);
    if (!st?.isFile()) return undefined;
    return { body: createReadStream(file), contentType: await this.contentTypeOf(key, file), bytes: st.size };
  }

  async getBuffer(key: string): Promise<Buffer | undefined> {
    try {
      return await fs.readFile(this.file(key));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
  }

  async exists(key: string): Promise<boolean> {
    const st = await fs.stat(this.file(key)).catch(() => undefined);
    return !!st?.isFile();
  }

  async delete(key: string): Promise<void> {
    const file = this.file(key);
    await fs.rm(file, { force: true });
    await this.pruneEmpty(path.dirname(file));
  }

  async deletePrefix(prefix: string): Promise<void> {
    const clean = prefix.replace(/\/+$/, "");
    if (!clean) throw new ImageEditError("INVALID_INPUT", "refusing to delete the whole store");
    if (prefix.endsWith("/")) {
      const dir = this.file(clean);
      // A job may store a file in the directory while it is being removed (a session deleted
      // while its images are stored): removing the directory then finds it not empty. Removed
      // again, with what landed meanwhile.
      await fs.rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 5 });
      await this.pruneEmpty(path.dirname(dir));
      return;
    }
    for (const key of await this.list(prefix)) await this.delete(key);
  }

  /** Keys (with modification times) under a prefix, temp files included, for the sweeper. */
  async listWithTimes(prefix: string): Promise<{ key: string; mtimeMs: number; temp: boolean }[]> {
    const out: { key: string; mtimeMs: number; temp: boolean }[] = [];
    const walk = async (dir: string, rel: string) => {
      const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        const k = rel ? `${rel}/${e.name}` : e.name;
        const full = path.join(dir, e.name);
        // Descend only where keys under the prefix can be: not the whole store for one session.
        if (e.isDirectory()) {
          if (prefix.startsWith(`${k}/`) || k.startsWith(prefix)) await walk(full, k);
        } else if (e.isFile() && k.startsWith(prefix)) {
          const st = await fs.stat(full).catch(() => undefined);
          if (st) out.push({ key: k, mtimeMs: st.mtimeMs, temp: e.name.includes(TEMP_MARK) });
        }
      }
    };
    await walk(this.root, "");
    return out;
  }

  /** Remove a file found by listWithTimes (temp files cannot be named through the key API). */
  async removeListed(key: string): Promise<void> {
    const p = path.join(this.root, ...key.split("/"));
    if (!p.startsWith(this.root + path.sep) || key.split("/").some((s) => s === ".." || s === "")) return;
    await fs.rm(p, { force: true });
    await this.pruneEmpty(path.dirname(p));
  }

  async list(prefix: string): Promise<string[]> {
    return (await this.listWithTimes(prefix)).filter((e) => !e.temp).map((e) => e.key);
  }

  private signature(key: string, exp: number): string {
    return createHmac("sha256", this.secret).update(`files\n${key}\n${exp}`).digest("base64url");
  }

  async signedGetUrl(key: string, expiresInSec: number): Promise<string> {
    assertSafeKey(key);
    const exp = Math.floor(this.clock.now() / 1000) + Math.max(1, Math.floor(expiresInSec));
    const encoded = key.split("/").map(encodeURIComponent).join("/");
    return `${this.baseUrl}/files/${encoded}?exp=${exp}&sig=${this.signature(key, exp)}`;
  }

  /** Whether exp and sig were issued for this key and have not expired (constant-time compare). */
  verifySignedGet(key: string, exp: string | undefined, sig: string | undefined): boolean {
    if (!exp || !sig || !/^\d{1,12}$/.test(exp)) return false;
    try {
      assertSafeKey(key);
    } catch {
      return false;
    }
    const expNum = Number(exp);
    if (expNum < Math.floor(this.clock.now() / 1000)) return false;
    const want = Buffer.from(this.signature(key, expNum));
    const got = Buffer.from(sig);
    return want.length === got.length && timingSafeEqual(want, got);
  }
}
