// Faults at the Lambda level, on the AWS adapters (DynamoDB on dynalite, S3 on s3rver): the API
// handler takes function-URL events, its LambdaJobRunner invokes the processor through the
// loopback Invoke API, and the processor handler (makeProcessorHandler) runs behind a stand-in for
// Lambda's asynchronous queue: a run that throws or whose process dies is delivered again, up to
// 2 more times (Lambda's default for async events; the stack sets retryAttempts: 2). A "death"
// freezes that run for good (its process is gone) and fails the invocation, as the runtime does.
// When the last delivery fails too, the stand-in sends Lambda's on-failure record to the failure
// recorder (the stack's on-failure destination), as an asynchronous invocation of its own.
// Each session is followed on the API's progress stream and checked with checkSession.
import { AsyncLocalStorage } from "node:async_hooks";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LambdaDeps } from "../../src/lambda/deps.js";
import { type LambdaContextLike, makeProcessorHandler } from "../../src/lambda/processor.js";
import type { ObjectStore, SessionStore } from "../../src/ports.js";
import { invokeStreaming, postJsonEvent, urlEvent } from "../aws/lambda-runtime.js";
import { TEST_REGION } from "../aws/servers.js";
import { type AwsStack, PROCESSOR, parseSse, startAwsStack } from "../aws/stack.js";
import type { Json } from "../http/harness.js";
import { type Faults, faultyObjects, faultyProcess, faultySessions, newFaults, note } from "./faults/inject.js";
import { checkSession, type FaultSource, startSource } from "./faults/session-check.js";

const RECORDER = "imgedit-failure-recorder";
/** Lambda's default for asynchronous invocations (and the stack's retryAttempts). */
const LAMBDA_RETRIES = 2;

/** Lambda-level faults on top of the port faults: deaths of the processor's process. */
interface LambdaFaults extends Faults {
  /** Runs whose process dies while the image is being processed. */
  deathsInProcess: number;
  /** Runs whose process dies right after the result was stored, before "done" was recorded. */
  deathsAfterPut: number;
  /** Session store get() calls that throw (the handler's first read: the run throws). */
  getErrors: number;
}

let source: FaultSource;
let stack: AwsStack;
let base: { sessions: SessionStore; objects: ObjectStore };
let token: string;
const faults: LambdaFaults = { ...newFaults(), deathsInProcess: 0, deathsAfterPut: 0, getErrors: 0 };
/** Deliveries of each job ("sessionId/imageId") and how each ended. */
const deliveries = new Map<string, string[]>();
/** Successful result writes per key and "done" records per image. */
const puts = new Map<string, number>();
const doneWrites = new Map<string, number>();
/** What the on-failure recorder answered, per record Lambda sent it. */
const recorded: unknown[] = [];
/** A done image (from the CONFLICT test), for a late on-failure record. */
let finished: { sessionId: string; imageId: string } | undefined;
const tally = { sessions: 0, images: 0, faults: 0, deliveries: 0, lost: 0 };

/** The run in progress on this async path (a delivery), so a fault can kill exactly that run. */
const run = new AsyncLocalStorage<{ die(why: string): void }>();
const never = () => new Promise<never>(() => {});

function die(why: string): Promise<never> {
  note(faults, why);
  run.getStore()?.die(why);
  return never(); // the process is gone: this run never goes on
}

