// The ObjectStore contract: the filesystem store (HMAC-signed URLs served by GET /files) and
// the S3 store (presigned URLs) both pass it. Signed URLs are fetched over real HTTP.
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ImageEditError } from "../../src/core/errors.js";
import type { ObjectStore } from "../../src/ports.js";

export interface ObjectStoreHarness {
  store: ObjectStore;
  cleanup(): Promise<void>;
  /** Base for relative signed URLs (the local HTTP app); without it, relative URLs skip the fetch. */
  baseUrl?: string;
}

export interface ObjectStoreContractOptions {
  /**
   * Whether the server behind the store checks signatures, so a tampered URL is refused.
   * s3rver does not implement SigV4 verification (it only checks expiry): false there, with the
   * check run against real S3 by the integration suite instead.
   */
  verifiesSignatures?: boolean;
  /** Bytes for the big streamed object (multipart on S3). */
  bigBytes?: number;
}

let seq = 0;
const prefix = () => `contract-${process.pid}-${Date.now().toString(36)}-${(seq++).toString(36)}/`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function chunked(data: Buffer, size = 64 * 1024): Readable {
  let offset = 0;
  return new Readable({
    read() {
      if (offset >= data.length) this.push(null);
      else {
        this.push(data.subarray(offset, offset + size));
        offset += size;
      }
    },
  });
}

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

