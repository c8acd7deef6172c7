// A restart on a DATA_DIR with unfinished sessions while users delete them: a session that goes
// away between being listed for recovery and being resumed must not stop the server starting.
import { rmSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { SqliteSessionStore } from "../../src/adapters/local/sqlite-sessions.js";
import { createLogger } from "../../src/logger.js";
import type { Session, SessionStore } from "../../src/ports.js";
import { makeImage } from "../helpers/images.js";
import { type ImageSource, type Json, openSse, startImageSource, startService, tempDir } from "../http/harness.js";

let src: ImageSource;
beforeAll(async () => {
  src = await startImageSource();
  src.set("/a.png", await makeImage({ width: 80, height: 60 }));
});
afterAll(() => src?.close());

function midFlight(sessionId: string, url: string): Session {
  const now = Date.now();
  return {
    sessionId,
    userId: "alice",
    createdAt: now,
    updatedAt: now,
    status: "running",
    plan: [{ op: "resize", width: 20 }] as Session["plan"],
    images: [{ id: "a", name: "a.png", sourceUrl: url, status: "fetching", percent: 5, attempts: 1, version: 2 }],
    ttl: Math.floor(now / 1000) + 86_400,
    version: 2,
  };
}

it("a session deleted while the restart resumes unfinished ones: the server starts and resumes the rest", async () => {
  const dataDir = tempDir();
  const db = new SqliteSessionStore(path.join(dataDir, "sessions.db"));
  const url = `${src.base}/a.png`;
  const gone = "00000000-0000-4000-8000-000000000001";
  const kept = "00000000-0000-4000-8000-000000000002";
  await db.create(midFlight(gone, url));
  await db.create(midFlight(kept, url));
  await db.close();
  const svc = await startService(
    { FETCH_ALLOW_HOSTS: `127.0.0.1:${src.port}` },
    {
      dataDir,
      wrap: {
        sessions: (inner: SessionStore) =>
          new Proxy(inner, {
            get(target, prop) {
              if (prop === "listUnfinished")
                return async (limit: number) => {
                  const list = await target.listUnfinished(limit);
                  await target.delete(gone); // its DELETE landed right after the list was read
                  return list;
                };
              const v = Reflect.get(target, prop, target);
              return typeof v === "function" ? v.bind(target) : v;
            },
          }),
      },
    },
  );
  try {
    const sse = await openSse(`${svc.base}/image-edit/progress/${kept}`, {
      authorization: `Bearer ${await svc.token("alice")}`,
    });
    await sse.done;
    expect(sse.events.at(-1)?.data).toMatchObject({ status: "completed", completed: 1 });
    const s = (await (await svc.api(`/image-edit/sessions/${kept}`)).json()) as Json;
    expect(s.images[0]).toMatchObject({ status: "done", attempts: 2, result: { width: 20 } });
    expect((await svc.api(`/image-edit/sessions/${gone}`)).status).toBe(404);
  } finally {
    await svc.close();
  }
});

it("an image interrupted on its last attempt is failed at the restart, logged once with its ids and code, and counted", async () => {
  const dataDir = tempDir();
  const db = new SqliteSessionStore(path.join(dataDir, "sessions.db"));
  const id = "00000000-0000-4000-8000-000000000003";
  const session = midFlight(id, `${src.base}/a.png`);
  session.images[0] = { ...session.images[0], status: "processing", attempts: 3 }; // JOB_MAX_ATTEMPTS
  await db.create(session);
  await db.close();
  const lines: string[] = [];
  const logger = createLogger({ LOG_LEVEL: "info" }, { write: (l: string) => void lines.push(l) });
  const svc = await startService({}, { dataDir, logger });
  try {
    const s = (await (await svc.api(`/image-edit/sessions/${id}`)).json()) as Json;
    expect(s.images[0]).toMatchObject({ status: "failed", error: { code: "INTERNAL" } });
    const failed = lines.map((l) => JSON.parse(l) as Json).filter((r) => r.msg?.startsWith("image failed"));
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ sessionId: id, imageId: "a", code: "INTERNAL", attempts: 3 });
    const metrics = await (await fetch(`${svc.base}/metrics`)).text();
    expect(metrics).toMatch(/imgedit_jobs_total\{[^}]*outcome="failed"[^}]*code="INTERNAL"[^}]*\} 1/);
  } finally {
    await svc.close();
  }
});

it("a sessions.db deleted while the server runs: new edits are refused (503), /healthz says why", async () => {
  // SQLite would go on writing to the deleted file: every session made after it lost at the next start
  const svc = await startService({ FETCH_ALLOW_HOSTS: `127.0.0.1:${src.port}` });
  try {
    expect((await fetch(`${svc.base}/healthz`)).status).toBe(200);
    for (const suffix of ["", "-wal", "-shm"]) rmSync(path.join(svc.dataDir, `sessions.db${suffix}`), { force: true });
    const health = await fetch(`${svc.base}/healthz`);
    expect(health.status).toBe(503);
    expect(((await health.json()) as Json).problem).toMatch(/sessions\.db was deleted while the server runs/);
    const res = await svc.api("/image-edit", {
      method: "POST",
      body: JSON.stringify({
        images: [{ url: `${src.base}/a.png` }],
        operation: { type: "command", command: "grayscale" },
      }),
    });
    expect(res.status).toBe(503);
    expect(((await res.json()) as Json).error.code).toBe("STORAGE_FAILED");
  } finally {
    await svc.close();
  }
});
