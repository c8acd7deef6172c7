// The server process is killed with SIGKILL mid-batch (some images done, others mid-fetch) and
// started again on the same DATA_DIR: the session finishes in a true state, every done image has
// its file, no file is left without a done image, and the new server's progress stream says so.
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FsObjectStore } from "../../src/adapters/local/fs-objects.js";
import { sessionStatusOf } from "../../src/service/status.js";
import { makeImage } from "../helpers/images.js";
import { type ImageSource, type Json, openSse, startImageSource, tempDir } from "../http/harness.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, "../..");

let src: ImageSource;
const children: ChildProcess[] = [];

beforeAll(async () => {
  src = await startImageSource();
  for (let i = 0; i < 4; i++) src.set(`/quick-${i}.png`, await makeImage({ width: 80, height: 60, gradient: true }));
  for (let i = 0; i < 3; i++) src.set(`/held-${i}.png`, await makeImage({ width: 90, height: 60, quadrants: true }));
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
    const { sessionId } = (await res.json()) as Json;

    // Wait until the quick ones are done and at least one held image is mid-fetch, then kill.
    for (let i = 0; ; i++) {
      const s = await get(first.url, first.token, `/image-edit/sessions/${sessionId}`);
      const done = (s.images as Json[]).filter((x) => x.status === "done").length;
      const fetching = (s.images as Json[]).filter((x) => x.status === "fetching").length;
      if (done === 4 && fetching >= 1) break;
      if (i > 200) throw new Error(`never reached mid-batch: ${JSON.stringify(s.images.map((x: Json) => x.status))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    first.child.kill("SIGKILL");
    await new Promise((r) => first.child.once("exit", r));
    expect(first.child.signalCode).toBe("SIGKILL");
    src.release();

    const second = await startServer(env);
    try {
      const view = await get(second.url, second.token, `/image-edit/sessions/${sessionId}`);
      const sse = await openSse(second.url + view.progressUrl);
      const complete = (await sse.waitFor((e) => e.event === "complete")).data as Json;
      sse.close();
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
      // The held images were fetched again after the restart (resumed, not faked).
      for (let i = 0; i < 3; i++) expect(src.hits.get(`/held-${i}.png`)).toBeGreaterThanOrEqual(1);
    } finally {
      second.child.kill("SIGTERM");
    }
  }, 60_000);
});
