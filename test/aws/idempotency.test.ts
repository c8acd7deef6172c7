// Idempotency-Key on DynamoDB: a marker item per (user, key) makes creates exclusive and replay
// lookups strongly consistent (the user index is eventually consistent, so it cannot do either).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  type PutCommandInput,
  ScanCommand,
} from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dynamoDocumentClient } from "../../src/adapters/aws/clients.js";
import { EmfMetrics } from "../../src/adapters/aws/emf-metrics.js";
import {
  DynamoSessionStore,
  type DynamoSessionStoreOptions,
  idempotencyMarkerId,
  MARKER_PREFIX,
} from "../../src/adapters/aws/session-store.js";
import { loadConfig } from "../../src/config.js";
import { ImageEditError } from "../../src/core/errors.js";
import { createAuth } from "../../src/http/auth.js";
import { buildApiApp } from "../../src/lambda/api-app.js";
import { buildLambdaDeps } from "../../src/lambda/deps.js";
import { streamingHandler } from "../../src/lambda/stream.js";
import { silentLogger } from "../../src/logger.js";
import { makeSession } from "../contract/session-store.contract.js";
import { invokeStreaming, postJsonEvent, streamingRuntime } from "./lambda-runtime.js";
import { createSessionsTable, type LoopbackAws, startLoopbackAws, TEST_CREDENTIALS, TEST_REGION } from "./servers.js";

const TABLE = "sessions";
let aws: LoopbackAws;
let raw: DynamoDBDocumentClient;
const clients: DynamoDBDocumentClient[] = [];

beforeAll(async () => {
  aws = await startLoopbackAws();
  await createSessionsTable(aws.dynamoEndpoint, TABLE);
  raw = client();
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await aws?.close();
});

function client(): DynamoDBDocumentClient {
  const c = dynamoDocumentClient({ endpoint: aws.dynamoEndpoint, region: TEST_REGION, credentials: TEST_CREDENTIALS });
  clients.push(c);
  return c;
}

type Send = (cmd: object) => Promise<unknown>;

/** A store with its own client (as another Lambda container has); `commands` records what it sent. */
function store(opts: Partial<DynamoSessionStoreOptions> & { delayPut?: (input: PutCommandInput) => number } = {}) {
  const c = client();
  const commands: string[] = [];
  const send = c.send.bind(c) as Send;
  (c as unknown as { send: Send }).send = async (cmd) => {
    commands.push(cmd.constructor.name);
    const delay = cmd instanceof PutCommand ? (opts.delayPut?.(cmd.input) ?? 0) : 0;
    if (delay) await new Promise((r) => setTimeout(r, delay));
    return send(cmd);
  };
  return { s: new DynamoSessionStore({ client: c, table: TABLE, ...opts }), commands };
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(
    () => undefined,
    (e: unknown) => (e instanceof ImageEditError ? e.code : `not an ImageEditError: ${String(e)}`),
  );
}

async function markers(): Promise<Record<string, unknown>[]> {
  const out = await raw.send(new ScanCommand({ TableName: TABLE }));
  return (out.Items ?? []).filter((i) => String(i.sessionId).startsWith(MARKER_PREFIX));
}

const isSessionPut = (input: PutCommandInput) => !String(input.Item?.sessionId).startsWith(MARKER_PREFIX);

