// The server process is killed with SIGKILL mid-batch (some images done, others mid-fetch; or right
// after an image's result file is stored, before its done is recorded) and started again on the
// same DATA_DIR: the session finishes in a true state, every done image has its file, no file is
// left without a done image, and the new server's progress stream, resumed with Last-Event-ID,
// sends what the client missed and ends with `complete`.

import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FsObjectStore } from "../../src/adapters/local/fs-objects.js";
import { SqliteSessionStore } from "../../src/adapters/local/sqlite-sessions.js";
import { sweep } from "../../src/adapters/local/sweeper.js";
import { sessionStatusOf } from "../../src/service/status.js";
import { makeImage } from "../helpers/images.js";
import { type ImageSource, type Json, openSse, type SseEvent, startImageSource, tempDir } from "../http/harness.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, "../..");

let src: ImageSource;
const children: ChildProcess[] = [];

beforeAll(async () => {
  src = await startImageSource();
  for (let i = 0; i < 4; i++) src.set(`/quick-${i}.png`, await makeImage({ width: 80, height: 60, gradient: true }));
  for (let i = 0; i < 3; i++) src.set(`/held-${i}.png`, await makeImage({ width: 90, height: 60, quadrants: true }));
  for (const p of ["/kill-a.png", "/kill-k.png", "/gone-a.png", "/gone-k.png", "/max-a.png", "/max-k.png"])
    src.set(p, await makeImage({ width: 80, height: 60, gradient: true }));
});
afterAll(async () => {
  src.release();
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await src?.close();
});

async function startServer(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; token: string }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", path.join(here, "faults/serve-child.ts"), JSON.stringify(env)],
    {
      cwd: REPO,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  children.push(child);
  let err = "";
  child.stderr?.on("data", (d) => {
    err += d;
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve({ child, ...(JSON.parse(out.slice(0, nl)) as { url: string; token: string }) });
    });
    child.once("exit", (code, signal) => reject(new Error(`server exited (${signal ?? code}): ${err}`)));
  });
}

const get = async (base: string, token: string, p: string) =>
  (await (await fetch(base + p, { headers: { authorization: `Bearer ${token}` } })).json()) as Json;