function lambdaDeps(deps: LambdaDeps): LambdaDeps {
  const objects = faultyObjects(
    new Proxy(deps.objects, {
      get(target, prop, receiver) {
        if (prop === "put")
          return async (key: string, body: Buffer, type: string) => {
            await target.put(key, body, type);
            puts.set(key, (puts.get(key) ?? 0) + 1);
            if (faults.deathsAfterPut > 0) {
              faults.deathsAfterPut--;
              await die("death-after-put");
            }
          };
        const v = Reflect.get(target, prop, receiver);
        return typeof v === "function" ? v.bind(target) : v;
      },
    }),
    faults,
  );
  const sessions = faultySessions(
    new Proxy(deps.sessions, {
      get(target, prop, receiver) {
        if (prop === "get")
          return async (id: string) => {
            if (faults.getErrors > 0) {
              faults.getErrors--;
              note(faults, "session-read-error");
              throw Object.assign(new Error("ProvisionedThroughputExceededException (injected)"), {
                name: "ProvisionedThroughputExceededException",
              });
            }
            return target.get(id);
          };
        if (prop === "updateImage")
          return async (sessionId: string, imageId: string, patch: { status?: string }) => {
            const s = await target.updateImage(sessionId, imageId, patch as never);
            if (patch.status === "done")
              doneWrites.set(`${sessionId}/${imageId}`, (doneWrites.get(`${sessionId}/${imageId}`) ?? 0) + 1);
            return s;
          };
        const v = Reflect.get(target, prop, receiver);
        return typeof v === "function" ? v.bind(target) : v;
      },
    }),
    faults,
  );
  const throwing = faultyProcess(faults)(deps.job.process);
  const process: LambdaDeps["job"]["process"] = async (input, plan, opts) => {
    if (faults.deathsInProcess > 0) {
      faults.deathsInProcess--;
      return die("death-in-process");
    }
    return throwing(input, plan, opts);
  };
  return { ...deps, sessions, objects, job: { ...deps.job, sessions, objects, process, retryBaseMs: 20 } };
}

/**
 * Lambda's asynchronous queue for one function: a run that throws, or whose process dies, is
 * delivered again after a pause (1 and 2 minutes on AWS; 50 ms here), at most LAMBDA_RETRIES times.
 * Then Lambda sends its invocation record to the on-failure destination (an async invoke of it).
 */
function asyncQueue(handler: (event: unknown, ctx: LambdaContextLike) => Promise<unknown>, onFailure: string) {
  return async (event: unknown, ctx: LambdaContextLike): Promise<void> => {
    const job = (event as { job?: { sessionId: string; imageId: string } }).job;
    const key = `${job?.sessionId}/${job?.imageId}`;
    const log = deliveries.get(key) ?? [];
    deliveries.set(key, log);
    for (let attempt = 0; attempt <= LAMBDA_RETRIES; attempt++) {
      tally.deliveries++;
      let died: (why: string) => void = () => {};
      const death = new Promise<string>((resolve) => (died = resolve));
      const outcome = await Promise.race([
        run
          .run({ die: died }, () => handler(event, ctx))
          .then(
            () => "ok",
            (e: Error) => `threw: ${e.message}`,
          ),
        death.then((why) => `died: ${why}`),
      ]);
      log.push(outcome);
      if (outcome === "ok") return;
      if (attempt < LAMBDA_RETRIES) await new Promise((r) => setTimeout(r, 50));
    }
    // The record Lambda sends a destination; a dead process reports Runtime.ExitError.
    const last = log.at(-1) ?? "";
    const record = {
      version: "1.0",
      timestamp: new Date().toISOString(),
      requestContext: {
        requestId: ctx.awsRequestId ?? "test",
        functionArn: `arn:aws:lambda:${TEST_REGION}:000000000000:function:${PROCESSOR}:production`,
        condition: "RetriesExhausted",
        approximateInvokeCount: LAMBDA_RETRIES + 1,
      },
      requestPayload: event,
      responseContext: { statusCode: 200, executedVersion: "1", functionError: "Unhandled" },
      responsePayload: last.startsWith("died")
        ? { errorType: "Runtime.ExitError", errorMessage: "Error: Runtime exited with error: signal: killed" }
        : { errorType: "Error", errorMessage: last.replace(/^threw: /, "") },
    };
    const res = await fetch(`${stack.invoke.endpoint}/2015-03-31/functions/${onFailure}/invocations`, {
      method: "POST",
      headers: { "x-amz-invocation-type": "Event" },
      body: JSON.stringify(record),
    });
    if (res.status !== 202) throw new Error(`on-failure destination refused the record: ${res.status}`);
  };
}

const auth = () => ({ authorization: `Bearer ${token}` });