export function objectStoreContract(
  name: string,
  makeStore: () => Promise<ObjectStoreHarness>,
  opts: ObjectStoreContractOptions = {},
): void {
  const verifiesSignatures = opts.verifiesSignatures ?? true;
  describe(`ObjectStore contract: ${name}`, () => {
    let h: ObjectStoreHarness;
    let store: ObjectStore;
    let p: string;
    beforeEach(async () => {
      h = await makeStore();
      store = h.store;
      p = prefix();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    /** An absolute URL to fetch, or undefined when a relative URL has no server to go to. */
    const absolute = (url: string): string | undefined => {
      if (/^https?:\/\//.test(url)) return url;
      return h.baseUrl ? new URL(url, h.baseUrl).toString() : undefined;
    };

    it("puts, gets, checks and deletes an object", async () => {
      const key = `${p}user/session/a.png`;
      const data = randomBytes(3000);
      expect(await store.exists(key)).toBe(false);
      expect(await store.get(key)).toBeUndefined();
      expect(await store.getBuffer(key)).toBeUndefined();
      await store.put(key, data, "image/png");
      expect(await store.exists(key)).toBe(true);
      const obj = await store.get(key);
      expect(obj?.contentType).toBe("image/png");
      expect(obj?.bytes).toBe(data.length);
      expect((await readAll(obj!.body)).equals(data)).toBe(true);
      expect((await store.getBuffer(key))?.equals(data)).toBe(true);
      await store.put(key, Buffer.from("second"), "text/plain");
      expect((await store.getBuffer(key))?.toString()).toBe("second");
      await store.delete(key);
      expect(await store.exists(key)).toBe(false);
      await store.delete(key); // deleting a missing object is not an error
    });

    it("lists and deletes by prefix, without touching siblings that share a string prefix", async () => {
      const keys = [`${p}u1/s1/a.png`, `${p}u1/s1/b.webp`, `${p}u1/s1/nested/c.jpg`];
      const sibling = `${p}u1/s10/x.png`;
      for (const k of [...keys, sibling]) await store.put(k, Buffer.from(k), "application/octet-stream");
      expect((await store.list(`${p}u1/s1/`)).sort()).toEqual([...keys].sort());
      expect(await store.list(`${p}nothing/`)).toEqual([]);
      await store.deletePrefix(`${p}u1/s1/`);
      expect(await store.list(`${p}u1/s1/`)).toEqual([]);
      expect(await store.exists(sibling)).toBe(true);
    });

    it("streams an object in and returns its size", async () => {
      const key = `${p}stream.bin`;
      const data = randomBytes(300_000);
      expect(await store.putStream(key, chunked(data), "application/octet-stream", data.length)).toBe(data.length);
      expect((await store.getBuffer(key))?.equals(data)).toBe(true);
    });

    it("streams a big object (multipart where the store has it)", async () => {
      const key = `${p}big.bin`;
      const data = randomBytes(opts.bigBytes ?? 11 * 1024 * 1024);
      expect(await store.putStream(key, chunked(data, 256 * 1024), "image/tiff", data.length + 1)).toBe(data.length);
      const back = await store.getBuffer(key);
      expect(back?.length).toBe(data.length);
      expect(back?.equals(data)).toBe(true);
    });

    it("stops a stream over the byte cap with IMAGE_TOO_LARGE and keeps nothing", async () => {
      const key = `${p}too-big.bin`;
      const err = await store
        .putStream(key, chunked(randomBytes(200_000), 16 * 1024), "application/octet-stream", 100_000)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ImageEditError);
      expect((err as ImageEditError).code).toBe("IMAGE_TOO_LARGE");
      expect(await store.exists(key)).toBe(false);
    });

    it("passes a source stream's error through and keeps nothing", async () => {
      const key = `${p}broken.bin`;
      let n = 0;
      const broken = new Readable({
        read() {
          if (n++ < 3) this.push(randomBytes(1000));
          else this.destroy(new Error("connection reset by peer"));
        },
      });
      await expect(store.putStream(key, broken, "application/octet-stream", 1_000_000)).rejects.toThrow();
      expect(await store.exists(key)).toBe(false);
    });

    it("hands out a signed GET URL that serves the object over HTTP", async (ctx) => {
      const key = `${p}user/session/signed image.png`;
      const data = randomBytes(5000);
      await store.put(key, data, "image/png");
      const url = absolute(await store.signedGetUrl(key, 300));
      if (!url) return ctx.skip(); // relative URL and no server in this harness
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("image/png");
      expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);
    });

    it("never lets a stored SVG render as a page from its signed URL (script in an upload)", async (ctx) => {
      const key = `${p}user/uploads/evil`;
      const svg = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>';
      for (const put of [
        () => store.put(key, Buffer.from(svg), "image/svg+xml"),
        () => store.putStream(key, Readable.from([Buffer.from(svg)]), "image/svg+xml", 10_000),
      ]) {
        await put();
        const url = absolute(await store.signedGetUrl(key, 300));
        if (!url) return ctx.skip();
        const res = await fetch(url);
        expect(res.status).toBe(200);
        expect(await res.text()).toBe(svg); // still an image to an <img>
        const downloads = /^attachment/i.test(res.headers.get("content-disposition") ?? "");
        const sandboxed = /\bsandbox\b/.test(res.headers.get("content-security-policy") ?? "");
        expect(downloads || sandboxed, "downloaded or sandboxed, never a live page").toBe(true);
      }
    });

    it("refuses a signed URL once it has expired", async (ctx) => {
      const key = `${p}expiring.png`;
      await store.put(key, Buffer.from("x"), "image/png");
      const url = absolute(await store.signedGetUrl(key, 1));
      if (!url) return ctx.skip();
      await sleep(2200);
      const res = await fetch(url);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    });

    it.skipIf(!verifiesSignatures)("refuses a tampered signed URL", async (ctx) => {
      const a = `${p}a.png`;
      const b = `${p}b.png`;
      await store.put(a, Buffer.from("aaa"), "image/png");
      await store.put(b, Buffer.from("bbb"), "image/png");
      const url = absolute(await store.signedGetUrl(a, 300));
      if (!url) return ctx.skip();
      // The same signature on another key, and the right key with a changed signature.
      const otherKey = url.replace("/a.png", "/b.png");
      expect(otherKey).not.toBe(url);
      expect((await fetch(otherKey)).status).toBeGreaterThanOrEqual(400);
      const u = new URL(url);
      const sigParam = [...u.searchParams.keys()].find((k) => /sig/i.test(k));
      expect(sigParam, "a signed URL carries a signature parameter").toBeDefined();
      const sig = u.searchParams.get(sigParam!)!;
      u.searchParams.set(sigParam!, (sig[0] === "0" ? "1" : "0") + sig.slice(1));
      expect((await fetch(u)).status).toBeGreaterThanOrEqual(400);
    });

    it("hands out a signed PUT URL for direct uploads, where the store has one", async (ctx) => {
      if (!store.signedPutUrl) return ctx.skip();
      const key = `${p}upload/direct.jpg`;
      const url = absolute(await store.signedPutUrl(key, "image/jpeg", 300));
      if (!url) return ctx.skip();
      const data = randomBytes(2048);
      const res = await fetch(url, { method: "PUT", body: data, headers: { "content-type": "image/jpeg" } });
      expect(res.status).toBe(200);
      expect((await store.getBuffer(key))?.equals(data)).toBe(true);
    });
  });
}
