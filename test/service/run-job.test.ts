// runJob on its own, with real stores (SQLite, filesystem) and the real pipeline in this thread:
// duplicate delivery writes one result, "done" is never recorded before the file exists,
// storage failures are retried, a deleted session leaves nothing behind.
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { FsObjectStore } from "../../src/adapters/local/fs-objects.js";
import { noMetrics } from "../../src/adapters/local/prom-metrics.js";
import { SqliteSessionStore } from "../../src/adapters/local/sqlite-sessions.js";
import tokenCommand from "../../src/cli/commands/token.js";
import { ImageEditError } from "../../src/core/errors.js";
import { limitsFromConfig } from "../../src/core/limits.js";
import { processImage } from "../../src/core/pipeline.js";
import { createAuth } from "../../src/http/auth.js";
import { silentLogger } from "../../src/logger.js";
import type { ObjectStore, Session } from "../../src/ports.js";
import { type JobDeps, runJob } from "../../src/service/run-job.js";
import { withChangeNotifications } from "../../src/service/watch.js";
import { makeImage } from "../helpers/images.js";
import { tempDir, testConfig } from "../http/harness.js";

async function setup(opts: { objects?: (o: FsObjectStore) => ObjectStore } = {}) {
  const dir = tempDir();
  const config = testConfig(dir, { JOB_MAX_ATTEMPTS: "3" });
  const sqlite = new SqliteSessionStore(path.join(dir, "s.db"));
  const { store, watcher } = withChangeNotifications(sqlite);
  const fsObjects = new FsObjectStore(path.join(dir, "objects"), { secret: new Uint8Array(32) });
  const objects = opts.objects ? opts.objects(fsObjects) : fsObjects;
  const input = await makeImage({ width: 80, height: 60 });
  let fetches = 0;
  const deps: JobDeps = {
    config,
    limits: limitsFromConfig(config),
    sessions: store,
    objects,
    metrics: noMetrics,
    logger: silentLogger(),
    process: processImage,
    fetchSource: async () => {
      fetches++;
      return input;
    },
    retryBaseMs: 1,
  };
  const now = Date.now();
  const session: Session = {
    sessionId: "s1",
    userId: "u1",
    createdAt: now,
    updatedAt: now,
    status: "queued",
    plan: [{ op: "resize", width: 40 }] as Session["plan"],
    images: [
      { id: "a", name: "a", sourceUrl: "http://x/a.png", status: "queued", percent: 0, attempts: 0, version: 1 },
    ],
    ttl: Math.floor(now / 1000) + 3600,
    version: 1,
  };
  await store.create(session);
  return { deps, store, watcher, fsObjects, fetches: () => fetches };
}

const job = { sessionId: "s1", imageId: "a", userId: "u1", attempt: 1 };