/** Start a session through the API handler, follow its progress stream to `complete`, check it. */
async function edit(paths: Record<string, string>) {
  const injectedBefore = Object.values(faults.injected).reduce((a, b) => a + b, 0);
  const res = await invokeStreaming(
    stack.api,
    postJsonEvent("/image-edit", token, {
      images: Object.entries(paths).map(([id, p]) => ({ id, url: `${source.base}${p}` })),
      operation: { type: "operations", operations: [{ op: "resize", width: 32 }] },
    }),
  );
  expect(res.status).toBe(202);
  const sessionId = res.json().sessionId as string;
  const stream = await invokeStreaming(
    stack.api,
    urlEvent("GET", `/image-edit/progress/${sessionId}`, { headers: auth() }),
    {
      timeoutMs: 60_000,
    },
  );
  const events = parseSse(stream.text);
  const complete = events.find((e) => e.event === "complete");
  await stack.invoke.idle(); // every delivery (and retry) has ended
  const session = (
    await invokeStreaming(stack.api, urlEvent("GET", `/image-edit/sessions/${sessionId}`, { headers: auth() }))
  ).json();
  tally.sessions++;
  tally.images += Object.keys(paths).length;
  tally.faults += Object.values(faults.injected).reduce((a, b) => a + b, 0) - injectedBefore;
  if (!complete) {
    tally.lost++;
    throw new Error(`no complete event; session is ${JSON.stringify(session)}`);
  }
  await checkSession({ base: "http://127.0.0.1", ...base }, session, complete.data, events);
  const stored = (await base.sessions.get(sessionId))!;
  return {
    sessionId,
    prefix: `${stored.userId}/${sessionId}/`,
    byId: Object.fromEntries((session.images as Json[]).map((i) => [i.id, i])) as Record<string, Json>,
    runs: (id: string) => deliveries.get(`${sessionId}/${id}`) ?? [],
    events,
  };
}

beforeAll(async () => {
  const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: "#2a7" } })
    .png()
    .toBuffer();
  source = await startSource(png);
  stack = await startAwsStack({
    source,
    env: { FETCH_TIMEOUT_MS: "1500", JOB_MAX_ATTEMPTS: "3" },
    pollMs: 50,
    functions: ({ processorDeps, failure }) => {
      base = { sessions: processorDeps.sessions, objects: processorDeps.objects };
      const faulty = lambdaDeps(processorDeps);
      return {
        [PROCESSOR]: asyncQueue(
          makeProcessorHandler(() => faulty),
          RECORDER,
        ),
        // The recorder is its own function: the real stores, none of the processor's faults.
        [RECORDER]: async (event, ctx) => {
          const out = await failure(event, ctx);
          recorded.push(out);
          return out;
        },
      };
    },
  });
  token = await stack.token("alice");
}, 60_000);

afterAll(async () => {
  await stack?.close();
  await source?.close();
  console.log(
    `lambda faults: ${tally.sessions} sessions, ${tally.images} images, ${tally.faults} faults injected, ${tally.deliveries} deliveries, sessions lost ${tally.lost}`,
  );
});

