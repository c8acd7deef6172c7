// End to end over real HTTP: a batch from a loopback image source through to `complete`, with
// progress in order, results downloadable through signed URLs, resume, replay, many watchers,
// per-image failures that never stop the others, retries, idempotency, delete, pagination, uploads.
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeImage } from "../helpers/images.js";
import {
  type ImageSource,
  type Json,
  openSse,
  type SseEvent,
  STAGES,
  startServiceWithSource,
  type TestService,
} from "./harness.js";

let src: ImageSource;
let svc: TestService;
let close: () => Promise<void>;

const OPS = {
  type: "operations",
  operations: [
    { op: "resize", width: 100 },
    { op: "format", format: "webp" },
  ],
};

beforeAll(async () => {
  ({ src, svc, close } = await startServiceWithSource());
  src.set("/a.png", await makeImage({ width: 400, height: 300, format: "png", gradient: true }));
  src.set("/b.jpg", await makeImage({ width: 640, height: 480, format: "jpeg", quadrants: true }), "image/jpeg");
  src.set("/c.webp", await makeImage({ width: 300, height: 600, format: "webp" }), "image/webp");
  src.set("/not-image.png", Buffer.from("<html>hello</html>"), "image/png");
  src.set(
    "/bomb.png",
    await sharp({ create: { width: 12000, height: 100, channels: 3, background: "#000" } })
      .png()
      .toBuffer(),
  );
});
afterAll(() => close?.());

async function edit(body: unknown, init: { user?: string; headers?: Record<string, string> } = {}) {
  const res = await svc.api("/image-edit", { method: "POST", body: JSON.stringify(body), ...init });
  return { res, json: (await res.json()) as Record<string, any> };
}

async function followToEnd(progressUrl: string, headers: Record<string, string> = {}) {
  const s = await openSse(svc.base + progressUrl, headers);
  expect(s.status).toBe(200);
  expect(s.headers.get("content-type")).toMatch(/^text\/event-stream/);
  await s.done;
  return s;
}

function checkOrder(events: SseEvent[]) {
  const ids = events.filter((e) => e.id !== undefined).map((e) => Number(e.id));
  for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThanOrEqual(ids[i - 1]);
  const byImage = new Map<string, { stage: number; percent: number }>();
  for (const e of events.filter((e) => e.event === "progress")) {
    const d = e.data as { imageId: string; status: string; percent: number };
    const stage = STAGES.indexOf(d.status);
    expect(stage).toBeGreaterThanOrEqual(0);
    const prev = byImage.get(d.imageId);
    if (prev) {
      expect(Math.min(stage, 4)).toBeGreaterThanOrEqual(Math.min(prev.stage, 4));
      expect(d.percent).toBeGreaterThanOrEqual(prev.percent);
    }
    byImage.set(d.imageId, { stage, percent: d.percent });
  }
}

