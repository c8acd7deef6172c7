// Rate limits on AWS are counted in DynamoDB (dynalite here), shared by the API function's
// containers: a user cannot get the limit once per warm container.
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dynamoDocumentClient } from "../../src/adapters/aws/clients.js";
import { EmfMetrics } from "../../src/adapters/aws/emf-metrics.js";
import { DynamoRateCounter, rateItemId } from "../../src/adapters/aws/rate-counter.js";
import { DynamoSessionStore } from "../../src/adapters/aws/session-store.js";
import { buildApiApp } from "../../src/lambda/api-app.js";
import { buildLambdaDeps } from "../../src/lambda/deps.js";
import { streamingHandler } from "../../src/lambda/stream.js";
import { silentLogger } from "../../src/logger.js";
import { invokeStreaming, postJsonEvent, streamingRuntime } from "./lambda-runtime.js";
import { TEST_CREDENTIALS, TEST_REGION } from "./servers.js";
import { type AwsStack, imageRoutes, startAwsStack, TABLE } from "./stack.js";

let stack: AwsStack;
let client: ReturnType<typeof dynamoDocumentClient>;

beforeAll(async () => {
  const photo = await sharp({ create: { width: 64, height: 48, channels: 3, background: "#c83" } })
    .jpeg()
    .toBuffer();
  stack = await startAwsStack({
    source: imageRoutes({ "/photo.jpg": ["image/jpeg", photo] }),
    env: { RATE_LIMIT_PER_MINUTE: "2" },
  });
  client = dynamoDocumentClient({
    endpoint: stack.aws.dynamoEndpoint,
    region: TEST_REGION,
    credentials: TEST_CREDENTIALS,
  });
});

afterAll(async () => stack?.close());

/** Two containers' counters on one table, with a clock the test moves. */
function containers(start: number) {
  const clock = { t: start, now: () => clock.t };
  const make = () => new DynamoRateCounter({ client, table: TABLE, clock });
  return { clock, a: make(), b: make() };
}

const MINUTE = 60_000;
let base = Date.UTC(2030, 0, 1, 12, 0, 0);
/** A fresh calendar minute for each test (the table is shared): 5 s into it. */
const nextMinute = () => {
  base += 10 * MINUTE;
  return base + 5_000;
};

describe("DynamoRateCounter", () => {
  it("shares one limit between containers and says how long to wait (to the end of the minute)", async () => {
    const { clock, a, b } = containers(nextMinute());
    expect(await a.take("edit:u1", 3)).toBe(0);
    expect(await b.take("edit:u1", 3)).toBe(0);
    expect(await a.take("edit:u1", 3)).toBe(0);
    expect(await b.take("edit:u1", 3)).toBe(55);
    clock.t += 20_000;
    expect(await a.take("edit:u1", 3)).toBe(35);
    // other keys (users, or uploads of the same user) count apart
    expect(await b.take("edit:u2", 3)).toBe(0);
    expect(await b.take("upload:u1", 3)).toBe(0);
    clock.t += 35_000; // the next minute
    expect(await b.take("edit:u1", 3)).toBe(0);
  });

  it("lets exactly the limit through a burst from two containers at once", async () => {
    const { a, b } = containers(nextMinute());
    const waits = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).take("edit:burst", 5)));
    expect(waits.filter((w) => w === 0)).toHaveLength(5);
    expect(waits.filter((w) => w > 0)).toHaveLength(15);
  });

  it("gives a refunded hit back, once, and only its own container's", async () => {
    const { a, b } = containers(nextMinute());
    expect(await a.take("edit:r", 1)).toBe(0);
    expect(await b.take("edit:r", 1)).toBeGreaterThan(0);
    await b.refund("edit:r"); // b took nothing: no-op
    expect(await b.take("edit:r", 1)).toBeGreaterThan(0);
    await a.refund("edit:r");
    await a.refund("edit:r"); // twice: the second has nothing to give back
    expect(await b.take("edit:r", 1)).toBe(0);
    expect(await a.take("edit:r", 1)).toBeGreaterThan(0);
  });

  it("keeps its items out of the sessions: not readable, listed or deletable as one, and expiring", async () => {
    const now = nextMinute();
    const { a } = containers(now);
    await a.take("edit:hidden", 5);
    const id = rateItemId("edit:hidden", now - 5_000);
    const store = new DynamoSessionStore({ client, table: TABLE, now: () => now });
    expect(await store.get(id)).toBeUndefined();
    await store.delete(id);
    const items = (await client.send(new ScanCommand({ TableName: TABLE }))).Items ?? [];
    const item = items.find((i) => i.sessionId === id);
    expect(item).toMatchObject({ hits: 1, ttl: (now - 5_000) / 1000 + 120 });
    expect(item?.userId).toBeUndefined();
    expect((await store.listUnfinished(100)).map((s) => s.sessionId)).not.toContain(id);
    expect((await store.listExpired(now / 1000 + 10_000, 100)).map((s) => s.sessionId)).not.toContain(id);
  });
});

describe("the API function's rate limit (RATE_LIMIT_PER_MINUTE=2)", () => {
  it("holds across two containers: the third edit of the minute is 429 in either", async () => {
    // a second warm container of the API function: its own deps and app, the same table
    const other = streamingHandler(
      buildApiApp(
        buildLambdaDeps(stack.apiDeps.config, {
          functionLabel: "api",
          credentials: TEST_CREDENTIALS,
          logger: silentLogger(),
          metrics: new EmfMetrics({ write: () => {} }),
        }),
        { pollMs: 100 },
      ),
      streamingRuntime,
    );
    const carol = await stack.token("carol");
    const edit = () =>
      postJsonEvent("/image-edit", carol, {
        images: [{ id: "a", url: `${stack.sourceBase}/photo.jpg`, name: "photo.jpg" }],
        operation: { type: "operations", operations: [{ op: "resize", width: 10 }] },
      });
    expect((await invokeStreaming(stack.api, edit())).status).toBe(202);
    expect((await invokeStreaming(other, edit())).status).toBe(202);
    for (const fn of [stack.api, other]) {
      const res = await invokeStreaming(fn, edit());
      expect(res.status).toBe(429);
      expect(res.json().error).toMatchObject({ code: "RATE_LIMITED", details: { reason: "rate" } });
      expect(Number(res.headers["retry-after"])).toBeGreaterThan(0);
    }
  });
});