describe("processor Lambda under faults (dynalite + s3rver)", () => {
  it("the process dies mid-image: Lambda's retry takes the image over and finishes it", async () => {
    faults.deathsInProcess = 1;
    const r = await edit({ a: "/ok-die-1.png", b: "/ok-die-2.png" });
    expect(faults.injected["death-in-process"]).toBe(1);
    expect(r.byId.a.status).toBe("done");
    expect(r.byId.b.status).toBe("done");
    // Exactly one of the two jobs died once and was delivered again.
    const runs = [r.runs("a"), r.runs("b")].sort((x, y) => y.length - x.length);
    expect(runs[0]).toEqual(["died: death-in-process", "ok"]);
    expect(runs[1]).toEqual(["ok"]);
  });

  it("the process dies after storing the result, before recording done: one object, done on the retry", async () => {
    faults.deathsAfterPut = 1;
    const r = await edit({ a: "/ok-put-1.png" });
    expect(r.runs("a")).toEqual(["died: death-after-put", "ok"]);
    expect(r.byId.a.status).toBe("done");
    const key = `${r.prefix}a.png`;
    expect(puts.get(key)).toBe(2); // the same deterministic key written again, not a second object
    expect(await base.objects.list(r.prefix)).toEqual([key]);
  });

  it("the handler throws (its first read refused): the retry finishes the image", async () => {
    faults.getErrors = 1;
    const r = await edit({ a: "/ok-read-1.png" });
    expect(r.runs("a")).toEqual([expect.stringMatching(/^threw: .*ProvisionedThroughput/), "ok"]);
    expect(r.byId.a.status).toBe("done");
  });

  it("the handler throws mid-image (every session write refused): Lambda retries, the image ends done", async () => {
    // 3 attempts inside the run, then the "failed" write is refused too: the run throws.
    faults.sessionWriteErrors = 4;
    const r = await edit({ a: "/ok-write-1.png" });
    expect(faults.injected["session-write-error"]).toBe(4);
    expect(r.runs("a")).toEqual([expect.stringMatching(/^threw: could not record progress/), "ok"]);
    expect(r.byId.a.status).toBe("done");
  });

  it("the processor throws inside an image: that image failed with a reason, no Lambda retry", async () => {
    faults.processThrows = 1;
    const r = await edit({ a: "/ok-throw-1.png" });
    expect(r.byId.a.status).toBe("failed");
    expect(r.byId.a.error).toMatchObject({ code: "PROCESSING_FAILED" });
    expect(r.runs("a")).toEqual(["ok"]);
  });

  it("a source that resets every time: bounded retries inside one run, no Lambda retry", async () => {
    // Not a poison image (see the gap below): the source resets, each run fails it cleanly.
    const r = await edit({ a: "/reset-lambda.png", b: "/ok-reset-2.png" });
    expect(r.byId.a).toMatchObject({ status: "failed", error: { code: "FETCH_FAILED" } });
    expect(r.byId.b.status).toBe("done");
    expect(r.runs("a")).toEqual(["ok"]);
    // One request per attempt, plus one when an attempt went out on a pooled connection (a reset
    // there is taken for an idle connection the host dropped, and sent once more anew).
    const hits = source.hits.get("/reset-lambda.png") ?? 0;
    expect(hits).toBeGreaterThanOrEqual(3);
    expect(hits).toBeLessThanOrEqual(6);
  });

  it("a job delivered twice at once, and again after done, writes one result", async () => {
    // Slow source: both deliveries are in flight together.
    const first = await edit({ a: "/slow-dup-1.png" });
    const job = { job: { sessionId: first.sessionId, imageId: "a", userId: "alice", attempt: 1 } };
    const dup = { job: { ...job.job, attempt: 2 } };
    // Again, from scratch: a second session whose job Lambda delivers twice concurrently.
    const res = await invokeStreaming(
      stack.api,
      postJsonEvent("/image-edit", token, {
        images: [{ id: "d", url: `${source.base}/slow-dup-2.png` }],
        operation: { type: "operations", operations: [{ op: "resize", width: 32 }] },
      }),
    );
    const sessionId = res.json().sessionId as string;
    const again = { job: { sessionId, imageId: "d", userId: "alice", attempt: 1 } };
    await Promise.all([
      fetch(`${stack.invoke.endpoint}/2015-03-31/functions/${PROCESSOR}/invocations`, {
        method: "POST",
        headers: { "x-amz-invocation-type": "Event" },
        body: JSON.stringify(again),
      }),
    ]);
    const stream = await invokeStreaming(
      stack.api,
      urlEvent("GET", `/image-edit/progress/${sessionId}`, { headers: auth() }),
      {
        timeoutMs: 60_000,
      },
    );
    await stack.invoke.idle();
    const events = parseSse(stream.text);
    const complete = events.find((e) => e.event === "complete");
    expect(complete).toBeDefined();
    const session = (
      await invokeStreaming(stack.api, urlEvent("GET", `/image-edit/sessions/${sessionId}`, { headers: auth() }))
    ).json();
    await checkSession({ base: "http://127.0.0.1", ...base }, session, complete!.data, events);
    expect(deliveries.get(`${sessionId}/d`)).toEqual(["ok", "ok"]);
    const stored = (await base.sessions.get(sessionId))!;
    expect(await base.objects.list(`${stored.userId}/${sessionId}/`)).toEqual([`${stored.userId}/${sessionId}/d.png`]);
    expect(doneWrites.get(`${sessionId}/d`)).toBe(1);
    tally.sessions++;
    tally.images++;

    // Late duplicates of a finished job change nothing and write nothing.
    const before = await base.sessions.get(first.sessionId);
    const putsBefore = puts.get(`${first.prefix}a.png`);
    for (const e of [job, dup])
      await fetch(`${stack.invoke.endpoint}/2015-03-31/functions/${PROCESSOR}/invocations`, {
        method: "POST",
        headers: { "x-amz-invocation-type": "Event" },
        body: JSON.stringify(e),
      });
    await stack.invoke.idle();
    expect(await base.sessions.get(first.sessionId)).toEqual(before);
    expect(puts.get(`${first.prefix}a.png`)).toBe(putsBefore);
    expect(doneWrites.get(`${first.sessionId}/a`)).toBe(1);
  });
});

