// The AWS path as Lambda runs it: the API handler's streamed answers (with the runtime's real
// behaviour on a client's disconnect), the processor under asynchronous delivery (twice at once,
// for expired sessions, malformed events), and DynamoDB's TTL and key limits as users meet them.
// dynalite, s3rver and a loopback Invoke API; real sharp.
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImageEditError } from "../../src/core/errors.js";
import { buildApiApp } from "../../src/lambda/api-app.js";
import { parseJobEvent } from "../../src/lambda/job-event.js";
import { streamingHandler } from "../../src/lambda/stream.js";
import type { Session } from "../../src/ports.js";
import {
  invokeStreaming,
  lambdaContext,
  postJsonEvent,
  retriesExhaustedRecord,
  streamingRuntime,
  urlEvent,
} from "./lambda-runtime.js";
import { type AwsStack, imageRoutes, parseSse, queuedSession, startAwsStack } from "./stack.js";

let stack: AwsStack;
let photo: Buffer;
let alice: string;

beforeAll(async () => {
  photo = await sharp({ create: { width: 640, height: 480, channels: 3, background: "#c83c1e" } })
    .jpeg()
    .toBuffer();
  stack = await startAwsStack({
    // "/hang.jpg" never answers: the processor's own deadline has to end the image
    source: imageRoutes({ "/photo.jpg": ["image/jpeg", photo], "/hang.jpg": "hang" }),
  });
  alice = await stack.token("alice");
});
afterAll(async () => stack?.close());

const auth = (t: string) => ({ authorization: `Bearer ${t}` });
const nowSec = () => Math.floor(Date.now() / 1000);

/** A stored session of alice's with one queued image of the test photo. */
function session(extra: Partial<Session> = {}): Session {
  return queuedSession(
    [{ op: "resize", width: 100, fit: "inside", withoutEnlargement: false }],
    { id: "a", name: "a.jpg", sourceUrl: `${stack.sourceBase}/photo.jpg` },
    extra,
  );
}

const jobOf = (s: Session, imageId = "a") => ({
  job: { sessionId: s.sessionId, imageId, userId: s.userId, attempt: 1 },
});

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(
    () => undefined,
    (e: unknown) => (e instanceof ImageEditError ? e.code : `not an ImageEditError: ${String(e)}`),
  );
}