describe("runJob", () => {
  it("writes one result when the same job is delivered twice, and records done only once the file exists", async () => {
    const { deps, store, watcher, fsObjects, fetches } = await setup();
    const seen: { status: string; fileThere: boolean }[] = [];
    const checks: Promise<void>[] = [];
    watcher.watch("s1", (s) => {
      const img = s?.images[0];
      if (img?.status === "done")
        checks.push(
          fsObjects.exists(img.result!.key).then((fileThere) => void seen.push({ status: "done", fileThere })),
        );
    });
    // Delivered twice at once: both may work, but the key is deterministic and the write atomic.
    await Promise.all([runJob(job, deps), runJob(job, deps)]);
    const afterTwo = fetches();
    expect(afterTwo).toBeGreaterThanOrEqual(1);
    await runJob(job, deps); // redelivered after it finished: skipped
    await Promise.all(checks);
    expect(fetches()).toBe(afterTwo);
    expect(seen.length).toBeGreaterThanOrEqual(1);
    for (const x of seen) expect(x).toEqual({ status: "done", fileThere: true });
    const s = await store.get("s1");
    expect(s?.status).toBe("completed");
    expect(s?.images[0].result).toMatchObject({ key: "u1/s1/a.png", width: 40, height: 30, format: "png" });
    expect(await fsObjects.list("u1/s1/")).toEqual(["u1/s1/a.png"]);
    const meta = await sharp((await fsObjects.getBuffer("u1/s1/a.png"))!).metadata();
    expect([meta.width, meta.height]).toEqual([40, 30]);
  });

  it("a duplicate delivery that loses the race never moves a finished image back", async () => {
    const { deps, store, watcher } = await setup();
    const statuses: string[] = [];
    watcher.watch("s1", (s) => s && statuses.push(s.images[0].status));
    let releaseSlow!: () => void;
    const slowGate = new Promise<void>((r) => {
      releaseSlow = r;
    });
    const fetchSource = deps.fetchSource;
    let n = 0;
    const slowDeps = {
      ...deps,
      fetchSource: async (url: string, user: string) => {
        const data = await fetchSource(url, user);
        if (n++ === 0) await slowGate; // the first delivery stalls mid-fetch
        return data;
      },
    };
    const slow = runJob(job, slowDeps);
    await new Promise((r) => setTimeout(r, 20));
    await runJob(job, slowDeps); // the second delivery finishes first
    releaseSlow();
    await slow;
    const doneAt = statuses.indexOf("done");
    expect(doneAt).toBeGreaterThan(0);
    expect(statuses.slice(doneAt).every((s) => s === "done")).toBe(true);
    expect((await store.get("s1"))?.status).toBe("completed");
  });

  it("a delivery that stored its file after another one recorded the image failed removes that file", async () => {
    const { deps, store, fsObjects } = await setup();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const fetchSource = deps.fetchSource;
    const slow = runJob(job, {
      ...deps,
      fetchSource: async (url: string, user: string) => {
        const data = await fetchSource(url, user);
        await gate; // stalls mid-fetch while the other delivery gives up on the image
        return data;
      },
    });
    await new Promise((r) => setTimeout(r, 20));
    await store.updateImage("s1", "a", {
      status: "failed",
      percent: 100,
      error: { code: "FETCH_FAILED", message: "gone" },
    });
    release();
    await slow;
    expect((await store.get("s1"))?.images[0].status).toBe("failed");
    expect(await fsObjects.list("u1/")).toEqual([]);
  });

  it("a refused 'done' write is retried; refused for good, the image fails and its file is removed", async () => {
    for (const refusals of [1, 100]) {
      const { deps, store, fsObjects } = await setup();
      let left = refusals;
      deps.sessions = new Proxy(store, {
        get(target, prop, receiver) {
          if (prop === "updateImage")
            return async (id: string, img: string, patch: { status?: string }) => {
              if (patch.status === "done" && left-- > 0) throw new Error("SQLITE_BUSY: database is locked");
              return target.updateImage(id, img, patch as never);
            };
          const v = Reflect.get(target, prop, receiver);
          return typeof v === "function" ? v.bind(target) : v;
        },
      });
      await runJob(job, deps);
      const img = (await store.get("s1"))!.images[0];
      const files = await fsObjects.list("u1/s1/");
      if (refusals === 1) {
        expect(img).toMatchObject({ status: "done", attempts: 2 });
        expect(files).toEqual(["u1/s1/a.png"]);
      } else {
        expect(img).toMatchObject({ status: "failed", attempts: 3, error: { code: "STORAGE_FAILED" } });
        expect(files).toEqual([]);
      }
    }
  });

  it("retries a failed store and then succeeds", async () => {
    let puts = 0;
    const { deps, store } = await setup({
      objects: (o) =>
        Object.assign(Object.create(o) as FsObjectStore, {
          put: async (key: string, body: Buffer, type: string) => {
            if (++puts === 1) throw new Error("disk briefly unavailable");
            return o.put(key, body, type);
          },
        }),
    });
    await runJob(job, deps);
    const img = (await store.get("s1"))!.images[0];
    expect(img).toMatchObject({ status: "done", attempts: 2 });
    expect(puts).toBe(2);
  });

  it("a raw fault from below (a file system message with server paths) reaches the log, not the user", async () => {
    const secret = "ENOTDIR: not a directory, mkdir '/srv/imgedit/data/objects/u1/s1'";
    for (const where of ["store", "fetch"] as const) {
      const { deps, store } = await setup({
        objects: (o) =>
          Object.assign(Object.create(o) as FsObjectStore, {
            put: async (key: string, body: Buffer, type: string) => {
              if (where === "store") throw new Error(secret);
              return o.put(key, body, type);
            },
          }),
      });
      if (where === "fetch")
        deps.fetchSource = async () => {
          throw new Error(secret);
        };
      await runJob(job, deps);
      const img = (await store.get("s1"))!.images[0];
      expect(img.status).toBe("failed");
      expect(img.error?.code).toBe(where === "store" ? "STORAGE_FAILED" : "PROCESSING_FAILED");
      expect(img.error?.message).toMatch(/see the server log/);
      expect(JSON.stringify(img)).not.toContain("/srv/imgedit");
    }
  });

  it("fails the image with the pipeline's typed error, without retrying bad input", async () => {
    const { deps, store, fetches } = await setup();
    deps.fetchSource = async () => {
      throw new ImageEditError("UNSUPPORTED_FORMAT", "not an image");
    };
    await runJob(job, deps);
    const s = (await store.get("s1"))!;
    expect(s.status).toBe("failed");
    expect(s.images[0]).toMatchObject({ status: "failed", attempts: 1, error: { code: "UNSUPPORTED_FORMAT" } });
    expect(fetches()).toBe(0);
  });

  it("records processing and storing only when they last past the phase delay; fetching and done always", async () => {
    const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const run = async (slow: { process?: number; store?: number }) => {
      const { deps, store, watcher, fsObjects } = await setup({
        objects: (o) =>
          Object.assign(Object.create(o) as FsObjectStore, {
            put: async (key: string, body: Buffer, type: string) => {
              await delay(slow.store ?? 0);
              return o.put(key, body, type);
            },
          }),
      });
      const process = deps.process;
      deps.process = async (input, plan, opts) => {
        await delay(slow.process ?? 0);
        return process(input, plan, opts);
      };
      deps.phaseWriteDelayMs = 50;
      const seen: string[] = [];
      watcher.watch("s1", (s) => s && seen.push(s.images[0].status));
      await runJob(job, deps);
      const img = (await store.get("s1"))!.images[0];
      expect(img).toMatchObject({ status: "done", source: { width: 80, height: 60, format: "png" } });
      expect(await fsObjects.exists(img.result!.key)).toBe(true);
      return seen;
    };
    expect(await run({})).toEqual(["fetching", "done"]);
    expect(await run({ process: 200 })).toEqual(["fetching", "processing", "done"]);
    expect(await run({ store: 200 })).toEqual(["fetching", "storing", "done"]);
    expect(await run({ process: 200, store: 200 })).toEqual(["fetching", "processing", "storing", "done"]);
  });

  // Found by a SIGKILL between storing a result and recording done (test/hardening/sigkill.test.ts):
  // the run after the restart failed (its source gone) and removed only a file it had stored itself.
  it("an image that fails removes the result file an earlier, killed run stored for it (and no other image's)", async () => {
    const { deps, store, fsObjects } = await setup();
    // What the killed run left: its file in place, the image still "storing".
    await store.updateImage("s1", "a", { status: "storing", percent: 92, attempts: 1 });
    await fsObjects.put("u1/s1/a.png", Buffer.from("stored by the killed run"), "image/png");
    // Files of other images, one with an id that starts like this one's.
    await fsObjects.put("u1/s1/a.b.png", Buffer.from("image a.b's"), "image/png");
    await fsObjects.put("u1/s1/ab.png", Buffer.from("image ab's"), "image/png");
    deps.fetchSource = async () => {
      throw new ImageEditError("UNSUPPORTED_FORMAT", "not an image any more");
    };
    await runJob({ ...job, attempt: 2 }, deps);
    expect((await store.get("s1"))!.images[0]).toMatchObject({ status: "failed", attempts: 2 });
    expect((await fsObjects.list("u1/s1/")).sort()).toEqual(["u1/s1/a.b.png", "u1/s1/ab.png"]);
  });

  it("leaves nothing behind when the session is deleted while it works", async () => {
    const { deps, store, fsObjects } = await setup();
    const process = deps.process;
    deps.process = async (input, plan, opts) => {
      const r = await process(input, plan, opts);
      await store.delete("s1");
      return r;
    };
    await runJob(job, deps);
    expect(await store.get("s1")).toBeUndefined();
    expect(await fsObjects.list("u1/")).toEqual([]);
    // the result written after the delete was removed, and its directory with it
    expect(fs.existsSync(path.join(fsObjects.root, "u1"))).toBe(false);
  });
});

describe("imgedit token", () => {
  it("mints a token the service accepts, with the secret kept in DATA_DIR", async () => {
    const dir = tempDir();
    let out = "";
    let err = "";
    const io = {
      stdout: {
        write: (s: string) => {
          out += s;
          return true;
        },
      } as unknown as NodeJS.WritableStream,
      stderr: {
        write: (s: string) => {
          err += s;
          return true;
        },
      } as unknown as NodeJS.WritableStream,
      env: { DATA_DIR: dir },
    };
    expect(await tokenCommand.run(["--user", "dana", "--ttl", "2h"], io)).toBe(0);
    const token = out.trim();
    const { loadOrCreateSecret } = await import("../../src/adapters/local/secret.js");
    const auth = createAuth({
      config: {},
      secret: loadOrCreateSecret({ DATA_DIR: dir, JWT_SECRET: undefined }),
    } as never);
    expect(await auth.verify(token)).toEqual({ userId: "dana" });
    const payload = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
    expect(payload.exp - payload.iat).toBe(7200);
    expect(await tokenCommand.run([], io)).toBe(2);
    expect(err).toMatch(/--user NAME is required/);
    expect(await tokenCommand.run(["--user", "../etc"], io)).toBe(2);
  });
});
