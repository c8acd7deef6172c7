// Crash and restart: a server stopped mid-job (no grace) leaves images mid-flight; another server on
// the same DATA_DIR resumes them and the session finishes. Graceful stop finishes running jobs.
// The sweeper removes expired sessions with their files, orphan files and stale temp files.
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FsObjectStore } from "../../src/adapters/local/fs-objects.js";
import { SqliteSessionStore } from "../../src/adapters/local/sqlite-sessions.js";
import { sweep } from "../../src/adapters/local/sweeper.js";
import type { Session, SessionImage } from "../../src/ports.js";
import { makeImage } from "../helpers/images.js";
import { type ImageSource, type Json, openSse, startImageSource, startService, tempDir } from "../http/harness.js";

let src: ImageSource;
beforeAll(async () => {
  src = await startImageSource();
  src.set("/a.png", await makeImage({ width: 120, height: 80 }));
  src.set("/held.png", await makeImage({ width: 90, height: 60 }));
});
afterAll(async () => {
  src.release();
  await src?.close();
});

const OPS = { type: "operations", operations: [{ op: "resize", width: 30 }] };

describe("restart", () => {
  it("resumes a session left mid-job by a hard stop, on the same DATA_DIR", async () => {
    const dataDir = tempDir();
    const env = { FETCH_ALLOW_HOSTS: `127.0.0.1:${src.port}` };
    const first = await startService(env, { dataDir });
    src.hold("/held.png");
    const res = await first.api("/image-edit", {
      method: "POST",
      body: JSON.stringify({
        images: [
          { id: "quick", url: `${src.base}/a.png` },
          { id: "held", url: `${src.base}/held.png` },
        ],
        operation: OPS,
      }),
    });
    const { sessionId, progressUrl } = (await res.json()) as Json;
    const watch = await openSse(first.base + progressUrl);
    await watch.waitFor(
      (e) => e.event === "progress" && (e.data as any).imageId === "held" && (e.data as any).status === "fetching",
    );
    await watch.waitFor((e) => e.event === "image" && (e.data as any).imageId === "quick");
    // Stop without waiting for the held job: as a crash would leave it.
    await first.close({ graceMs: 0 });
    await watch.done; // the stream ends with the server
    expect(watch.events.some((e) => e.event === "complete")).toBe(false);

    src.release();
    const second = await startService(env, { dataDir });
    try {
      const again = await openSse(`${second.base}/image-edit/progress/${sessionId}`, {
        authorization: `Bearer ${await second.token("alice")}`,
      });
      await again.done;
      const complete = again.events[again.events.length - 1];
      expect(complete.event).toBe("complete");
      expect(complete.data).toMatchObject({ status: "completed", completed: 2, failed: 0 });
      const s = (await (await second.api(`/image-edit/sessions/${sessionId}`)).json()) as Json;
      const held = s.images.find((i: { id: string }) => i.id === "held");
      expect(held).toMatchObject({ status: "done", attempts: 2, result: { width: 30, height: 20 } });
      const file = Buffer.from(await (await fetch(held.result.url)).arrayBuffer());
      expect((await sharp(file).metadata()).width).toBe(30);
      // The token minted by the first server still works: the secret is kept in DATA_DIR.
      expect((await second.api("/image-edit/sessions")).status).toBe(200);
    } finally {
      await second.close();
    }
  });

  it("a graceful stop lets running jobs finish", async () => {
    const dataDir = tempDir();
    const svc = await startService({ FETCH_ALLOW_HOSTS: `127.0.0.1:${src.port}` }, { dataDir });
    src.hold("/held.png");
    const res = await svc.api("/image-edit", {
      method: "POST",
      body: JSON.stringify({ images: [{ id: "held", url: `${src.base}/held.png` }], operation: OPS }),
    });
    const { sessionId, progressUrl } = (await res.json()) as Json;
    const watch = await openSse(svc.base + progressUrl);
    await watch.waitFor((e) => e.event === "progress" && (e.data as any).status === "fetching");
    const closing = svc.close({ graceMs: 20_000 });
    const health = await fetch(`${svc.base}/healthz`).catch(() => undefined);
    if (health) expect(health.status).toBe(503);
    src.release();
    await closing;
    // Reopen the data read-only through a new server and check the result was recorded.
    const after = await startService({}, { dataDir });
    try {
      const s = (await (await after.api(`/image-edit/sessions/${sessionId}`)).json()) as Json;
      expect(s.status).toBe("completed");
    } finally {
      await after.close();
    }
  });
});