describe("SIGKILL mid-batch, then restart on the same DATA_DIR", () => {
  it("finishes the session truthfully after the restart; nothing lost, nothing orphaned", async () => {
    const dataDir = tempDir("imgedit-sigkill-");
    const env = {
      DATA_DIR: dataDir,
      FETCH_ALLOW_HOSTS: `127.0.0.1:${src.port}`,
      JWT_SECRET: "h9-sigkill-secret-0123456789abcdef0123456789",
      WORKER_CONCURRENCY: "2",
      JOB_MAX_ATTEMPTS: "3",
    };
    for (let i = 0; i < 3; i++) src.hold(`/held-${i}.png`);
    const first = await startServer(env);
    const images = [
      ...Array.from({ length: 4 }, (_, i) => ({ id: `q${i}`, url: `${src.base}/quick-${i}.png` })),
      ...Array.from({ length: 3 }, (_, i) => ({ id: `h${i}`, url: `${src.base}/held-${i}.png` })),
    ];
    const res = await fetch(`${first.url}/image-edit`, {
      method: "POST",
      headers: { authorization: `Bearer ${first.token}`, "content-type": "application/json" },
      body: JSON.stringify({ images, operation: { type: "operations", operations: [{ op: "resize", width: 30 }] } }),
    });
    expect(res.status).toBe(202);
    const { sessionId, progressUrl } = (await res.json()) as Json;
    const before = await openSse(first.url + progressUrl);

    // Wait until the quick ones are done and the held images are mid-fetch, then kill.
    let fetching: string[] = [];
    for (let i = 0; ; i++) {
      const s = await get(first.url, first.token, `/image-edit/sessions/${sessionId}`);
      const done = (s.images as Json[]).filter((x) => x.status === "done").length;
      fetching = (s.images as Json[]).filter((x) => x.status === "fetching").map((x) => x.id);
      if (done === 4 && fetching.length === 3) break;
      if (i > 200) throw new Error(`never reached mid-batch: ${JSON.stringify(s.images.map((x: Json) => x.status))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // The client saw the quick ones' results before the kill.
    for (let i = 0; i < 4; i++)
      await before.waitFor((e) => e.event === "image" && (e.data as Json).imageId === `q${i}`);
    await kill(first.child);
    await before.done;
    src.release();

    const second = await startServer(env);
    try {
      // The client reconnects as EventSource does, with the last id it saw.
      const { events: replayed, complete } = await resume(second, sessionId, before.events);
      // It is sent what it missed, once: the held images' results, not the quick ones again.
      const results = replayed.filter((e) => e.event === "image").map((e) => (e.data as Json).imageId);
      expect(results.sort()).toEqual(["h0", "h1", "h2"]);
      const s = await get(second.url, second.token, `/image-edit/sessions/${sessionId}`);
      expect(s.status).toBe("completed");
      expect(s.status).toBe(sessionStatusOf(s.images));
      expect(complete).toMatchObject({ sessionId, status: "completed", completed: 7, failed: 0 });
      // Every done image has its file, at the size asked for.
      for (const img of s.images as Json[]) {
        const file = await fetch(new URL(img.result.url, second.url));
        expect(file.status).toBe(200);
        const meta = await sharp(Buffer.from(await file.arrayBuffer())).metadata();
        expect([meta.width, img.result.width]).toEqual([30, 30]);
      }
      // Exactly one file per image: the killed attempt left nothing extra behind.
      const objects = new FsObjectStore(path.join(dataDir, "objects"), { secret: new Uint8Array(32), baseUrl: "" });
      const files = (await objects.list(`alice/${sessionId}/`)).sort();
      expect(files).toEqual(images.map((i) => `alice/${sessionId}/${i.id}.png`).sort());
      expect(tempFiles(dataDir)).toEqual([]);
      // The images killed mid-fetch were fetched again after the restart (resumed, not faked).
      expect(fetching.sort()).toEqual(["h0", "h1", "h2"]);
      for (let i = 0; i < 3; i++) expect(src.hits.get(`/held-${i}.png`)).toBe(2);
      for (let i = 0; i < 4; i++) expect(src.hits.get(`/quick-${i}.png`)).toBe(1);
    } finally {
      second.child.kill("SIGTERM");
    }
  }, 60_000);

  // The kill lands after the result file of image k is stored and before its done is recorded.
  describe("killed between storing a result and recording it done", () => {
    const env = (dataDir: string, extra: Record<string, string> = {}) => ({
      DATA_DIR: dataDir,
      FETCH_ALLOW_HOSTS: `127.0.0.1:${src.port}`,
      JWT_SECRET: "h9-sigkill-secret-0123456789abcdef0123456789",
      WORKER_CONCURRENCY: "2",
      JOB_MAX_ATTEMPTS: "3",
      ...extra,
    });

    /** Start a session of images a and k, and let the server kill itself once k's file is stored. */
    async function killAfterStoring(dataDir: string, prefix: string, extra: Record<string, string> = {}) {
      const first = await startServer(env(dataDir, { KILL_AFTER_PUT: "/k.png", ...extra }));
      const res = await fetch(`${first.url}/image-edit`, {
        method: "POST",
        headers: { authorization: `Bearer ${first.token}`, "content-type": "application/json" },
        body: JSON.stringify({
          images: [
            { id: "a", url: `${src.base}/${prefix}-a.png` },
            { id: "k", url: `${src.base}/${prefix}-k.png` },
          ],
          operation: { type: "operations", operations: [{ op: "resize", width: 30 }] },
        }),
      });
      expect(res.status).toBe(202);
      const { sessionId, progressUrl } = (await res.json()) as Json;
      const before = await openSse(first.url + progressUrl);
      await new Promise((r) => first.child.once("exit", r));
      expect(first.child.signalCode).toBe("SIGKILL");
      await before.done;
      // The state the kill left: k's file in place, k not done.
      const store = new SqliteSessionStore(path.join(dataDir, "sessions.db"));
      const k = (await store.get(sessionId))?.images.find((i) => i.id === "k");
      await store.close();
      expect(k?.status).not.toBe("done");
      expect(k?.status).not.toBe("failed");
      expect(fs.existsSync(path.join(dataDir, "objects", "alice", sessionId, "k.png"))).toBe(true);
      return { sessionId, before };
    }

    it("the source still there: the image is done after the restart, one file", async () => {
      const dataDir = tempDir("imgedit-sigkill-stored-");
      const { sessionId, before } = await killAfterStoring(dataDir, "kill");
      const second = await startServer(env(dataDir));
      try {
        const { complete } = await resume(second, sessionId, before.events);
        expect(complete).toMatchObject({ status: "completed", completed: 2, failed: 0 });
        const s = await get(second.url, second.token, `/image-edit/sessions/${sessionId}`);
        expect(s.images.find((i: Json) => i.id === "k")).toMatchObject({ status: "done", attempts: 2 });
        expect(await resultFiles(dataDir, sessionId)).toEqual([`alice/${sessionId}/a.png`, `alice/${sessionId}/k.png`]);
      } finally {
        await stop(second.child);
      }
      // A write the kill cut short (image a's, if it was being stored) is left to the sweeper.
      await sweepAnHourLater(dataDir);
      expect(tempFiles(dataDir)).toEqual([]);
      expect(await resultFiles(dataDir, sessionId)).toEqual([`alice/${sessionId}/a.png`, `alice/${sessionId}/k.png`]);
    }, 60_000);

    // Found by this attack: the file stored before the kill stayed beside the failed image (only the
    // file of the run that failed was removed), a file without a done image until the session expired.
    it("the source gone by the restart: the image fails and the file stored before the kill is removed", async () => {
      const dataDir = tempDir("imgedit-sigkill-gone-");
      const { sessionId, before } = await killAfterStoring(dataDir, "gone");
      src.set("/gone-k.png", Buffer.from("this is no longer an image"), "text/plain");
      const second = await startServer(env(dataDir));
      try {
        const { complete } = await resume(second, sessionId, before.events);
        const s = await get(second.url, second.token, `/image-edit/sessions/${sessionId}`);
        const k = s.images.find((i: Json) => i.id === "k");
        expect(k).toMatchObject({ status: "failed", attempts: 2 });
        expect(k.error.code).toMatch(/^[A-Z_]+$/);
        expect(complete).toMatchObject({ status: "partial", completed: 1, failed: 1 });
        expect(s.status).toBe(sessionStatusOf(s.images));
      } finally {
        // A graceful stop waits for running jobs: k's clean-up after its failure is over then.
        await stop(second.child);
      }
      expect(await resultFiles(dataDir, sessionId)).toEqual([`alice/${sessionId}/a.png`]);
      await sweepAnHourLater(dataDir);
      expect(tempFiles(dataDir)).toEqual([]);
      expect(await resultFiles(dataDir, sessionId)).toEqual([`alice/${sessionId}/a.png`]);
    }, 60_000);

    // Recovery fails an image that was interrupted on its last allowed attempt without running it
    // again, so no job is there to remove the file the killed run stored: the sweeper does (it
    // used to keep every file of a live session).
    it("interrupted on its last attempt: recovery fails it, the sweeper removes its file", async () => {
      const dataDir = tempDir("imgedit-sigkill-max-");
      const max = { JOB_MAX_ATTEMPTS: "1" };
      const { sessionId, before } = await killAfterStoring(dataDir, "max", max);
      const second = await startServer(env(dataDir, max));
      let done: string[];
      try {
        await resume(second, sessionId, before.events);
        const s = await get(second.url, second.token, `/image-edit/sessions/${sessionId}`);
        const k = s.images.find((i: Json) => i.id === "k");
        expect(k).toMatchObject({ status: "failed", attempts: 1, error: { code: "INTERNAL" } });
        expect(k.error.message).toMatch(/interrupted/);
        done = (s.images as Json[]).filter((i) => i.status === "done").map((i) => `alice/${sessionId}/${i.id}.png`);
      } finally {
        await stop(second.child);
      }
      await sweepAnHourLater(dataDir);
      expect(await resultFiles(dataDir, sessionId)).toEqual(done.sort());
      expect(tempFiles(dataDir)).toEqual([]);
    }, 60_000);
  });
});

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
}

/** The sweeper as the server runs it (1 h grace), an hour and a bit later, on the stopped server's data. */
async function sweepAnHourLater(dataDir: string): Promise<void> {
  const sessions = new SqliteSessionStore(path.join(dataDir, "sessions.db"));
  try {
    await sweep({
      sessions,
      objects: new FsObjectStore(path.join(dataDir, "objects"), { secret: new Uint8Array(32), baseUrl: "" }),
      clock: { now: () => Date.now() + 3_700_000 },
      graceMs: 3_600_000,
      uploadTtlMs: 30 * 86_400_000,
    });
  } finally {
    await sessions.close();
  }
}

async function kill(child: ChildProcess): Promise<void> {
  child.kill("SIGKILL");
  await new Promise((r) => child.once("exit", r));
  expect(child.signalCode).toBe("SIGKILL");
}

/**
 * Reconnect to a session's progress stream with the last event id seen before the kill, as
 * EventSource does, and follow it to its end: it must end with `complete`, matching the session.
 */
async function resume(
  server: { url: string; token: string },
  sessionId: string,
  seen: SseEvent[],
): Promise<{ events: SseEvent[]; complete: Json }> {
  const lastId = [...seen].reverse().find((e) => e.id !== undefined)?.id;
  const sse = await openSse(`${server.url}/image-edit/progress/${sessionId}`, {
    authorization: `Bearer ${server.token}`,
    ...(lastId !== undefined ? { "last-event-id": lastId } : {}),
  });
  expect(sse.status).toBe(200);
  await sse.done;
  const last = sse.events[sse.events.length - 1];
  expect(last?.event).toBe("complete");
  // Every image has its outcome among the events seen before and after, ids never go back.
  const all = [...seen, ...sse.events];
  const s = await get(server.url, server.token, `/image-edit/sessions/${sessionId}`);
  expect(last.data).toMatchObject({ sessionId, status: s.status });
  for (const img of s.images as Json[]) {
    if (img.status === "done")
      expect(all.filter((e) => e.event === "image" && (e.data as Json).imageId === img.id)).toHaveLength(1);
    else
      expect(
        sse.events.some(
          (e) => e.event === "progress" && (e.data as Json).imageId === img.id && (e.data as Json).status === "failed",
        ),
      ).toBe(true);
  }
  const ids = sse.events.filter((e) => e.id !== undefined).map((e) => Number(e.id));
  expect(ids).toEqual([...ids].sort((a, b) => a - b));
  if (lastId !== undefined) expect(ids.every((id) => id > Number(lastId))).toBe(true);
  return { events: sse.events, complete: last.data as Json };
}

/** Result files of a session (temp files not included). */
async function resultFiles(dataDir: string, sessionId: string): Promise<string[]> {
  const objects = new FsObjectStore(path.join(dataDir, "objects"), { secret: new Uint8Array(32), baseUrl: "" });
  return (await objects.list(`alice/${sessionId}/`)).sort();
}

/** Temp files (a write cut short) anywhere in the object store. */
function tempFiles(dataDir: string): string[] {
  const root = path.join(dataDir, "objects");
  return (fs.readdirSync(root, { recursive: true }) as string[]).filter((f) => f.includes(".tmp-"));
}