describe("DynamoSessionStore: Idempotency-Key", () => {
  it("lets exactly one of many concurrent creates with one (user, key) through; the rest get CONFLICT", async () => {
    const userId = `u-race-${Date.now()}`;
    const stores = Array.from({ length: 8 }, () => store().s);
    const sessions = stores.map(() => makeSession({ userId, idempotencyKey: "k-race" }));
    const codes = await Promise.all(stores.map((s, i) => codeOf(s.create(sessions[i]))));
    expect(codes.filter((c) => c === undefined)).toHaveLength(1);
    expect(codes.filter((c) => c === "CONFLICT")).toHaveLength(codes.length - 1);
    const winner = sessions[codes.indexOf(undefined)];
    expect((await stores[3].findByIdempotencyKey(userId, "k-race"))?.sessionId).toBe(winner.sessionId);
    const listed = await stores[0].listByUser(userId, { limit: 100 });
    expect(listed.items.map((s) => s.sessionId)).toEqual([winner.sessionId]);
  });

  it("finds the session right after create with consistent reads of the marker and the session only", async () => {
    const { s, commands } = store();
    const session = makeSession({ idempotencyKey: "k-fresh" });
    await s.create(session);
    commands.length = 0;
    const found = await s.findByIdempotencyKey(session.userId, "k-fresh");
    expect(found).toEqual(session);
    expect(commands).toEqual(["GetCommand", "GetCommand"]); // no (eventually consistent) index query
    const marker = await raw.send(
      new GetCommand({ TableName: TABLE, Key: { sessionId: idempotencyMarkerId(session.userId, "k-fresh") } }),
    );
    expect(marker.Item).toMatchObject({ target: session.sessionId, ttl: session.ttl, committed: true });
    expect(marker.Item).not.toHaveProperty("userId");
    expect(marker.Item).not.toHaveProperty("createdAt");
  });

  it("keeps keys per user: another user's session with the same key is independent", async () => {
    const { s } = store();
    const a = makeSession({ idempotencyKey: "shared-key" });
    const b = makeSession({ idempotencyKey: "shared-key" });
    await s.create(a);
    await s.create(b);
    expect((await s.findByIdempotencyKey(a.userId, "shared-key"))?.sessionId).toBe(a.sessionId);
    expect((await s.findByIdempotencyKey(b.userId, "shared-key"))?.sessionId).toBe(b.sessionId);
    expect(await s.findByIdempotencyKey(a.userId, "other-key")).toBeUndefined();
  });

  it("never shows marker items in listings, sweeps or recovery, nor as sessions", async () => {
    const { s } = store();
    const userId = `u-list-${Date.now()}`;
    const keyed = makeSession({ userId, idempotencyKey: "k-list" });
    const expired = makeSession({ userId, idempotencyKey: "k-old", ttl: Math.floor(Date.now() / 1000) - 60 });
    await s.create(makeSession({ userId }));
    await s.create(keyed);
    await s.create(expired);
    expect((await markers()).length).toBeGreaterThanOrEqual(2);
    const ids = (page: { sessionId: string }[]) => page.map((x) => x.sessionId);
    const listed = ids((await s.listByUser(userId, { limit: 100 })).items);
    expect(listed).toHaveLength(2);
    for (const list of [
      listed,
      ids(await s.listExpired(Math.floor(Date.now() / 1000), 1000)),
      ids(await s.listUnfinished(1000)),
    ]) {
      expect(list.filter((id) => id.startsWith(MARKER_PREFIX))).toEqual([]);
    }
    expect(ids(await s.listExpired(Math.floor(Date.now() / 1000), 1000))).toContain(expired.sessionId);
    const markerId = idempotencyMarkerId(userId, "k-list");
    expect(await s.get(markerId)).toBeUndefined();
    expect(await codeOf(s.updateImage(markerId, "a", { percent: 5 }))).toBe("NOT_FOUND");
  });

  it("frees the key when the session is deleted: no replay, and a retry with the key starts afresh", async () => {
    const { s } = store();
    const first = makeSession({ idempotencyKey: "k-del" });
    await s.create(first);
    await s.delete(first.sessionId);
    const markerId = idempotencyMarkerId(first.userId, "k-del");
    expect((await markers()).map((m) => m.sessionId)).not.toContain(markerId);
    expect(await s.findByIdempotencyKey(first.userId, "k-del")).toBeUndefined();
    const second = makeSession({ userId: first.userId, idempotencyKey: "k-del" });
    await s.create(second);
    expect((await s.findByIdempotencyKey(first.userId, "k-del"))?.sessionId).toBe(second.sessionId);
  });

  it("treats a marker whose session is gone (deleted outside the store) as no replay, and lets the key be reused", async () => {
    const { s } = store();
    const first = makeSession({ idempotencyKey: "k-gone" });
    await s.create(first);
    await raw.send(new DeleteCommand({ TableName: TABLE, Key: { sessionId: first.sessionId } }));
    expect(await s.findByIdempotencyKey(first.userId, "k-gone")).toBeUndefined();
    const again = makeSession({ userId: first.userId, idempotencyKey: "k-gone" });
    await s.create(again);
    expect((await s.findByIdempotencyKey(first.userId, "k-gone"))?.sessionId).toBe(again.sessionId);
  });

  it("replays a create still in flight: the losing request waits for the winner's session", async () => {
    // The winner's session write is slow, so the loser finds the claim before the session exists.
    const slow = store({ delayPut: (input) => (isSessionPut(input) ? 300 : 0) }).s;
    const fast = store().s;
    const userId = `u-flight-${Date.now()}`;
    const a = makeSession({ userId, idempotencyKey: "k-flight" });
    const b = makeSession({ userId, idempotencyKey: "k-flight" });
    const created = slow.create(a);
    await new Promise((r) => setTimeout(r, 100));
    expect(await codeOf(fast.create(b))).toBe("CONFLICT");
    expect((await fast.findByIdempotencyKey(userId, "k-flight"))?.sessionId).toBe(a.sessionId);
    await created;
    expect(await fast.get(b.sessionId)).toBeUndefined();
  });

  it("takes over a claim whose writer died, and a writer that comes back late loses cleanly", async () => {
    // `late` claims, then stalls past the grace before writing its session.
    const late = store({ delayPut: (input) => (isSessionPut(input) ? 400 : 0) }).s;
    const other = store({ claimGraceMs: 100, replayWaitMs: 50 }).s;
    const userId = `u-stale-${Date.now()}`;
    const a = makeSession({ userId, idempotencyKey: "k-stale" });
    const b = makeSession({ userId, idempotencyKey: "k-stale" });
    const lateCreate = codeOf(late.create(a));
    await new Promise((r) => setTimeout(r, 30));
    // Within the grace the claim counts as in flight.
    expect(await codeOf(other.create(makeSession({ userId, idempotencyKey: "k-stale" })))).toBe("CONFLICT");
    expect(await other.findByIdempotencyKey(userId, "k-stale")).toBeUndefined();
    await new Promise((r) => setTimeout(r, 150));
    await other.create(b);
    expect(await lateCreate).toBe("CONFLICT");
    expect(await other.get(a.sessionId)).toBeUndefined();
    expect((await other.findByIdempotencyKey(userId, "k-stale"))?.sessionId).toBe(b.sessionId);
    expect((await other.listByUser(userId, { limit: 10 })).items.map((s) => s.sessionId)).toEqual([b.sessionId]);
  });

  it("keeps a stored session whose claim was never committed (its writer died after queueing): the key replays it", async () => {
    // The commit comes after the jobs are queued; a writer that died there left jobs that may run.
    const first = store().s;
    const other = store({ claimGraceMs: 100, replayWaitMs: 50 }).s;
    const userId = `u-adopt-${Date.now()}`;
    const a = makeSession({ userId, idempotencyKey: "k-adopt" });
    const b = makeSession({ userId, idempotencyKey: "k-adopt" });
    await first.create({ ...a, enqueued: false });
    await new Promise((r) => setTimeout(r, 150));
    expect(await codeOf(other.create(b))).toBe("CONFLICT");
    const replay = await other.findByIdempotencyKey(userId, "k-adopt");
    expect(replay?.sessionId).toBe(a.sessionId);
    expect(replay?.enqueued).toBeUndefined();
    expect(await other.get(a.sessionId)).toBeDefined();
    expect(await other.get(b.sessionId)).toBeUndefined();
    await first.markEnqueued(a); // a writer that was only slow still commits
  });

  it("releases the claim when the session cannot be stored", async () => {
    const { s } = store();
    const session = makeSession({ idempotencyKey: "k-big", command: "x".repeat(420_000) });
    expect(await codeOf(s.create(session))).toBe("STORAGE_FAILED");
    expect((await markers()).map((m) => m.sessionId)).not.toContain(idempotencyMarkerId(session.userId, "k-big"));
    const ok = makeSession({ userId: session.userId, idempotencyKey: "k-big" });
    await s.create(ok);
    expect((await s.findByIdempotencyKey(session.userId, "k-big"))?.sessionId).toBe(ok.sessionId);
  });

  it("looks a key up by its marker alone: a session without one (written around the store) is no replay", async () => {
    // before, a key without a marker walked the user's whole history through the index, on every
    // first use of a key; every keyed session the store writes has its marker
    const { s } = store();
    const old = makeSession({ idempotencyKey: "k-unmarked" });
    await raw.send(new PutCommand({ TableName: TABLE, Item: old }));
    expect(await s.findByIdempotencyKey(old.userId, "k-unmarked")).toBeUndefined();
  });
});