describe("DynamoSessionStore: a done image is final", () => {
  it("refuses a write to a done image with CONFLICT and leaves it as it was", async () => {
    // The race the duplicate-delivery test hits: the losing delivery read the image unfinished,
    // then tried to record "storing"/"done"/"failed" over the winner's "done".
    const r = await edit({ f: "/ok-final.png" });
    finished = { sessionId: r.sessionId, imageId: "f" };
    const before = await base.sessions.get(r.sessionId);
    for (const patch of [
      { status: "storing" as const, percent: 92 },
      { status: "failed" as const },
      { status: "done" as const },
    ])
      await expect(base.sessions.updateImage(r.sessionId, "f", patch)).rejects.toMatchObject({ code: "CONFLICT" });
    expect(await base.sessions.get(r.sessionId)).toEqual(before);
    await expect(base.sessions.updateImage(r.sessionId, "nope", { percent: 1 })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
  });
});

describe("a poison image that kills every delivery: the on-failure destination records it", () => {
  // Lambda gives up after 3 deliveries and sends its invocation record to the processor's
  // on-failure destination (infra/stack.ts), which marks the image failed with a reason.
  it("ends the image failed with a reason, the session complete and the stream's `complete` sent", async () => {
    faults.deathsInProcess = LAMBDA_RETRIES + 1;
    const before = recorded.length;
    const r = await edit({ p: "/ok-poison.png" });
    expect(r.runs("p")).toEqual(Array(LAMBDA_RETRIES + 1).fill("died: death-in-process"));
    expect(recorded.slice(before)).toEqual([{ ok: true, recorded: true }]);
    expect(r.byId.p).toMatchObject({
      status: "failed",
      error: {
        code: "PROCESSING_FAILED",
        message: `the processor stopped ${LAMBDA_RETRIES + 1} times on this image (out of memory or timeout?)`,
      },
    });
    const session = await base.sessions.get(r.sessionId);
    expect(session?.status).toBe("failed");
    const complete = r.events.find((e) => e.event === "complete");
    expect(complete?.data).toMatchObject({ status: "failed" });
    expect(await base.objects.list(r.prefix)).toEqual([]); // no object without a done image
  });

  it("a record for a finished image, or a malformed one, changes nothing", async () => {
    // (A new session here would hit the API's per-user rate limit.)
    const r = finished!;
    const before = await base.sessions.get(r.sessionId);
    expect(before?.images.find((i) => i.id === r.imageId)?.status).toBe("done");
    const from = recorded.length;
    const send = (body: unknown) =>
      fetch(`${stack.invoke.endpoint}/2015-03-31/functions/${RECORDER}/invocations`, {
        method: "POST",
        headers: { "x-amz-invocation-type": "Event" },
        body: JSON.stringify(body),
      });
    await send({
      requestContext: { condition: "RetriesExhausted", approximateInvokeCount: 3 },
      requestPayload: { job: { sessionId: r.sessionId, imageId: r.imageId, userId: "alice", attempt: 1 } },
      responsePayload: null,
    });
    await send({ requestContext: {}, requestPayload: { nope: 1 } });
    await stack.invoke.idle();
    // Both run at once (async invocations): either order.
    expect(recorded.slice(from)).toHaveLength(2);
    expect(recorded.slice(from)).toEqual(
      expect.arrayContaining([
        { ok: true, recorded: false, skipped: "done" },
        { ok: false, skipped: "not an invocation record" },
      ]),
    );
    expect(await base.sessions.get(r.sessionId)).toEqual(before);
  });
});
