// `imgedit serve` stopped with SIGTERM in the middle of a batch and started again on the same
// DATA_DIR, as a deploy does: the images running at the signal finish before the process exits,
// the ones still waiting resume on the next start, and every image is fetched and done once.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { afterAll, beforeAll, expect, it } from "vitest";
import { makeImage } from "../helpers/images.js";
import {
  type ImageSource,
  type Json,
  openSse,
  startImageSource,
  startServiceWithSource,
  tempDir,
} from "../http/harness.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
let src: ImageSource;
const children: ChildProcess[] = [];

beforeAll(async () => {
  src = await startImageSource();
  for (const id of ["q0", "q1", "h0", "h1", "w0", "w1"])
    src.set(`/${id}.png`, await makeImage({ width: 160, height: 120, gradient: true }));
});
afterAll(async () => {
  src.release();
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await src?.close();
});

async function serve(
  dataDir: string,
): Promise<{ child: ChildProcess; url: string; token: string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, "serve", "--port", "0", "--host", "127.0.0.1"], {
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      LOG_LEVEL: "silent",
      WORKER_CONCURRENCY: "1", // two images at a time
      FETCH_ALLOW_HOSTS: `127.0.0.1:${src.port}`,
      MALLOC_ARENA_MAX: "2",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  let out = "";
  child.stdout?.on("data", (d) => {
    out += d;
  });
  for (let i = 0; i < 600 && !/TOKEN=\S+/.test(out); i++) await new Promise((r) => setTimeout(r, 50));
  const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
  const token = /TOKEN=(\S+)/.exec(out)?.[1];
  if (!url || !token) throw new Error(`imgedit serve did not start: ${out}`);
  return { child, url, token, exited };
}

it("SIGTERM mid-batch, then a start on the same DATA_DIR: every image done exactly once, downloadable, no temp files", async () => {
  const dataDir = tempDir();
  const first = await serve(dataDir);
  const auth = { authorization: `Bearer ${first.token}` };
  src.hold("/h0.png");
  src.hold("/h1.png");
  const ids = ["q0", "q1", "h0", "h1", "w0", "w1"];
  const res = await fetch(`${first.url}/image-edit`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({
      images: ids.map((id) => ({ id, url: `${src.base}/${id}.png` })),
      operation: {
        type: "operations",
        operations: [
          { op: "resize", width: 40 },
          { op: "format", format: "webp" },
        ],
      },
    }),
  });
  expect(res.status).toBe(202);
  const { sessionId, progressUrl } = (await res.json()) as Json;
  const before = await openSse(first.url + progressUrl);
  // q0 and q1 done; h0 and h1 held mid-fetch in both slots; w0 and w1 waiting behind them.
  for (const id of ["h0", "h1"])
    await before.waitFor(
      (e) => e.event === "progress" && (e.data as Json).imageId === id && (e.data as Json).status === "fetching",
    );
  first.child.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 300));
  const health = await fetch(`${first.url}/healthz`).then(
    (r) => r.status,
    () => "refused",
  );
  expect([503, "refused"]).toContain(health); // draining: no new work
  src.release(); // the running images finish within the stop's grace
  expect(await first.exited).toBe(0);
  await before.done;
  const last = [...before.events].reverse().find((e) => e.id !== undefined)?.id;

  const second = await serve(dataDir);
  try {
    const after = await openSse(`${second.url}/image-edit/progress/${sessionId}`, {
      authorization: `Bearer ${second.token}`,
      ...(last ? { "last-event-id": last } : {}),
    });
    await after.done;
    expect(after.events.at(-1)).toMatchObject({ event: "complete", data: { status: "completed", completed: 6 } });
    // Across both streams, one result per image: the running ones from the first server, the
    // waiting ones from the second.
    const resultsOf = (events: { event: string; data: unknown }[]) =>
      events.filter((e) => e.event === "image").map((e) => (e.data as Json).imageId as string);
    expect(resultsOf(before.events).sort()).toEqual(["h0", "h1", "q0", "q1"]);
    expect(resultsOf(after.events).sort()).toEqual(["w0", "w1"]);
    const s = (await (
      await fetch(`${second.url}/image-edit/sessions/${sessionId}`, {
        headers: { authorization: `Bearer ${second.token}` },
      })
    ).json()) as Json;
    for (const img of s.images) {
      expect(img).toMatchObject({ status: "done", attempts: 1, result: { width: 40, format: "webp" } });
      const file = await fetch(img.result.url);
      expect(file.status).toBe(200);
      expect((await sharp(Buffer.from(await file.arrayBuffer())).metadata()).format).toBe("webp");
    }
    for (const id of ids) expect(src.hits.get(`/${id}.png`), id).toBe(1);
    const files = fs.readdirSync(path.join(dataDir, "objects"), { recursive: true }) as string[];
    expect(files.filter((f) => f.includes(".tmp-"))).toEqual([]);
    expect(files.filter((f) => f.startsWith(`local/${sessionId}/`)).length).toBe(6);
  } finally {
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  }
}, 60_000);

it("a graceful stop sends what the last running images recorded to the open streams before closing them", async () => {
  const { src: source, svc } = await startServiceWithSource({ WORKER_CONCURRENCY: "1" });
  try {
    for (const id of ["h0", "h1", "w0"]) source.set(`/${id}.png`, await makeImage({ width: 160, height: 120 }));
    source.hold("/h0.png");
    source.hold("/h1.png");
    const res = await svc.api("/image-edit", {
      method: "POST",
      body: JSON.stringify({
        images: ["h0", "h1", "w0"].map((id) => ({ id, url: `${source.base}/${id}.png` })),
        operation: { type: "operations", operations: [{ op: "resize", width: 40 }] },
      }),
    });
    const { progressUrl } = (await res.json()) as Json;
    const stream = await openSse(svc.base + progressUrl);
    for (const id of ["h0", "h1"])
      await stream.waitFor(
        (e) => e.event === "progress" && (e.data as Json).imageId === id && (e.data as Json).status === "fetching",
      );
    const closing = svc.close({ graceMs: 10_000 });
    await new Promise((r) => setTimeout(r, 100));
    source.release(); // both running images finish within the grace; w0 waits for the next start
    await closing;
    await stream.done;
    // Before the fix the stream was cut before h1's result, which was recorded done.
    expect(stream.events.filter((e) => e.event === "image").map((e) => (e.data as Json).imageId)).toEqual(["h0", "h1"]);
  } finally {
    await svc.close();
    await source.close();
  }
});
