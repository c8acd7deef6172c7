// The two Lambda handlers end to end, in-process: the API handler gets function-URL events and
// streams its responses through the runtime's streaming contract; its job runner invokes the
// processor through a loopback Invoke API; both use dynalite and s3rver. Real sharp throughout.
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmfMetrics } from "../../src/adapters/aws/emf-metrics.js";
import type { LambdaDeps } from "../../src/lambda/deps.js";
import { makeProcessorHandler } from "../../src/lambda/processor.js";
import type { Session } from "../../src/ports.js";
import { invokeStreaming, postJsonEvent, urlEvent } from "./lambda-runtime.js";
import { type AwsStack, imageRoutes, PROCESSOR, parseSse, queuedSession, startAwsStack } from "./stack.js";

let stack: AwsStack;
let alice: string;
let bob: string;
const emf: string[] = [];
let photo: Buffer;

const auth = (token: string) => ({ authorization: `Bearer ${token}` });

/** Uploads the test photo as bob (query: "?name=..." or ""); answers its upload:<id> URL. */
async function bobUpload(query: string): Promise<string> {
  const res = await invokeStreaming(
    stack.api,
    urlEvent("POST", `/uploads${query}`, { headers: { ...auth(bob), "content-type": "image/jpeg" }, body: photo }),
  );
  expect(res.status).toBe(201);
  return res.json().url;
}

beforeAll(async () => {
  photo = await sharp({
    create: { width: 640, height: 480, channels: 3, background: { r: 200, g: 60, b: 30 } },
  })
    .jpeg()
    .toBuffer();
  stack = await startAwsStack({
    source: imageRoutes(
      // "/hang.jpg" never answers: the processor's own deadline has to end the image
      { "/photo.jpg": ["image/jpeg", photo], "/hang.jpg": "hang" },
      ["image/jpeg", "this is not an image at all"],
    ),
    processorMetrics: new EmfMetrics({
      dimensions: { service: "imgedit", function: "processor" },
      write: (l) => emf.push(l),
    }),
  });
  alice = await stack.token("alice");
  bob = await stack.token("bob");
});

afterAll(async () => stack?.close());

/** Bob's one-image resize edit, sent with an Idempotency-Key. */
const postKeyed = (key: string, width = 100) =>
  invokeStreaming(
    stack.api,
    postJsonEvent(
      "/image-edit",
      bob,
      {
        images: [{ id: "web", url: `${stack.sourceBase}/photo.jpg`, name: "photo.jpg" }],
        operation: { type: "operations", operations: [{ op: "resize", width }] },
      },
      { "idempotency-key": key },
    ),
  );