describe("API function: an edit followed over its progress stream", () => {
  it("POST, progress in order until complete, results downloadable by presigned URL with their type", async () => {
    const res = await invokeStreaming(
      stack.api,
      postJsonEvent("/image-edit", alice, {
        images: [
          { id: "w", url: `${stack.sourceBase}/photo.jpg`, name: "photo.jpg" },
          { id: "p", url: `${stack.sourceBase}/photo.jpg`, name: "photo.jpg" },
        ],
        operation: { type: "command", command: "resize to 200px and convert to webp" },
      }),
    );
    expect(res.status).toBe(202);
    const { sessionId, progressUrl } = res.json();
    // The page follows the progressUrl (stream token, no Authorization header).
    const prog = await invokeStreaming(stack.api, urlEvent("GET", progressUrl));
    expect(prog.status).toBe(200);
    expect(prog.headers["content-type"]).toContain("text/event-stream");
    const events = parseSse(prog.text);
    expect(events.at(-1)?.event).toBe("complete");
    expect(events.at(-1)?.data).toMatchObject({ sessionId, status: "completed", completed: 2, failed: 0 });
    for (const id of ["w", "p"]) {
      const mine = events.filter((e) => e.data?.imageId === id);
      // Stages never go backwards; the result comes after the image's "done".
      const stages = mine.filter((e) => e.event === "progress").map((e) => e.data.status);
      const order = ["queued", "fetching", "processing", "storing", "done"];
      expect(stages.map((st) => order.indexOf(st))).toEqual([...stages.map((st) => order.indexOf(st))].sort());
      expect(stages.at(-1)).toBe("done");
      expect(mine.at(-1)?.event).toBe("image");
      const img = mine.at(-1)!.data;
      expect(img).toMatchObject({ width: 200, height: 150, format: "webp" });
      expect(img.url).toContain(`/alice/${sessionId}/${id}.webp?`);
      expect(new URL(img.url).searchParams.get("X-Amz-Expires")).toBe("3600");
      const file = await fetch(img.url);
      expect(file.status).toBe(200);
      expect(file.headers.get("content-type")).toBe("image/webp");
      const meta = await sharp(Buffer.from(await file.arrayBuffer())).metadata();
      expect(meta).toMatchObject({ format: "webp", width: 200, height: 150 });
    }
    const ids = events.filter((e) => e.id !== undefined).map((e) => e.id!);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it("a client that hangs up mid-stream (which the runtime never tells the function) holds it for the stream's lifetime only", async () => {
    // A session nobody works on: its stream would never see `complete`.
    const idle = session();
    await stack.apiDeps.sessions.create(idle);
    // The function has its full 300 s; a stream lives 1.5 s here (60 s deployed).
    const api = streamingHandler(buildApiApp(stack.apiDeps, { pollMs: 100, sseHeartbeatMs: 200 }), streamingRuntime, {
      maxStreamMs: 1_500,
    });
    const res = await invokeStreaming(
      api,
      urlEvent("GET", `/image-edit/progress/${idle.sessionId}`, { headers: auth(alice) }),
      { onBody: (_text, _stream, hangUp) => hangUp(), timeoutMs: 300_000 },
    );
    expect(res.status).toBe(200);
    expect(res.text).toContain(": imgedit progress");
    // It went on writing to nobody (heartbeats) until its lifetime ended it, not the deadline.
    expect(res.afterHangUp).toBeGreaterThan(0);
    // A client still there reconnects with Last-Event-ID and finds the session where it was.
    const again = await invokeStreaming(
      api,
      urlEvent("GET", `/image-edit/progress/${idle.sessionId}`, {
        headers: { ...auth(alice), "last-event-id": "1" },
      }),
      {
        onBody: (text, _stream, hangUp) => {
          if (text.includes(": ping")) hangUp();
        },
      },
    );
    expect(parseSse(again.text).filter((e) => e.event === "progress")).toEqual([]);
  }, 20_000);
});

describe("processor function under Lambda's asynchronous delivery", () => {
  it("one job delivered twice at once: the image done once, one result object, the right pixels", async () => {
    const s = session();
    await stack.processorDeps.sessions.create(s);
    const outs = await Promise.all([
      stack.processor(jobOf(s), lambdaContext()),
      stack.processor(jobOf(s), lambdaContext()),
    ]);
    expect(outs).toEqual([{ ok: true }, { ok: true }]);
    const after = (await stack.processorDeps.sessions.get(s.sessionId))!;
    expect(after.status).toBe("completed");
    expect(after.images[0]).toMatchObject({ status: "done", result: { width: 100, height: 75, format: "jpeg" } });
    expect(await stack.processorDeps.objects.list(`alice/${s.sessionId}/`)).toEqual([`alice/${s.sessionId}/a.jpg`]);
    const stored = await stack.processorDeps.objects.getBuffer(`alice/${s.sessionId}/a.jpg`);
    expect(await sharp(stored!).metadata()).toMatchObject({ width: 100, height: 75, format: "jpeg" });
  });

  it("a job for a session past its ttl (DynamoDB has not deleted it yet) is skipped: nothing stored or written", async () => {
    const s = session({ ttl: nowSec() - 5 });
    await stack.processorDeps.sessions.create(s);
    expect(await stack.processor(jobOf(s), lambdaContext())).toEqual({ ok: true });
    expect(await stack.processorDeps.objects.list(`alice/${s.sessionId}/`)).toEqual([]);
    const failed = await stack.failure(
      { requestContext: { condition: "RetriesExhausted", approximateInvokeCount: 3 }, requestPayload: jobOf(s) },
      lambdaContext(),
    );
    expect(failed).toEqual({ ok: true, recorded: false, skipped: "gone" });
  });

  it("a session that expires while its image is processed takes no more writes, as locally (NOT_FOUND)", async () => {
    // The processor read it live; the ttl passes before its next write.
    const s = session({ ttl: nowSec() - 1 });
    await stack.processorDeps.sessions.create(s);
    expect(await codeOf(stack.processorDeps.sessions.updateImage(s.sessionId, "a", { status: "fetching" }))).toBe(
      "NOT_FOUND",
    );
    expect(
      await codeOf(
        stack.processorDeps.sessions.updateImage(s.sessionId, "a", {
          status: "done",
          percent: 100,
          result: { key: `alice/${s.sessionId}/a.jpg`, width: 1, height: 1, format: "jpeg", bytes: 1 },
        }),
      ),
    ).toBe("NOT_FOUND");
    // (get answers undefined for it, so read the item as DynamoDB holds it: unchanged.)
    const live = stack.processorDeps.sessions;
    const raw = await live.listExpired(nowSec() + 1, 1000);
    expect(raw.find((x) => x.sessionId === s.sessionId)).toMatchObject({ version: 1, images: [{ status: "queued" }] });
  });

  it("the on-failure destination, after runs that died between storing a result and recording done, fails the image and keeps no file", async () => {
    const s = session();
    await stack.processorDeps.sessions.create(s);
    const key = `alice/${s.sessionId}/a.jpg`;
    // What a killed run leaves: its result stored, the image still "storing".
    await stack.processorDeps.objects.put(key, photo, "image/jpeg");
    await stack.processorDeps.sessions.updateImage(s.sessionId, "a", { status: "storing", percent: 92 });
    const out = await stack.failure(
      retriesExhaustedRecord(jobOf(s), {
        errorType: "Sandbox.Timedout",
        errorMessage: "Task timed out after 300.00 seconds",
      }),
      lambdaContext(),
    );
    expect(out).toEqual({ ok: true, recorded: true });
    const after = (await stack.processorDeps.sessions.get(s.sessionId))!;
    expect(after.status).toBe("failed");
    expect(after.images[0]).toMatchObject({ status: "failed", error: { code: "PROCESSING_FAILED" } });
    expect(after.images[0].result).toBeUndefined();
    expect(await stack.processorDeps.objects.list(`alice/${s.sessionId}/`)).toEqual([]);
    // A late delivery cannot revive it.
    expect(await stack.processor(jobOf(s), lambdaContext())).toEqual({ ok: true });
    expect((await stack.processorDeps.sessions.get(s.sessionId))!.images[0].status).toBe("failed");
    expect(await stack.processorDeps.objects.list(`alice/${s.sessionId}/`)).toEqual([]);
  });

  it("a run stopped by its deadline fails the image (PROCESSING_TIMEOUT) and removes a result an earlier killed run stored", async () => {
    const s = session();
    s.images[0].sourceUrl = `${stack.sourceBase}/hang.jpg`;
    await stack.processorDeps.sessions.create(s);
    const key = `alice/${s.sessionId}/a.jpg`;
    await stack.processorDeps.objects.put(key, photo, "image/jpeg");
    await stack.processorDeps.sessions.updateImage(s.sessionId, "a", { status: "storing", percent: 92 });
    // 16 s left: the run keeps 15 s back, so the image gets 1 s.
    expect(await stack.processor(jobOf(s), { getRemainingTimeInMillis: () => 16_000 })).toEqual({ ok: true });
    const img = (await stack.processorDeps.sessions.get(s.sessionId))!.images[0];
    expect(img).toMatchObject({ status: "failed", error: { code: "PROCESSING_TIMEOUT" } });
    expect(await stack.processorDeps.objects.list(`alice/${s.sessionId}/`)).toEqual([]);
  });

  it("drops events whose ids cannot be DynamoDB keys without throwing (no pointless retries)", async () => {
    const bad = [
      { job: { sessionId: "", imageId: "a", userId: "alice" } },
      { job: { sessionId: "s".repeat(3000), imageId: "a", userId: "alice" } },
      { job: { sessionId: "s", imageId: "", userId: "alice" } },
      { job: { sessionId: "s", imageId: "a", userId: "" } },
    ];
    for (const event of bad) {
      expect(parseJobEvent(event)).toBeUndefined();
      expect(await stack.processor(event, lambdaContext())).toEqual({ ok: false, skipped: "not a job event" });
      expect(
        await stack.failure(
          { requestContext: { condition: "RetriesExhausted", approximateInvokeCount: 3 }, requestPayload: event },
          lambdaContext(),
        ),
      ).toEqual({ ok: false, skipped: "not an invocation record" });
    }
  });
});

describe("session ids DynamoDB cannot hold", () => {
  it("a session id over DynamoDB's 2048-byte key limit is a missing session (404), not a storage failure", async () => {
    const id = "x".repeat(3000);
    for (const [method, path] of [
      ["GET", `/image-edit/sessions/${id}`],
      ["DELETE", `/image-edit/sessions/${id}`],
      ["GET", `/image-edit/progress/${id}`],
    ] as const) {
      const res = await invokeStreaming(stack.api, urlEvent(method, path, { headers: auth(alice) }));
      expect(res.status, `${method} ${path.slice(0, 30)}`).toBe(404);
      expect(res.json().error.code).toBe("NOT_FOUND");
    }
    const store = stack.apiDeps.sessions;
    expect(await store.get(id)).toBeUndefined();
    expect(await store.get("")).toBeUndefined();
    expect(await codeOf(store.updateImage(id, "a", { percent: 5 }))).toBe("NOT_FOUND");
    await store.delete(id);
  });
});