describe("a batch through to complete", () => {
  let first: Record<string, any>;
  let stream: Awaited<ReturnType<typeof followToEnd>>;

  it("accepts the edit with 202 and a progress URL", async () => {
    const { res, json } = await edit({
      images: [
        { id: "a", url: `${src.base}/a.png` },
        { id: "b", url: `${src.base}/b.jpg`, name: "bee.jpg" },
        { id: "c", url: `${src.base}/c.webp` },
      ],
      operation: { type: "command", command: "resize to 100px wide and convert to webp" },
    });
    expect(res.status).toBe(202);
    expect(res.headers.get("x-request-id")).toBeTruthy();
    expect(json.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(json.progressUrl).toBe(
      `/image-edit/progress/${json.sessionId}?token=${encodeURIComponent(json.streamToken)}`,
    );
    expect(json.plan.map((o: { op: string }) => o.op)).toEqual(["resize", "format"]);
    expect(json.steps).toHaveLength(2);
    expect(json.images).toEqual([
      { id: "a", name: "a.png", status: "queued" },
      { id: "b", name: "bee.jpg", status: "queued" },
      { id: "c", name: "c.webp", status: "queued" },
    ]);
    first = json;
    // EventSource-style: the token in the query string, no header.
    stream = await followToEnd(json.progressUrl);
  });

  it("streams progress in order, an image event per result, then complete", async () => {
    const events = stream.events;
    checkOrder(events);
    const last = events[events.length - 1];
    expect(last.event).toBe("complete");
    expect(last.data).toMatchObject({ sessionId: first.sessionId, status: "completed", completed: 3, failed: 0 });
    const images = events.filter((e) => e.event === "image");
    expect(images.map((e) => (e.data as { imageId: string }).imageId).sort()).toEqual(["a", "b", "c"]);
    for (const id of ["a", "b", "c"]) {
      const statuses = events
        .filter((e) => e.event === "progress" && (e.data as { imageId: string }).imageId === id)
        .map((e) => (e.data as { status: string }).status);
      expect(statuses[statuses.length - 1]).toBe("done");
      // The image event never comes before its done progress.
      const doneAt = events.findIndex(
        (e) => e.event === "progress" && (e.data as any).imageId === id && (e.data as any).status === "done",
      );
      const imageAt = events.findIndex((e) => e.event === "image" && (e.data as any).imageId === id);
      expect(imageAt).toBeGreaterThan(doneAt);
    }
  });

  it("serves each result through its signed URL with the planned size and format", async () => {
    const expected: Record<string, [number, number]> = { a: [100, 75], b: [100, 75], c: [100, 200] };
    for (const e of stream.events.filter((e) => e.event === "image")) {
      const d = e.data as {
        imageId: string;
        url: string;
        width: number;
        height: number;
        format: string;
        bytes: number;
      };
      expect(d.url).toMatch(/\/files\/alice\/.+\?exp=\d+&sig=/);
      const res = await fetch(d.url);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("image/webp");
      const buf = Buffer.from(await res.arrayBuffer());
      expect(buf.length).toBe(d.bytes);
      const meta = await sharp(buf).metadata();
      expect([meta.width, meta.height]).toEqual(expected[d.imageId]);
      expect(meta.format).toBe("webp");
      expect([d.width, d.height, d.format]).toEqual([...expected[d.imageId], "webp"]);
    }
  });

  it("shows the finished session with result URLs and source facts", async () => {
    const res = await svc.api(`/image-edit/sessions/${first.sessionId}`);
    expect(res.status).toBe(200);
    const s = (await res.json()) as Json;
    expect(s.status).toBe("completed");
    expect(s.streamToken).toBeTruthy();
    const a = s.images.find((i: { id: string }) => i.id === "a");
    expect(a).toMatchObject({ status: "done", percent: 100, source: { width: 400, height: 300, format: "png" } });
    // the source's size in bytes is the fetched file's
    expect(a.source.bytes).toBeGreaterThan(100);
    expect(a.result).toMatchObject({ width: 100, height: 75, format: "webp" });
    expect((await fetch(a.result.url)).status).toBe(200);
  });

  it("replays a finished session and closes", async () => {
    const replay = await followToEnd(`/image-edit/progress/${first.sessionId}`, {
      authorization: `Bearer ${await svc.token()}`,
    });
    expect(replay.events.filter((e) => e.event === "progress")).toHaveLength(3);
    expect(replay.events.filter((e) => e.event === "image")).toHaveLength(3);
    expect(replay.events[replay.events.length - 1].event).toBe("complete");
  });

  it("resumes after Last-Event-ID with only what changed later", async () => {
    // Each image's final version (the id of its image event); resume after the second one to finish.
    const finals = stream.events
      .filter((e) => e.event === "image")
      .map((e) => ({ id: (e.data as Json).imageId as string, version: Number(e.id) }))
      .sort((a, b) => a.version - b.version);
    expect(finals).toHaveLength(3);
    const cut = finals[1].version;
    const resumed = await followToEnd(first.progressUrl, { "last-event-id": String(cut) });
    const progress = resumed.events.filter((e) => e.event === "progress");
    expect(progress.map((e) => (e.data as Json).imageId)).toEqual([finals[2].id]);
    for (const e of resumed.events.filter((x) => x.id)) expect(Number(e.id)).toBeGreaterThan(cut);
    expect(resumed.events[resumed.events.length - 1].event).toBe("complete");
  });
});

describe("live streams", () => {
  it("feeds two clients watching one session, with heartbeats, to the same end", async () => {
    src.hold("/slow.png");
    src.set("/slow.png", await makeImage({ width: 200, height: 200 }));
    const { json } = await edit({ images: [{ id: "s", url: `${src.base}/slow.png` }], operation: OPS });
    const one = await openSse(svc.base + json.progressUrl);
    const two = await openSse(`${svc.base}/image-edit/progress/${json.sessionId}`, {
      authorization: `Bearer ${await svc.token()}`,
    });
    await one.waitFor((e) => e.event === "progress" && (e.data as any).status === "fetching");
    // held long enough for a heartbeat (200 ms in tests)
    await new Promise((r) => setTimeout(r, 450));
    src.release();
    await Promise.all([one.done, two.done]);
    for (const s of [one, two]) {
      checkOrder(s.events);
      expect(s.comments.some((c) => c.startsWith("ping"))).toBe(true);
      expect(s.events[s.events.length - 1]).toMatchObject({ event: "complete", data: { status: "completed" } });
    }
  });
});

describe("resume while running", () => {
  it("a client that drops and returns with Last-Event-ID gets only what it missed, then complete", async () => {
    src.hold("/slow2.png");
    src.set("/slow2.png", await makeImage({ width: 200, height: 100 }));
    const { json } = await edit({
      images: [
        { id: "fast", url: `${src.base}/a.png` },
        { id: "slow", url: `${src.base}/slow2.png` },
      ],
      operation: OPS,
    });
    const first = await openSse(svc.base + json.progressUrl);
    await first.waitFor((e) => e.event === "image" && (e.data as Json).imageId === "fast");
    await first.waitFor(
      (e) => e.event === "progress" && (e.data as Json).imageId === "slow" && (e.data as Json).status === "fetching",
    );
    first.close();
    const lastId = Math.max(...first.events.filter((e) => e.id).map((e) => Number(e.id)));
    const second = await openSse(svc.base + json.progressUrl, { "last-event-id": String(lastId) });
    src.release();
    await second.done;
    const ids = second.events.filter((e) => e.id).map((e) => Number(e.id));
    for (const id of ids) expect(id).toBeGreaterThan(lastId);
    expect(second.events.some((e) => e.event === "image" && (e.data as Json).imageId === "fast")).toBe(false);
    expect(second.events.some((e) => e.event === "image" && (e.data as Json).imageId === "slow")).toBe(true);
    expect(second.events[second.events.length - 1]).toMatchObject({ event: "complete", data: { status: "completed" } });
  });
});

describe("per-image failures", () => {
  it("fails blocked and bad images with their own reasons while the others complete", async () => {
    const { json } = await edit({
      images: [
        { id: "ok", url: `${src.base}/a.png` },
        { id: "metadata", url: "http://169.254.169.254/latest/meta-data/" },
        { id: "private", url: "http://10.0.0.1/x.png" },
        { id: "otherport", url: `http://127.0.0.1:${src.port === 1 ? 2 : 1}/x.png` },
        { id: "missing", url: `${src.base}/nope.png` },
        { id: "notimage", url: `${src.base}/not-image.png` },
        { id: "bomb", url: `${src.base}/bomb.png` },
        { id: "localhost", url: `http://localhost:${src.port}/a.png` },
        // The URL parser turns these into 127.0.0.1: a port that is not allow-listed stays blocked.
        { id: "decimal", url: `http://2130706433:${src.port + 1}/a.png` },
        { id: "octal", url: `http://0177.0.0.1:${src.port + 1}/a.png` },
      ],
      operation: OPS,
    });
    const s = await followToEnd(json.progressUrl);
    const complete = s.events[s.events.length - 1].data as any;
    expect(complete.status).toBe("partial");
    expect(complete.completed).toBe(1);
    expect(complete.failed).toBe(9);
    const err = (id: string) => complete.images.find((i: { id: string }) => i.id === id).error?.code;
    expect(err("ok")).toBeUndefined();
    // (a file: URL is refused with the request itself, 400: see hostile.test.ts)
    for (const id of ["metadata", "private", "otherport", "localhost", "decimal", "octal"])
      expect(err(id), id).toBe("FETCH_BLOCKED");
    expect(err("bomb")).toBe("DIMENSIONS_TOO_LARGE");
    expect(err("missing")).toBe("FETCH_FAILED");
    expect(err("notimage")).toBe("UNSUPPORTED_FORMAT");
  });

  it("retries a retryable failure and succeeds", async () => {
    src.set("/flaky.png", await makeImage({ width: 50, height: 40 }));
    src.failFirst("/flaky.png", 1);
    const { json } = await edit({ images: [{ id: "f", url: `${src.base}/flaky.png` }], operation: OPS });
    await followToEnd(json.progressUrl);
    const s = (await (await svc.api(`/image-edit/sessions/${json.sessionId}`)).json()) as Json;
    expect(s.images[0]).toMatchObject({ status: "done", attempts: 2 });
    expect(src.hits.get("/flaky.png")).toBe(2);
  });

  it("gives up after JOB_MAX_ATTEMPTS", async () => {
    src.set("/down.png", await makeImage({ width: 50, height: 40 }));
    src.failFirst("/down.png", 100);
    const { json } = await edit({ images: [{ id: "d", url: `${src.base}/down.png` }], operation: OPS });
    await followToEnd(json.progressUrl);
    const s = (await (await svc.api(`/image-edit/sessions/${json.sessionId}`)).json()) as Json;
    expect(s.status).toBe("failed");
    expect(s.images[0]).toMatchObject({ status: "failed", attempts: 3, error: { code: "FETCH_FAILED" } });
    expect(src.hits.get("/down.png")).toBe(3);
  });
});

describe("sessions", () => {
  it("returns the same session for a retried request with the same Idempotency-Key (per user)", async () => {
    const body = { images: [{ url: `${src.base}/a.png` }], operation: OPS };
    const headers = { "idempotency-key": "retry-123" };
    const a = await edit(body, { headers });
    const b = await edit(body, { headers });
    expect(a.res.status).toBe(202);
    expect(b.res.status).toBe(202);
    expect(b.json.sessionId).toBe(a.json.sessionId);
    expect(b.res.headers.get("idempotent-replayed")).toBe("true");
    // Sent at once (a client retrying before the first answer): still one session.
    const racing = await Promise.all([1, 2, 3].map(() => edit(body, { headers: { "idempotency-key": "race-1" } })));
    expect(new Set(racing.map((r) => r.json.sessionId)).size).toBe(1);
    for (const r of racing) expect(r.res.status).toBe(202);
    await followToEnd(racing[0].json.progressUrl);
    const c = await edit(body, { headers, user: "bob" });
    expect(c.json.sessionId).not.toBe(a.json.sessionId);
    await followToEnd(a.json.progressUrl);
    await followToEnd(c.json.progressUrl);
  });

  it("refuses an Idempotency-Key sent again with a different request: 422 IDEMPOTENCY_KEY_REUSED", async () => {
    const body = { images: [{ url: `${src.base}/a.png` }], operation: OPS };
    const headers = { "idempotency-key": "reused-key" };
    const a = await edit(body, { headers });
    expect(a.res.status).toBe(202);
    const other = { images: [{ url: `${src.base}/b.jpg` }], operation: OPS };
    const b = await edit(other, { headers });
    expect(b.res.status).toBe(422);
    expect(b.res.headers.get("idempotent-replayed")).toBeNull();
    expect(b.json.error).toMatchObject({
      code: "IDEMPOTENCY_KEY_REUSED",
      field: "Idempotency-Key",
      details: { sessionId: a.json.sessionId },
    });
    expect(b.json.error.message).toMatch(/already used for a different request/);
    const otherOps = await edit(
      { ...body, operation: { type: "command", command: "make it black and white" } },
      { headers },
    );
    expect(otherOps.json.error?.code).toBe("IDEMPOTENCY_KEY_REUSED");
    const otherOptions = await edit({ ...body, options: { quality: 50 } }, { headers });
    expect(otherOptions.json.error?.code).toBe("IDEMPOTENCY_KEY_REUSED");
    // The same request, spelled differently (key order, the default id written out), still replays.
    const same = await svc.api("/image-edit", {
      method: "POST",
      headers,
      body: JSON.stringify({ operation: OPS, images: [{ id: "image-1", url: `${src.base}/a.png` }] }, null, 2),
    });
    expect(same.status).toBe(202);
    expect(same.headers.get("idempotent-replayed")).toBe("true");
    expect(((await same.json()) as Json).sessionId).toBe(a.json.sessionId);
    // Keys are per user: bob's request with the key is his own first one.
    const bob = await edit(other, { headers, user: "bob" });
    expect(bob.res.status).toBe(202);
    expect(bob.res.headers.get("idempotent-replayed")).toBeNull();
    await followToEnd(a.json.progressUrl);
    await followToEnd(bob.json.progressUrl);
  });

  it("lists my sessions newest first with cursor pagination", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { json } = await edit({ images: [{ url: `${src.base}/a.png` }], operation: OPS }, { user: "pager" });
      ids.push(json.sessionId);
      await followToEnd(json.progressUrl);
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await svc.api(
        `/image-edit/sessions?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
        {
          user: "pager",
        },
      );
      expect(res.status).toBe(200);
      const page = (await res.json()) as Json;
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((s: { sessionId: string }) => s.sessionId));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
    const bad = await svc.api("/image-edit/sessions?cursor=garbage", { user: "pager" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as Json).error).toMatchObject({ code: "INVALID_INPUT", field: "cursor" });
  });

  it("hides another user's session (404) and deletes mine with its files", async () => {
    const { json } = await edit({ images: [{ url: `${src.base}/a.png` }], operation: OPS });
    const done = await followToEnd(json.progressUrl);
    const fileUrl = (done.events.find((e) => e.event === "image")!.data as { url: string }).url;
    for (const [method, path] of [
      ["GET", `/image-edit/sessions/${json.sessionId}`],
      ["DELETE", `/image-edit/sessions/${json.sessionId}`],
      ["GET", `/image-edit/progress/${json.sessionId}`],
    ]) {
      const res = await svc.api(path, { method, user: "mallory" });
      expect(res.status).toBe(404);
      expect(((await res.json()) as Json).error.code).toBe("NOT_FOUND");
    }
    // alice's stream token does not open mallory's way in either: it is bound to the session.
    const other = await edit({ images: [{ url: `${src.base}/a.png` }], operation: OPS }, { user: "mallory" });
    const cross = await fetch(`${svc.base}/image-edit/progress/${other.json.sessionId}?token=${json.streamToken}`);
    expect(cross.status).toBe(401);
    await followToEnd(other.json.progressUrl);

    expect((await fetch(fileUrl)).status).toBe(200);
    const del = await svc.api(`/image-edit/sessions/${json.sessionId}`, { method: "DELETE" });
    expect(del.status).toBe(204);
    expect((await svc.api(`/image-edit/sessions/${json.sessionId}`)).status).toBe(404);
    expect((await fetch(fileUrl)).status).toBe(404);
  });
});

describe("uploads", () => {
  it("takes a multipart upload, describes it, and edits it through upload:<id>", async () => {
    const png = await makeImage({ width: 320, height: 200, format: "png" });
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(png)], { type: "image/png" }), "holiday.png");
    const res = await svc.api("/uploads", { method: "POST", body: form });
    expect(res.status).toBe(201);
    const up = (await res.json()) as Json;
    expect(up).toMatchObject({ name: "holiday.png", bytes: png.length, format: "png", width: 320, height: 200 });
    expect(up.url).toBe(`upload:${up.id}`);
    const preview = await fetch(up.previewUrl);
    expect(preview.status).toBe(200);
    expect(Buffer.from(await preview.arrayBuffer()).equals(png)).toBe(true);

    const { json } = await edit({ images: [{ id: "u", url: up.url }], operation: OPS });
    const s = await followToEnd(json.progressUrl);
    const img = s.events.find((e) => e.event === "image")!.data as { width: number; height: number };
    expect([img.width, img.height]).toEqual([100, 63]);

    // A reopened session links back to the uploaded original, for before/after views.
    const again = (await (await svc.api(`/image-edit/sessions/${json.sessionId}`)).json()) as Json;
    const original = await fetch(again.images[0].previewUrl);
    expect(original.status).toBe(200);
    expect(Buffer.from(await original.arrayBuffer()).equals(png)).toBe(true);

    // Only the owner can use it.
    const theirs = await edit({ images: [{ url: up.url }], operation: OPS }, { user: "bob" });
    expect(theirs.res.status).toBe(400);
    expect(theirs.json.error).toMatchObject({ code: "INVALID_INPUT", field: "images[0].url" });
  });

  it("names an image after its upload when the edit gives no name: multipart filename and ?name=", async () => {
    const png = await makeImage({ width: 40, height: 30, format: "png" });
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(png)], { type: "image/png" }), "beach.png");
    const multipart = (await (await svc.api("/uploads", { method: "POST", body: form })).json()) as Json;
    expect(multipart.name).toBe("beach.png");
    const raw = (await (
      await svc.api("/uploads?name=photo.jpg", {
        method: "POST",
        body: new Uint8Array(png),
        headers: { "content-type": "application/octet-stream" },
      })
    ).json()) as Json;
    expect(raw.name).toBe("photo.jpg");
    const unnamed = (await (
      await svc.api("/uploads", {
        method: "POST",
        body: new Uint8Array(png),
        headers: { "content-type": "application/octet-stream" },
      })
    ).json()) as Json;

    const { res, json } = await edit({
      images: [{ url: multipart.url }, { url: raw.url }, { url: raw.url, name: "mine.png" }, { url: unnamed.url }],
      operation: OPS,
    });
    expect(res.status).toBe(202);
    const names = [
      ["image-1", "beach.png"],
      ["image-2", "photo.jpg"],
      ["image-3", "mine.png"],
      ["image-4", "image-4"],
    ];
    expect(json.images.map((i: Json) => [i.id, i.name])).toEqual(names);
    await followToEnd(json.progressUrl);
    const shown = (await (await svc.api(`/image-edit/sessions/${json.sessionId}`)).json()) as Json;
    expect(shown.images.map((i: Json) => [i.id, i.name])).toEqual(names);

    // An upload is part of the request an Idempotency-Key stands for.
    const headers = { "idempotency-key": "upload-key" };
    expect((await edit({ images: [{ url: raw.url }], operation: OPS }, { headers })).res.status).toBe(202);
    const swapped = await edit({ images: [{ url: multipart.url }], operation: OPS }, { headers });
    expect(swapped.res.status).toBe(422);
    expect(swapped.json.error.code).toBe("IDEMPOTENCY_KEY_REUSED");
    await svc.server.idle();
  });

  it("takes a raw body with ?name=, sniffing the type from the bytes", async () => {
    const jpg = await makeImage({ width: 64, height: 48, format: "jpeg" });
    const res = await svc.api("/uploads?name=cat.bin", {
      method: "POST",
      body: new Uint8Array(jpg),
      headers: { "content-type": "application/octet-stream" },
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ name: "cat.bin", format: "jpeg", width: 64, height: 48 });
  });
});

describe("metrics after work", () => {
  it("counts jobs by outcome, durations, bytes in and out", async () => {
    const text = await (await fetch(`${svc.base}/metrics`)).text();
    expect(text).toMatch(/imgedit_jobs_total\{outcome="done",code="none"\} [1-9]\d*/);
    expect(text).toMatch(/imgedit_jobs_total\{outcome="failed",code="FETCH_BLOCKED"\} [1-9]\d*/);
    expect(text).toMatch(/imgedit_job_duration_seconds_bucket\{le="[^"]+",outcome="done"\} \d+/);
    expect(text).toMatch(/imgedit_bytes_in_total\{source="url"\} [1-9]\d*/);
    expect(text).toMatch(/imgedit_bytes_out_total\{kind="result"\} [1-9]\d*/);
    expect(text).toMatch(/imgedit_http_requests_total\{method="POST",route="\/image-edit",status="202"\} [1-9]\d*/);
  });
});
