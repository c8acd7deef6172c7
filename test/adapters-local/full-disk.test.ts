// A full object store (a 1 MB tmpfs under DATA_DIR/objects): an upload is answered 503
// STORAGE_FAILED (retry), as the session store and the jobs answer the same disk, and nothing of
// it stays behind (neither the file's temp nor the name stored beside it). Needs mount (root).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { afterAll, describe, expect, it } from "vitest";
import { FsObjectStore } from "../../src/adapters/local/fs-objects.js";
import { ImageEditError } from "../../src/core/errors.js";
import type { ObjectStore } from "../../src/ports.js";
import { startService, tempDir } from "../http/harness.js";

const mounted: string[] = [];
function smallDisk(dir: string): boolean {
  fs.mkdirSync(dir, { recursive: true });
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir], { stdio: "ignore" });
    mounted.push(dir);
    return true;
  } catch {
    return false;
  }
}
afterAll(() => {
  for (const dir of mounted) execFileSync("umount", [dir], { stdio: "ignore" });
});

const canMount = smallDisk(path.join(tempDir(), "probe"));

/** Every file under dir, hidden ones included. */
function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name);
}

describe.skipIf(!canMount)("a full object store", () => {
  const big = () =>
    sharp({
      create: {
        width: 1200,
        height: 1200,
        channels: 3,
        background: "black",
        noise: { type: "gaussian", mean: 128, sigma: 60 },
      },
    })
      .png({ compressionLevel: 0 })
      .toBuffer();

  it("the store answers STORAGE_FAILED, retryable, and leaves no temp file", async () => {
    const root = path.join(tempDir(), "objects");
    expect(smallDisk(root)).toBe(true);
    const store = new FsObjectStore(root, { secret: new Uint8Array(32) });
    const err = await store.put("a/b.png", await big(), "image/png").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageEditError);
    expect((err as ImageEditError).code).toBe("STORAGE_FAILED");
    expect((err as ImageEditError).retryable).toBe(true);
    expect((err as ImageEditError).message).toMatch(/could not write a\/b\.png \(ENOSPC\)/);
    expect(filesUnder(root)).toEqual([]);
  });

  it("POST /uploads answers 503 STORAGE_FAILED, keeps neither the file nor its name, and costs no upload", async () => {
    const dataDir = tempDir();
    expect(smallDisk(path.join(dataDir, "objects"))).toBe(true);
    // room left for the small name file stored beside the upload, not for the upload itself
    fs.writeFileSync(path.join(dataDir, "objects", "filler"), Buffer.alloc(1024 * 1024 - 64 * 1024));
    // the name is written first (it fits), then the file (it does not): the name must go again
    const nameFirst = (store: ObjectStore): ObjectStore =>
      Object.assign(Object.create(store) as ObjectStore, {
        put: async (key: string, body: Buffer, type: string) => {
          if (!key.endsWith(".json")) await new Promise((r) => setTimeout(r, 100));
          return store.put(key, body, type);
        },
      });
    // one upload a minute: the failed one must not use it up (the disk's fault, not the user's)
    const svc = await startService(
      { RATE_LIMIT_PER_MINUTE: "1", MAX_IMAGES_PER_REQUEST: "1" },
      { dataDir, wrap: { objects: nameFirst } },
    );
    try {
      const res = await svc.api("/uploads?name=holiday.png", {
        method: "POST",
        headers: { "content-type": "image/png" },
        body: await big(),
      });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("STORAGE_FAILED");
      expect(filesUnder(path.join(dataDir, "objects"))).toEqual(["filler"]);
      fs.rmSync(path.join(dataDir, "objects", "filler"));
      const again = await svc.api("/uploads?name=small.png", {
        method: "POST",
        headers: { "content-type": "image/png" },
        body: await sharp({ create: { width: 8, height: 8, channels: 3, background: "red" } })
          .png()
          .toBuffer(),
      });
      expect(again.status).toBe(201);
    } finally {
      await svc.close();
    }
  });
});