describe("start-up", () => {
  it("removes the temp files a killed server left half-written, at once, and keeps every stored file", async () => {
    const dataDir = tempDir();
    const dir = path.join(dataDir, "objects", "alice", "s1");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "img.png"), "kept");
    fs.writeFileSync(path.join(dir, "img.png.tmp-0123456789ab"), "half");
    fs.mkdirSync(path.join(dataDir, "objects", "uploads"), { recursive: true });
    fs.writeFileSync(path.join(dataDir, "objects", "uploads", "u1.tmp-aabbccddeeff"), "half");
    const svc = await startService({}, { dataDir });
    try {
      expect(fs.readdirSync(dir)).toEqual(["img.png"]);
      expect(fs.existsSync(path.join(dataDir, "objects", "uploads", "u1.tmp-aabbccddeeff"))).toBe(false);
    } finally {
      await svc.close();
    }
  });
});

describe("sweeper", () => {
  it("removes expired sessions with their files, orphan files, stale temp files and old uploads", async () => {
    let now = Date.now();
    const clock = { now: () => now };
    const dataDir = tempDir();
    const svc = await startService(
      { FETCH_ALLOW_HOSTS: `127.0.0.1:${src.port}`, SESSION_TTL_DAYS: "1" },
      { dataDir, clock, sweepGraceMs: 60_000 },
    );
    try {
      const res = await svc.api("/image-edit", {
        method: "POST",
        body: JSON.stringify({ images: [{ url: `${src.base}/a.png` }], operation: OPS }),
      });
      const { sessionId } = (await res.json()) as Json;
      await svc.server.idle();
      const objects = path.join(dataDir, "objects");
      const resultDir = path.join(objects, "alice", sessionId);
      expect(fs.readdirSync(resultDir)).toHaveLength(1);
      // An orphan (no session) and a stale temp file, both old; and a fresh orphan within the grace.
      const old = new Date(now - 3_600_000);
      fs.mkdirSync(path.join(objects, "alice", "no-such-session"), { recursive: true });
      const orphan = path.join(objects, "alice", "no-such-session", "x.png");
      fs.writeFileSync(orphan, "x");
      fs.utimesSync(orphan, old, old);
      const temp = path.join(resultDir, "y.png.tmp-abc123");
      fs.writeFileSync(temp, "partial");
      fs.utimesSync(temp, old, old);
      const fresh = path.join(objects, "alice", "brand-new", "z.png");
      fs.mkdirSync(path.dirname(fresh), { recursive: true });
      fs.writeFileSync(fresh, "z");

      let report = await svc.server.sweepNow();
      expect(report).toMatchObject({ expiredSessions: 0, orphanFiles: 2 });
      expect(fs.existsSync(orphan)).toBe(false);
      expect(fs.existsSync(temp)).toBe(false);
      expect(fs.existsSync(fresh)).toBe(true);
      expect((await svc.api(`/image-edit/sessions/${sessionId}`)).status).toBe(200);

      const up = await svc.api("/uploads", {
        method: "POST",
        body: new Uint8Array(await makeImage({ width: 10, height: 10 })),
        headers: { "content-type": "image/png" },
      });
      expect(up.status).toBe(201);
      const uploadId = ((await up.json()) as Json).id as string;
      const uploadFile = path.join(objects, "uploads", "alice", uploadId);
      expect(fs.existsSync(uploadFile)).toBe(true);
      expect((await svc.server.sweepNow()).oldUploads).toBe(0);

      // Two days later the session has expired: invisible at once, then swept with its files.
      now += 2 * 86_400_000;
      expect(
        (
          await svc.api(`/image-edit/sessions/${sessionId}`, {
            headers: { authorization: `Bearer ${await svc.server.token("alice", 3600)}` },
          })
        ).status,
      ).toBe(404);
      report = await svc.server.sweepNow();
      expect(report.expiredSessions).toBe(1);
      expect(report.oldUploads).toBe(1);
      expect(fs.existsSync(resultDir)).toBe(false);
      expect(fs.existsSync(uploadFile)).toBe(false);
    } finally {
      await svc.close();
    }
  });
});

