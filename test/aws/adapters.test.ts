// AWS adapter behaviour beyond the shared contracts: DynamoDB's 400 KB item limit, the Lambda
// job runner against a loopback Invoke API, and the EMF lines CloudWatch will parse.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dynamoDocumentClient, lambdaClient } from "../../src/adapters/aws/clients.js";
import { EmfMetrics, unitFor } from "../../src/adapters/aws/emf-metrics.js";
import { LambdaJobRunner } from "../../src/adapters/aws/job-runner.js";
import { DynamoSessionStore, MAX_STORED_MESSAGE } from "../../src/adapters/aws/session-store.js";
import { ImageEditError } from "../../src/core/errors.js";
import { makeImage, makeSession } from "../contract/session-store.contract.js";
import { type InvokeServer, startInvokeServer } from "./lambda-runtime.js";
import { createSessionsTable, type LoopbackAws, startLoopbackAws, TEST_CREDENTIALS, TEST_REGION } from "./servers.js";

let aws: LoopbackAws;
let invoke: InvokeServer;
const received: unknown[] = [];

beforeAll(async () => {
  aws = await startLoopbackAws();
  await createSessionsTable(aws.dynamoEndpoint, "sessions");
  invoke = await startInvokeServer({
    "imgedit-image-processor": async (event) => {
      received.push(event);
      return { ok: true };
    },
  });
});
afterAll(async () => {
  await invoke?.close();
  await aws?.close();
});

describe("DynamoSessionStore at its limits (item size, many writers)", () => {
  const store = () =>
    new DynamoSessionStore({
      client: dynamoDocumentClient({
        endpoint: aws.dynamoEndpoint,
        region: TEST_REGION,
        credentials: TEST_CREDENTIALS,
      }),
      table: "sessions",
    });

  it("fits the largest session the API accepts, every image failed with a long message", async () => {
    const s = store();
    const url = `https://example.com/${"x".repeat(4096 - 20)}`;
    const images = Array.from({ length: 50 }, (_, i) =>
      makeImage(`img-${i}`, { name: "n".repeat(255), sourceUrl: url }),
    );
    const session = makeSession({ images });
    await s.create(session);
    let last = session;
    for (const img of images) {
      last = await s.updateImage(session.sessionId, img.id, {
        status: "failed",
        percent: 100,
        error: {
          code: "FETCH_BLOCKED",
          message: `blocked ${url} because ${"it resolves to a private address ".repeat(20)}`,
        },
      });
    }
    expect(last.status).toBe("failed");
    const back = await s.get(session.sessionId);
    expect(back?.images).toHaveLength(50);
    for (const img of back!.images) {
      expect(img.error?.message.length).toBeLessThanOrEqual(MAX_STORED_MESSAGE);
      expect(img.sourceUrl).toBe(url);
    }
  });

  it("takes 50 images' progress from 10 containers at once without losing or retrying away any", async () => {
    const writers = Array.from(
      { length: 10 },
      () =>
        new DynamoSessionStore({
          // Separate clients, as separate Lambda containers have.
          client: DynamoDBDocumentClient.from(
            new DynamoDBClient({ endpoint: aws.dynamoEndpoint, region: TEST_REGION, credentials: TEST_CREDENTIALS }),
            { marshallOptions: { removeUndefinedValues: true } },
          ),
          table: "sessions",
        }),
    );
    const ids = Array.from({ length: 50 }, (_, i) => `i${i}`);
    const session = makeSession({ images: ids.map((id) => makeImage(id)) });
    await writers[0].create(session);
    await Promise.all(
      ids.map(async (id, i) => {
        const w = writers[i % writers.length];
        for (const percent of [5, 30, 60, 92])
          await w.updateImage(session.sessionId, id, { status: "processing", percent });
        await w.updateImage(session.sessionId, id, {
          status: i % 7 === 0 ? "failed" : "done",
          percent: 100,
          attempts: 1,
        });
      }),
    );
    const final = await writers[0].get(session.sessionId);
    expect(final?.status).toBe("partial");
    expect(final?.version).toBeGreaterThanOrEqual(1 + 50 * 5);
    for (const [i, img] of final!.images.entries()) {
      expect(img).toMatchObject({ id: ids[i], status: i % 7 === 0 ? "failed" : "done", percent: 100, attempts: 1 });
    }
    for (const w of writers) (w as unknown as { client: DynamoDBDocumentClient }).client.destroy();
  });

  it("says plainly when a session cannot fit", async () => {
    const huge = makeSession({ command: "c".repeat(420_000) });
    const err = await store()
      .create(huge)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageEditError);
    expect((err as ImageEditError).code).toBe("STORAGE_FAILED");
    expect((err as ImageEditError).message).toContain("400 KB");
  });
});

describe("LambdaJobRunner", () => {
  const client = () => lambdaClient({ endpoint: invoke.endpoint, region: TEST_REGION, credentials: TEST_CREDENTIALS });

  it("invokes the processor asynchronously (InvocationType Event), once per job", async () => {
    const runner = new LambdaJobRunner({ client: client(), functionName: "imgedit-image-processor" });
    const jobs = Array.from({ length: 12 }, (_, i) => ({ sessionId: "s1", imageId: `i${i}`, userId: "u", attempt: 1 }));
    await runner.enqueue(jobs);
    await invoke.idle();
    const mine = invoke.invocations.filter((i) => (i.payload as any).job?.sessionId === "s1");
    expect(mine).toHaveLength(12);
    expect(new Set(mine.map((i) => i.type))).toEqual(new Set(["Event"]));
    expect(mine.map((i) => (i.payload as any).job.imageId).sort()).toEqual(jobs.map((j) => j.imageId).sort());
    expect(received).toHaveLength(12);
    expect(runner.depth()).toBe(0);
  });

  it("fails with a retryable STORAGE_FAILED naming the images it could not queue", async () => {
    const runner = new LambdaJobRunner({ client: client(), functionName: "no-such-function" });
    const err = await runner
      .enqueue([{ sessionId: "s2", imageId: "a", userId: "u", attempt: 1 }])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageEditError);
    expect((err as ImageEditError).code).toBe("STORAGE_FAILED");
    expect((err as ImageEditError).retryable).toBe(true);
    expect((err as ImageEditError).message).toContain("a:");
  });

  it("refuses jobs once stopped", async () => {
    const runner = new LambdaJobRunner({ client: client(), functionName: "imgedit-image-processor" });
    await runner.stop();
    await expect(runner.enqueue([{ sessionId: "s3", imageId: "a", userId: "u", attempt: 1 }])).rejects.toThrow(
      /stopped/,
    );
  });
});

