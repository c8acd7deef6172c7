// Crash and restart: a server stopped mid-job (no grace) leaves images mid-flight; another server on
// the same DATA_DIR resumes them and the session finishes. Graceful stop finishes running jobs.
// The sweeper removes expired sessions with their files, orphan files and stale temp files.
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