// A process killed between storing a result and recording its image done, or between recording a
// failure and removing the file, leaves a file in a live session that no done image owns. The
// sweeper used to keep every file of a live session, so such a file stayed until the session
// expired (30 days by default).
describe("sweeper: files of a live session that no done image owns", () => {
  it("removes old files of failed images, stale extensions of done ones and unknown names; keeps the rest", async () => {
    const dataDir = tempDir();
    const now = Date.now();
    const sessions = new SqliteSessionStore(path.join(dataDir, "sessions.db"));
    const objects = new FsObjectStore(path.join(dataDir, "objects"), { secret: new Uint8Array(32) });
    const img = (id: string, status: SessionImage["status"], resultKey?: string): SessionImage => ({
      id,
      name: id,
      sourceUrl: `http://x/${id}.png`,
      status,
      percent: status === "done" || status === "failed" ? 100 : 30,
      attempts: 1,
      version: 1,
      ...(resultKey ? { result: { key: resultKey, width: 1, height: 1, format: "png", bytes: 1 } } : {}),
    });
    const k = (name: string) => `alice/s1/${name}`;
    const session: Session = {
      sessionId: "s1",
      userId: "alice",
      createdAt: now,
      updatedAt: now,
      status: "running",
      plan: [],
      images: [
        img("a", "done", k("a.png")),
        img("d", "done", k("d.webp")),
        img("f", "failed"),
        img("p", "processing"),
        img("x.y", "storing"),
        img("young", "failed"),
      ],
      ttl: Math.floor(now / 1000) + 86_400,
      version: 1,
    };
    await sessions.create(session);
    const files = {
      "a.png": "keep", // a done image's result
      "d.webp": "keep", // a done image's result
      "d.png": "remove", // the same image, another extension: not its result
      "f.png": "remove", // a failed image keeps no file
      "p.png": "keep", // in flight: its job overwrites it or removes it
      "x.y.png": "keep", // in flight (an id with a dot)
      "x.png": "remove", // no image x
      "young.png": "keep", // a failed image's, but within the grace period
    } as const;
    const old = new Date(now - 2 * 3_600_000);
    for (const name of Object.keys(files)) {
      await objects.put(k(name), Buffer.from(name), "image/png");
      if (name !== "young.png") fs.utimesSync(path.join(objects.root, "alice", "s1", name), old, old);
    }
    // Another user's file under alice's session id: not alice's session, removed; alice's stay.
    await objects.put("bob/s1/a.png", Buffer.from("b"), "image/png");
    fs.utimesSync(path.join(objects.root, "bob", "s1", "a.png"), old, old);

    const report = await sweep({ sessions, objects, clock: { now: () => now }, graceMs: 3_600_000, uploadTtlMs: 1e12 });
    const removed = Object.entries(files).filter(([, v]) => v === "remove").length;
    expect(report.orphanFiles).toBe(removed + 1);
    expect((await objects.list("alice/s1/")).sort()).toEqual(
      Object.entries(files)
        .filter(([, v]) => v === "keep")
        .map(([name]) => k(name))
        .sort(),
    );
    expect(await objects.list("bob/")).toEqual([]);
    expect((await sessions.get("s1"))?.images).toHaveLength(6);
    await sessions.close();
  });
});