describe("API handler on a function URL", () => {
  it("answers health checks and refuses requests without a token", async () => {
    expect((await invokeStreaming(stack.api, urlEvent("GET", "/healthz"))).status).toBe(200);
    const res = await invokeStreaming(stack.api, urlEvent("GET", "/image-edit/sessions"));
    expect(res.status).toBe(401);
    expect(res.json().error.code).toBe("UNAUTHORIZED");
  });

  let uploadUrl: string;

  it("takes an upload (binary body), stores it in S3 and hands back a presigned preview URL", async () => {
    const res = await invokeStreaming(
      stack.api,
      urlEvent("POST", "/uploads?name=red.jpg", {
        headers: { ...auth(alice), "content-type": "image/jpeg" },
        body: photo,
      }),
    );
    expect(res.status).toBe(201);
    const up = res.json();
    expect(up).toMatchObject({ name: "red.jpg", width: 640, height: 480, format: "jpeg", bytes: photo.length });
    expect(up.url).toMatch(/^upload:[a-f0-9]{32}$/);
    expect(up.previewUrl).toContain(stack.aws.s3Endpoint);
    expect(up.previewUrl).toContain("X-Amz-Signature=");
    const preview = await fetch(up.previewUrl);
    expect(preview.status).toBe(200);
    expect(Buffer.from(await preview.arrayBuffer()).equals(photo)).toBe(true);
    uploadUrl = up.url;
  });

  let sessionId: string;

  it("starts an edit: 202, one asynchronous processor invocation per image", async () => {
    const res = await invokeStreaming(
      stack.api,
      postJsonEvent("/image-edit", alice, {
        images: [
          { id: "up", url: uploadUrl, name: "red.jpg" },
          { id: "web", url: `${stack.sourceBase}/photo.jpg`, name: "photo.jpg" },
          { id: "bad", url: `${stack.sourceBase}/not-an-image.jpg`, name: "bad.jpg" },
        ],
        operation: {
          type: "operations",
          operations: [
            { op: "resize", width: 200 },
            { op: "format", format: "webp" },
          ],
        },
      }),
    );
    expect(res.status).toBe(202);
    const body = res.json();
    sessionId = body.sessionId;
    expect(body.images.map((i: { id: string }) => i.id).sort()).toEqual(["bad", "up", "web"]);
    const mine = stack.invoke.invocations.filter((i) => (i.payload as any).job?.sessionId === sessionId);
    expect(mine).toHaveLength(3);
    for (const inv of mine) {
      expect(inv.type).toBe("Event");
      expect(inv.functionName).toBe(PROCESSOR);
      expect((inv.payload as any).job).toMatchObject({ sessionId, userId: "alice" });
    }
  });

  it("answers two concurrent POSTs with one Idempotency-Key with one session, queued once", async () => {
    const post = () => postKeyed("bob-retry-1");
    const answers = await Promise.all([post(), post(), post()]);
    expect(answers.map((r) => r.status)).toEqual([202, 202, 202]);
    const ids = new Set(answers.map((r) => r.json().sessionId));
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    expect(answers.filter((r) => r.headers["idempotent-replayed"] === "true")).toHaveLength(2);
    const again = await post();
    expect(again.status).toBe(202);
    expect(again.json().sessionId).toBe(id);
    expect(
      stack.invoke.invocations.filter((i) => (i.payload as { job?: { sessionId?: string } }).job?.sessionId === id),
    ).toHaveLength(1);
    const listed = await invokeStreaming(stack.api, urlEvent("GET", "/image-edit/sessions", { headers: auth(bob) }));
    expect(listed.json().items.map((s: { sessionId: string }) => s.sessionId)).toEqual([id]);
  });

  it("refuses the Idempotency-Key sent again with a different request (422 IDEMPOTENCY_KEY_REUSED), queuing nothing", async () => {
    const post = (width: number) => postKeyed("bob-reused", width);
    const first = await post(120);
    expect(first.status).toBe(202);
    const id = first.json().sessionId;
    const before = stack.invoke.invocations.length;
    const other = await post(121);
    expect(other.status).toBe(422);
    expect(other.json().error).toMatchObject({
      code: "IDEMPOTENCY_KEY_REUSED",
      field: "Idempotency-Key",
      details: { sessionId: id },
    });
    expect(stack.invoke.invocations.length).toBe(before);
    const same = await post(120);
    expect(same.status).toBe(202);
    expect(same.headers["idempotent-replayed"]).toBe("true");
    expect(same.json().sessionId).toBe(id);
    expect((await stack.apiDeps.sessions.get(id))?.requestFingerprint).toMatch(/^v1:[0-9a-f]{64}$/);
  });

  it("names an image after its upload (kept in S3 beside it) when the edit gives no name", async () => {
    const res = await invokeStreaming(
      stack.api,
      postJsonEvent("/image-edit", bob, {
        images: [{ url: await bobUpload("?name=sunset.jpg") }, { url: await bobUpload("") }],
        operation: { type: "operations", operations: [{ op: "resize", width: 50 }] },
      }),
    );
    expect(res.status).toBe(202);
    expect(res.json().images.map((i: { id: string; name: string }) => [i.id, i.name])).toEqual([
      ["image-1", "sunset.jpg"],
      ["image-2", "image-2"],
    ]);
  });

  it("streams progress over SSE until complete, with presigned result URLs", async () => {
    const res = await invokeStreaming(
      stack.api,
      urlEvent("GET", `/image-edit/progress/${sessionId}`, { headers: auth(alice) }),
    );
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toContain("text/event-stream");
    const events = parseSse(res.text);
    const complete = events.find((e) => e.event === "complete");
    expect(complete?.data).toMatchObject({ sessionId, status: "partial", completed: 2, failed: 1 });
    const images = events.filter((e) => e.event === "image").map((e) => e.data);
    expect(images.map((i) => i.imageId).sort()).toEqual(["up", "web"]);
    for (const img of images) {
      expect(img).toMatchObject({ width: 200, height: 150, format: "webp" });
      const file = await fetch(img.url);
      expect(file.status).toBe(200);
      const meta = await sharp(Buffer.from(await file.arrayBuffer())).metadata();
      expect(meta).toMatchObject({ format: "webp", width: 200, height: 150 });
    }
    const failed = events.filter(
      (e) => e.event === "progress" && e.data.imageId === "bad" && e.data.status === "failed",
    );
    expect(failed[0]?.data.error.code).toBe("UNSUPPORTED_FORMAT");
    // Event ids are session versions and never go backwards.
    const ids = events.filter((e) => e.id !== undefined).map((e) => e.id!);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it("replays only what a reconnecting client has not seen (Last-Event-ID)", async () => {
    const s = (await stack.apiDeps.sessions.get(sessionId))!;
    const res = await invokeStreaming(
      stack.api,
      urlEvent("GET", `/image-edit/progress/${sessionId}`, {
        headers: { ...auth(alice), "last-event-id": String(s.version) },
      }),
    );
    const events = parseSse(res.text);
    expect(events.filter((e) => e.event === "progress")).toHaveLength(0);
    expect(events.at(-1)?.event).toBe("complete");
  });

  it("shows the session to its owner and to no one else", async () => {
    const mine = await invokeStreaming(
      stack.api,
      urlEvent("GET", `/image-edit/sessions/${sessionId}`, { headers: auth(alice) }),
    );
    expect(mine.status).toBe(200);
    const view = mine.json();
    expect(view.status).toBe("partial");
    const up = view.images.find((i: { id: string }) => i.id === "up");
    expect(up.result.url).toContain("X-Amz-Signature=");
    const theirs = await invokeStreaming(
      stack.api,
      urlEvent("GET", `/image-edit/sessions/${sessionId}`, { headers: auth(bob) }),
    );
    expect(theirs.status).toBe(404);
    const list = await invokeStreaming(
      stack.api,
      urlEvent("GET", "/image-edit/sessions?limit=10", { headers: auth(alice) }),
    );
    expect(JSON.stringify(list.json())).toContain(sessionId);
  });

  it("ends a progress stream when the client goes away, and at the function's deadline", async () => {
    const waiting = queuedSession(
      [{ op: "grayscale" }] as Session["plan"],
      { id: "x", name: "x.jpg", sourceUrl: "upload:00" },
      { sessionId: `waiting-${Date.now()}` },
    );
    await stack.apiDeps.sessions.create(waiting);
    // A response stream that closes as soon as the stream has started: the handler must finish,
    // not poll forever. (Lambda's runtime itself never reports a client's disconnect: see
    // runtime.test.ts for the stream's lifetime, which bounds that case.)
    const hungUp = await invokeStreaming(
      stack.api,
      urlEvent("GET", `/image-edit/progress/${waiting.sessionId}`, { headers: auth(alice) }),
      { onBody: (_text, stream) => stream.destroy() },
    );
    expect(hungUp.status).toBe(200);
    // With 1.5 s left before the function times out, the stream ends by itself (no `complete`).
    const cut = await invokeStreaming(
      stack.api,
      urlEvent("GET", `/image-edit/progress/${waiting.sessionId}`, { headers: auth(alice) }),
      { timeoutMs: 6_500 },
    );
    expect(cut.status).toBe(200);
    expect(cut.text).toContain(": imgedit progress");
    expect(parseSse(cut.text).some((e) => e.event === "complete")).toBe(false);
  });
});

describe("processor handler", () => {
  it("is idempotent: a redelivered job for a finished image changes nothing", async () => {
    const sessions = await stack.apiDeps.sessions.listByUser("alice", { limit: 50 });
    const done = sessions.items.find((s) => s.images.some((i) => i.status === "done"))!;
    const img = done.images.find((i) => i.status === "done")!;
    const before = await stack.apiDeps.sessions.get(done.sessionId);
    const out = await stack.processor(
      { job: { sessionId: done.sessionId, imageId: img.id, userId: "alice", attempt: 2 } },
      { getRemainingTimeInMillis: () => 300_000 },
    );
    expect(out.ok).toBe(true);
    expect(await stack.apiDeps.sessions.get(done.sessionId)).toEqual(before);
  });

  const hangingSession = () =>
    queuedSession([{ op: "resize", width: 100, fit: "inside", withoutEnlargement: false }], {
      id: "a",
      name: "hang.jpg",
      sourceUrl: `${stack.sourceBase}/hang.jpg`,
    });

  it("stops before the function's deadline and records the image failed (PROCESSING_TIMEOUT)", async () => {
    const s = hangingSession();
    await stack.processorDeps.sessions.create(s);
    // 16 s left: the run keeps 15 s back, so it gives the image 1 s
    const out = await stack.processor(
      { job: { sessionId: s.sessionId, imageId: "a", userId: "alice", attempt: 1 } },
      { getRemainingTimeInMillis: () => 16_000 },
    );
    expect(out.ok).toBe(true);
    const img = (await stack.processorDeps.sessions.get(s.sessionId))?.images[0];
    expect(img).toMatchObject({ status: "failed", error: { code: "PROCESSING_TIMEOUT" } });
  });

  it("at the deadline, leaves an outcome another delivery recorded meanwhile, without throwing", async () => {
    const s = hangingSession();
    await stack.processorDeps.sessions.create(s);
    const other = { code: "FETCH_FAILED" as const, message: "recorded by another delivery" };
    // The deadline check reads the image still in flight, but another delivery fails it just then.
    const racing: LambdaDeps = {
      ...stack.processorDeps,
      sessions: {
        ...stack.processorDeps.sessions,
        get: async (id: string) => {
          const seen = await stack.processorDeps.sessions.get(id);
          await stack.processorDeps.sessions.updateImage(id, "a", { status: "failed", percent: 100, error: other });
          return seen;
        },
        updateImage: (id, imageId, patch) => stack.processorDeps.sessions.updateImage(id, imageId, patch),
      },
    };
    const out = await makeProcessorHandler(() => racing)(
      { job: { sessionId: s.sessionId, imageId: "a", userId: "alice", attempt: 1 } },
      { getRemainingTimeInMillis: () => 16_000 },
    );
    expect(out.ok).toBe(true);
    const img = (await stack.processorDeps.sessions.get(s.sessionId))?.images[0];
    expect(img).toMatchObject({ status: "failed", error: other });
  });

  it("drops an event that is not a job without throwing (no pointless Lambda retries)", async () => {
    expect(await stack.processor({ hello: "world" }, { getRemainingTimeInMillis: () => 300_000 })).toEqual({
      ok: false,
      skipped: "not a job event",
    });
  });

  it("reports its peak memory as an EMF metric for the memory alarm", () => {
    const docs = emf.map((l) => JSON.parse(l));
    const mem = docs.filter((d) => d.max_memory_used_bytes !== undefined);
    expect(mem.length).toBeGreaterThan(0);
    const last = mem.at(-1);
    expect(last.max_memory_used_bytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(last._aws.CloudWatchMetrics[0]).toEqual({
      Namespace: "imgedit",
      Dimensions: [["service", "function"]],
      Metrics: [{ Name: "max_memory_used_bytes", Unit: "Bytes" }],
    });
    expect(last).toMatchObject({ service: "imgedit", function: "processor" });
  });
});

describe("API handler: deleting a session", () => {
  it("removes the session and its results from S3", async () => {
    const list = await stack.apiDeps.sessions.listByUser("alice", { limit: 50 });
    const s = list.items.find((x) => x.images.some((i) => i.result))!;
    const keys = s.images.filter((i) => i.result).map((i) => i.result!.key);
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) expect(await stack.apiDeps.objects.exists(k)).toBe(true);
    const notYours = await invokeStreaming(
      stack.api,
      urlEvent("DELETE", `/image-edit/sessions/${s.sessionId}`, { headers: auth(bob) }),
    );
    expect(notYours.status).toBe(404);
    const res = await invokeStreaming(
      stack.api,
      urlEvent("DELETE", `/image-edit/sessions/${s.sessionId}`, { headers: auth(alice) }),
    );
    expect(res.status).toBe(204);
    expect(await stack.apiDeps.sessions.get(s.sessionId)).toBeUndefined();
    for (const k of keys) expect(await stack.apiDeps.objects.exists(k)).toBe(false);
  });
});
