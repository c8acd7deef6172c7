// What an operator sees of the processor's outcomes on AWS: the log lines (JSON, as CloudWatch
// Logs stores them) and the EMF metric lines the real handlers write, for an image stopped at the
// function's deadline and one the on-failure destination records. dynalite, s3rver, real sharp.
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmfMetrics } from "../../src/adapters/aws/emf-metrics.js";
import { createLogger } from "../../src/logger.js";
import type { Session } from "../../src/ports.js";
import { retriesExhaustedRecord } from "./lambda-runtime.js";
import { type AwsStack, imageRoutes, queuedSession, startAwsStack } from "./stack.js";

let stack: AwsStack;
// biome-ignore lint/suspicious/noExplicitAny: log and EMF lines are read loosely
type Line = Record<string, any>;
const logs: Line[] = [];
const emf: Line[] = [];

beforeAll(async () => {
  const photo = await sharp({ create: { width: 64, height: 48, channels: 3, background: "#1e3cc8" } })
    .png()
    .toBuffer();
  stack = await startAwsStack({
    // anything else never answers: only the processor's own deadline ends the image
    source: imageRoutes({ "/photo.png": ["image/png", photo] }, "hang"),
    // The processor as deployed, but with its log and metric lines captured.
    processorLogger: createLogger({ LOG_LEVEL: "debug" }, { write: (l: string) => void logs.push(JSON.parse(l)) }),
    processorMetrics: new EmfMetrics({
      dimensions: { service: "imgedit", function: "processor" },
      write: (l) => void emf.push(JSON.parse(l)),
    }),
  });
});
afterAll(async () => stack?.close());

const session = (path: string) =>
  queuedSession([{ op: "resize", width: 32, fit: "inside", withoutEnlargement: false }], {
    id: "a",
    name: "a.png",
    sourceUrl: `${stack.sourceBase}${path}`,
  });

const jobOf = (s: Session) => ({ job: { sessionId: s.sessionId, imageId: "a", userId: s.userId, attempt: 1 } });
const linesOf = (sessionId: string) => logs.filter((l) => l.sessionId === sessionId);
const emfOf = (name: string, from: number) => emf.slice(from).filter((d) => d[name] !== undefined);

describe("processor: an image stopped at the function's deadline", () => {
  it("logs one warning naming session, image, code and budget, and observes job_duration_seconds{outcome=failed}", async () => {
    const s = session("/hang.png");
    await stack.processorDeps.sessions.create(s);
    const emfFrom = emf.length;
    // 16 s left: the run keeps 15 s back, so the image gets 1 s.
    const out = await stack.processor(jobOf(s), {
      getRemainingTimeInMillis: () => 16_000,
      awsRequestId: "req-deadline-1",
    });
    expect(out).toEqual({ ok: true });
    expect((await stack.processorDeps.sessions.get(s.sessionId))!.images[0]).toMatchObject({
      status: "failed",
      error: { code: "PROCESSING_TIMEOUT" },
    });

    const mine = linesOf(s.sessionId);
    const warnings = mine.filter((l) => l.level >= 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      level: 40,
      function: "processor",
      requestId: "req-deadline-1",
      sessionId: s.sessionId,
      imageId: "a",
      code: "PROCESSING_TIMEOUT",
      budgetMs: 1_000,
    });
    expect(warnings[0].msg).toMatch(/1 s budget/);
    // runJob's own lines (its "fetching" start, its interruption) carry the invocation's request id.
    expect(mine.length).toBeGreaterThan(1);
    for (const l of mine) expect(l.requestId, l.msg).toBe("req-deadline-1");

    // The outcome in both series the local runner writes for every other failure.
    const jobs = emfOf("jobs_total", emfFrom);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ jobs_total: 1, outcome: "failed", code: "PROCESSING_TIMEOUT" });
    const durations = emfOf("job_duration_seconds", emfFrom);
    expect(durations).toHaveLength(1);
    const d = durations[0];
    expect(d).toMatchObject({ service: "imgedit", function: "processor", outcome: "failed" });
    // The run's time, its 1 s budget included (a lower bound only: a loaded machine is slower).
    expect(d.job_duration_seconds).toBeGreaterThan(0.9);
    expect(d._aws.CloudWatchMetrics[0]).toEqual({
      Namespace: "imgedit",
      Dimensions: [["service", "function", "outcome"]],
      Metrics: [{ Name: "job_duration_seconds", Unit: "Seconds" }],
    });
  });

  it("an image done in time: its lines carry the request id, and no deadline warning", async () => {
    const s = session("/photo.png");
    await stack.processorDeps.sessions.create(s);
    const emfFrom = emf.length;
    expect(
      await stack.processor(jobOf(s), { getRemainingTimeInMillis: () => 300_000, awsRequestId: "req-done-1" }),
    ).toEqual({
      ok: true,
    });
    expect((await stack.processorDeps.sessions.get(s.sessionId))!.images[0]).toMatchObject({
      status: "done",
      result: { width: 32, height: 24 },
    });
    const mine = linesOf(s.sessionId);
    expect(mine.find((l) => l.msg === "image done")).toMatchObject({ requestId: "req-done-1", level: 30 });
    expect(mine.filter((l) => l.level >= 40)).toEqual([]);
    expect(emfOf("job_duration_seconds", emfFrom).map((x) => x.outcome)).toEqual(["done"]);
  });
});

describe("on-failure destination", () => {
  it("logs the image it fails with its code and the condition, counted in jobs_total", async () => {
    const s = session("/photo.png");
    await stack.processorDeps.sessions.create(s);
    const emfFrom = emf.length;
    const out = await stack.failure(
      retriesExhaustedRecord(jobOf(s), { errorType: "Runtime.ExitError", errorMessage: "signal: killed" }),
      { getRemainingTimeInMillis: () => 30_000, awsRequestId: "req-failure-1" },
    );
    expect(out).toEqual({ ok: true, recorded: true });
    const errors = linesOf(s.sessionId).filter((l) => l.level >= 40);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      level: 50,
      requestId: "req-failure-1",
      imageId: "a",
      code: "PROCESSING_FAILED",
      condition: "RetriesExhausted",
      invokeCount: 3,
    });
    expect(emfOf("jobs_total", emfFrom)).toMatchObject([{ outcome: "failed", code: "PROCESSING_FAILED" }]);
  });
});