/**
 * A loopback Invoke API whose answers wait on a gate: while it is shut, an API container's jobs
 * stay "being queued" (its session stored, the invocation not accepted); `open` answers the held
 * invocations and later ones: 202 (accepted) or 404 ResourceNotFoundException (not queued).
 */
async function gatedInvokeApi() {
  let answer: "accept" | "refuse" | undefined;
  const held: (() => void)[] = [];
  let arrived!: () => void;
  const firstArrived = new Promise<void>((r) => (arrived = r));
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      arrived();
      const reply = () => {
        if (answer === "accept") res.writeHead(202).end();
        else {
          res.writeHead(404, { "content-type": "application/json", "x-amzn-errortype": "ResourceNotFoundException" });
          res.end(JSON.stringify({ Type: "User", message: "Function not found" }));
        }
      };
      if (answer) reply();
      else held.push(reply);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    firstArrived,
    open(how: "accept" | "refuse") {
      answer = how;
      for (const reply of held.splice(0)) reply();
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe("Idempotency-Key while the first request's jobs are being queued (two API containers)", () => {
  const SECRET = "test-secret-0123456789abcdef0123456789abcdef";
  const body = {
    images: [{ id: "a", url: "https://images.example.com/a.jpg" }],
    operation: { type: "operations", operations: [{ op: "resize", width: 100 }] },
  };
  let stack: LoopbackAws;
  let bob: string;
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    stack = await startLoopbackAws({ table: "image-edit-sessions", bucket: "results" });
    bob = await createAuth({ config: loadConfig({}), secret: new TextEncoder().encode(SECRET) }).mint("bob", 3600);
  });
  afterAll(async () => {
    for (const c of closers) await c();
    await stack?.close();
  });

  /** One API function container (its own clients) whose job runner invokes through `endpoint`. */
  function container(endpoint: string) {
    const config = loadConfig({
      ...stack.env,
      JWT_SECRET: SECRET,
      LOCAL_SIGN_IN: "false",
      LOG_LEVEL: "silent",
      LAMBDA_ENDPOINT: endpoint,
      IMAGE_PROCESSOR_FUNCTION_ARN: "imgedit-image-processor",
    });
    const deps = buildLambdaDeps(config, {
      functionLabel: "api",
      credentials: TEST_CREDENTIALS,
      logger: silentLogger(),
      metrics: new EmfMetrics({ write: () => {} }),
    });
    const api = streamingHandler(buildApiApp(deps, { pollMs: 100 }), streamingRuntime);
    return {
      deps,
      post: (key: string) => invokeStreaming(api, postJsonEvent("/image-edit", bob, body, { "idempotency-key": key })),
    };
  }

  async function twoContainers() {
    const gate = await gatedInvokeApi();
    closers.push(gate.close);
    return { gate, a: container(gate.endpoint), b: container(gate.endpoint) };
  }

  const expectStillAccepting = (res: Awaited<ReturnType<ReturnType<typeof container>["post"]>>) => {
    expect(res.status).toBe(409);
    expect(res.headers["retry-after"]).toBe("1");
    expect(res.json().error).toMatchObject({
      code: "CONFLICT",
      field: "Idempotency-Key",
      details: { retryAfterSec: 1, reason: "in_progress" },
    });
    expect(res.json().error.message).toMatch(/the same request is still being accepted/);
  };

  it("answers a retry 409 with Retry-After, never the session a failed enqueue then deletes", async () => {
    const { gate, a, b } = await twoContainers();
    const first = a.post("k-gated-fail");
    await gate.firstArrived; // A stored the session and is invoking the processor
    // B, another container, cannot wait for A in process: before, it replayed A's session here.
    expectStillAccepting(await b.post("k-gated-fail"));
    gate.open("refuse");
    expect((await first).status).toBe(503);
    expect(await b.deps.sessions.findByIdempotencyKey("bob", "k-gated-fail")).toBeUndefined();
    // The client's retry starts afresh (the processor takes jobs again); then the key replays that one.
    gate.open("accept");
    const again = await b.post("k-gated-fail");
    expect(again.status).toBe(202);
    expect(again.headers["idempotent-replayed"]).toBeUndefined();
    const replay = await a.post("k-gated-fail");
    expect(replay.status).toBe(202);
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    expect(replay.json().sessionId).toBe(again.json().sessionId);
  }, 20_000);

  it("replays the session once its jobs are queued", async () => {
    const { gate, a, b } = await twoContainers();
    const first = a.post("k-gated-ok");
    await gate.firstArrived;
    expectStillAccepting(await b.post("k-gated-ok"));
    gate.open("accept");
    const created = await first;
    expect(created.status).toBe(202);
    const replay = await b.post("k-gated-ok");
    expect(replay.status).toBe(202);
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    expect(replay.json().sessionId).toBe(created.json().sessionId);
  }, 20_000);
});
