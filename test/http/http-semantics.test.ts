// HTTP semantics a client relies on beyond the JSON: HEAD (as link checkers and download managers
// send it: the GET answer's status and headers, no body, nothing left open on the server, a
// download's file handle least of all) and caching of a user's private answers.
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  editToCompletion,
  type ImageSource,
  type Json,
  openSse,
  startServiceWithSource,
  type TestService,
} from "./harness.js";

let src: ImageSource;
let svc: TestService;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ src, svc, close } = await startServiceWithSource());
  // Noise: a PNG result large enough (megabytes) that a download is read in many chunks.
  src.set(
    "/noise.png",
    await sharp({
      create: {
        width: 1000,
        height: 1000,
        channels: 3,
        background: "#808080",
        noise: { type: "gaussian", mean: 128, sigma: 60 },
      },
    })
      .png()
      .toBuffer(),
  );
});
afterAll(() => close?.());

/** Descriptors of this process (the server runs in it) open on files under the object store. */
function openObjectFiles(): number {
  const objects = path.join(svc.dataDir, "objects");
  let n = 0;
  for (const fd of fs.readdirSync("/proc/self/fd")) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(fs.realpathSync(objects))) n++;
    } catch {
      // closed while we looked
    }
  }
  return n;
}

describe("HEAD", () => {
  it.runIf(fs.existsSync("/proc/self/fd"))(
    "of a download answers its headers and leaves no file open, however often it is asked",
    async () => {
      const s = (await editToCompletion(
        svc,
        [{ id: "n", url: `${src.base}/noise.png` }],
        [{ op: "format", format: "png" }],
      )) as Json;
      const result = s.images[0].result;
      expect(result.bytes).toBeGreaterThan(1_000_000);
      const before = openObjectFiles();
      for (let i = 0; i < 20; i++) {
        const res = await fetch(result.url, { method: "HEAD" });
        expect(res.status).toBe(200);
        expect(res.headers.get("content-type")).toBe("image/png");
        expect(res.headers.get("content-length")).toBe(String(result.bytes));
        expect(res.headers.get("x-content-type-options")).toBe("nosniff");
        expect(await res.arrayBuffer()).toHaveProperty("byteLength", 0);
      }
      // Each HEAD used to open the file for a body nobody read, and never close it.
      await new Promise((r) => setTimeout(r, 100));
      expect(openObjectFiles()).toBeLessThanOrEqual(before);
      // The GET still serves the whole file.
      const get = await fetch(result.url);
      expect(Buffer.from(await get.arrayBuffer()).length).toBe(result.bytes);
    },
  );

  it("carries the request id, as every answer does", async () => {
    for (const p of ["/healthz", "/image-edit/sessions", "/no-such-route"]) {
      const res = await svc.api(p, { method: "HEAD", headers: { "x-request-id": "head-probe-1" } });
      expect([p, res.headers.get("x-request-id")]).toEqual([p, "head-probe-1"]);
    }
    const list = await svc.api("/image-edit/sessions", { method: "HEAD" });
    expect(list.status).toBe(200);
    expect(list.headers.get("content-type")).toMatch(/^application\/json/);
  });
});

describe("caching", () => {
  it("a signed-in user's answers (stream tokens, signed links) are never stored; downloads are private", async () => {
    const s = (await editToCompletion(
      svc,
      [{ id: "c", url: `${src.base}/noise.png` }],
      [{ op: "resize", width: 20 }],
    )) as Json;
    for (const p of ["/image-edit/sessions", `/image-edit/sessions/${s.sessionId}`, "/image-edit/sessions/nope"]) {
      const res = await svc.api(p);
      expect([p, res.headers.get("cache-control")]).toEqual([p, "no-store"]);
    }
    const parse = await svc.api("/image-edit/parse", { method: "POST", body: JSON.stringify({ command: "blur" }) });
    expect(parse.headers.get("cache-control")).toBe("no-store");
    // Their own choices stay: the progress stream's, and a download's (private, for its link's life).
    const stream = await svc.api(`/image-edit/progress/${s.sessionId}`);
    expect(stream.headers.get("cache-control")).toBe("no-cache, no-transform");
    await stream.text();
    const file = await fetch(s.images[0].result.url);
    expect(file.headers.get("cache-control")).toMatch(/^private, max-age=\d+$/);
    await file.arrayBuffer();
  });
});

describe("behind a proxy that serves the API under a path (PUBLIC_URL with a path)", () => {
  it("puts the path in Location, progressUrl and file URLs, so a client reaches each through the proxy", async () => {
    const proxied = await startServiceWithSource({ PUBLIC_URL: "https://imgedit.example/app/" });
    try {
      proxied.src.set(
        "/a.png",
        await sharp({ create: { width: 40, height: 30, channels: 3, background: "#f00" } })
          .png()
          .toBuffer(),
      );
      const res = await proxied.svc.api("/image-edit", {
        method: "POST",
        body: JSON.stringify({
          images: [{ id: "a", url: `${proxied.src.base}/a.png` }],
          operation: { type: "operations", operations: [{ op: "resize", width: 20 }] },
        }),
      });
      expect(res.status).toBe(202);
      const started = (await res.json()) as Json;
      expect(res.headers.get("location")).toBe(`/app/image-edit/sessions/${started.sessionId}`);
      expect(started.progressUrl).toMatch(new RegExp(`^/app/image-edit/progress/${started.sessionId}\\?token=`));
      // The proxy strips /app before the request reaches the server.
      const sse = await openSse(proxied.svc.base + (started.progressUrl as string).slice("/app".length));
      await sse.waitFor((e) => e.event === "complete");
      sse.close();
      const view = (await (await proxied.svc.api(`/image-edit/sessions/${started.sessionId}`)).json()) as Json;
      expect(view.progressUrl).toMatch(/^\/app\/image-edit\/progress\//);
      expect(view.images[0].result.url).toMatch(/^https:\/\/imgedit\.example\/app\/files\//);
    } finally {
      await proxied.close();
    }
  });
});