describe("EmfMetrics", () => {
  const UNITS = new Set([
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Count",
    "Percent",
    "None",
  ]);

  /** The embedded metric format specification's rules, checked on one log line. */
  function assertValidEmf(line: string): Record<string, any> {
    expect(line.endsWith("\n")).toBe(true);
    expect(line.trim().includes("\n")).toBe(false);
    const doc = JSON.parse(line);
    expect(Number.isInteger(doc._aws.Timestamp)).toBe(true);
    expect(Array.isArray(doc._aws.CloudWatchMetrics)).toBe(true);
    for (const directive of doc._aws.CloudWatchMetrics) {
      expect(typeof directive.Namespace).toBe("string");
      expect(directive.Namespace.length).toBeGreaterThan(0);
      for (const set of directive.Dimensions) {
        expect(set.length).toBeLessThanOrEqual(30);
        for (const dim of set) expect(typeof doc[dim]).toBe("string");
      }
      expect(directive.Metrics.length).toBeGreaterThan(0);
      for (const m of directive.Metrics) {
        expect(typeof doc[m.Name]).toBe("number");
        expect(UNITS.has(m.Unit)).toBe(true);
      }
    }
    return doc;
  }

  it("writes one valid EMF document per data point, labels as dimensions", () => {
    const lines: string[] = [];
    const m = new EmfMetrics({
      dimensions: { service: "imgedit", function: "processor" },
      write: (l) => lines.push(l),
      now: () => 1_700_000_000_123,
    });
    m.increment("jobs_total", { outcome: "done" });
    m.increment("bytes_out_total", {}, 4096);
    m.observe("job_duration_seconds", 1.25, { outcome: "failed", attempt: 2 });
    m.gauge("max_memory_used_bytes", 123456789);
    expect(lines).toHaveLength(4);
    const docs = lines.map(assertValidEmf);
    expect(docs[0]).toMatchObject({ jobs_total: 1, outcome: "done", service: "imgedit", function: "processor" });
    expect(docs[0]._aws).toEqual({
      Timestamp: 1_700_000_000_123,
      CloudWatchMetrics: [
        {
          Namespace: "imgedit",
          Dimensions: [["service", "function", "outcome"]],
          Metrics: [{ Name: "jobs_total", Unit: "Count" }],
        },
      ],
    });
    expect(docs[1].bytes_out_total).toBe(4096);
    // Labels outside the allow-list stay on the line (Logs Insights) without becoming dimensions.
    expect(docs[2]).toMatchObject({ job_duration_seconds: 1.25, attempt: "2", outcome: "failed" });
    expect(docs[2]._aws.CloudWatchMetrics[0].Dimensions).toEqual([["service", "function", "outcome"]]);
    expect(docs[2]._aws.CloudWatchMetrics[0].Metrics[0].Unit).toBe("Seconds");
    expect(docs[3]._aws.CloudWatchMetrics[0].Metrics[0]).toEqual({ Name: "max_memory_used_bytes", Unit: "Bytes" });
  });

  it("keeps high-cardinality labels out of the dimensions unless allowed", () => {
    const lines: string[] = [];
    new EmfMetrics({ write: (l) => lines.push(l) }).increment("http_requests_total", { route: "/x/:id", status: 200 });
    new EmfMetrics({ write: (l) => lines.push(l), labelDimensions: ["route"] }).increment("http_requests_total", {
      route: "/x/:id",
      status: 200,
    });
    const [plain, routed] = lines.map(assertValidEmf);
    expect(plain._aws.CloudWatchMetrics[0].Dimensions).toEqual([["service"]]);
    expect(plain).toMatchObject({ route: "/x/:id", status: "200" });
    expect(routed._aws.CloudWatchMetrics[0].Dimensions).toEqual([["service", "route"]]);
  });

  it("drops non-finite values and never lets a label overwrite the metric", () => {
    const lines: string[] = [];
    const m = new EmfMetrics({ write: (l) => lines.push(l) });
    m.observe("x_seconds", Number.NaN);
    m.gauge("queue_depth", Number.POSITIVE_INFINITY);
    m.gauge("queue_depth", 3, { queue_depth: "oops", _aws: "bad" });
    expect(lines).toHaveLength(1);
    const doc = assertValidEmf(lines[0]);
    expect(doc.queue_depth).toBe(3);
    expect(doc._aws.CloudWatchMetrics[0].Dimensions).toEqual([["service"]]);
  });

  it("derives units from metric names", () => {
    expect(unitFor("a_total", "counter")).toBe("Count");
    expect(unitFor("a_seconds", "histogram")).toBe("Seconds");
    expect(unitFor("a_ms", "histogram")).toBe("Milliseconds");
    expect(unitFor("a_bytes", "gauge")).toBe("Bytes");
    expect(unitFor("queue_depth", "gauge")).toBe("None");
  });
});
