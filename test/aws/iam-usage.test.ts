// Every AWS call each function's code really makes, against what its role in the synthesised
// stack allows. A call the role does not allow is an AccessDenied in production that no loopback
// test sees (dynalite and s3rver check no permissions): a feature that works here and fails on
// AWS. Each function talks to dynalite and s3rver through its own recording proxy, so every
// request is attributed to the function (and so the role) that made it; requests are mapped to
// IAM actions and resources as AWS authorises them.
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImgeditStack } from "../../infra/stack.js";
import { EmfMetrics } from "../../src/adapters/aws/emf-metrics.js";
import { loadConfig } from "../../src/config.js";
import { createAuth } from "../../src/http/auth.js";
import { buildApiApp } from "../../src/lambda/api-app.js";
import { buildLambdaDeps, type LambdaDeps } from "../../src/lambda/deps.js";
import { makeFailureHandler } from "../../src/lambda/failure.js";
import { makeProcessorHandler } from "../../src/lambda/processor.js";
import { streamingHandler } from "../../src/lambda/stream.js";
import { silentLogger } from "../../src/logger.js";
import {
  type InvokeServer,
  invokeStreaming,
  lambdaContext,
  postJsonEvent,
  retriesExhaustedRecord,
  startInvokeServer,
  streamingRuntime,
  urlEvent,
} from "./lambda-runtime.js";
import { type LoopbackAws, startLoopbackAws, TEST_CREDENTIALS } from "./servers.js";
import { parseSse, queuedSession } from "./stack.js";

// biome-ignore lint/suspicious/noExplicitAny: synthesised templates are read loosely
type Json = Record<string, any>;
type Fn = "api" | "processor" | "recorder";
/**
 * An IAM action on a kind of resource: the bucket, its objects, the users' uploads (objects under
 * uploads/), the table, its index, the processor.
 */
type Use = `${string} on ${"bucket" | "object" | "upload" | "table" | "index" | "processor"}`;

const TABLE = "image-edit-sessions";
const BUCKET = "generated-images-bucket";
const SECRET = "iam-usage-secret-0123456789abcdef0123456789";
const used: Record<Fn, Set<Use>> = { api: new Set(), processor: new Set(), recorder: new Set() };

/** The IAM action(s) an S3 REST request (path-style) needs, as S3 authorises it. */
function s3Uses(method: string, url: URL, headers: Record<string, unknown>): Use[] {
  const [, bucket, ...rest] = url.pathname.split("/");
  const key = rest.join("/");
  const q = url.searchParams;
  const object = key.startsWith("uploads/") ? "upload" : "object";
  if (!bucket) return [`s3:ListAllMyBuckets on bucket`];
  if (!key) {
    if (method === "POST" && q.has("delete")) return ["s3:DeleteObject on object"]; // DeleteObjects
    if (method === "GET" || method === "HEAD") return ["s3:ListBucket on bucket"];
    return [`s3:${method}Bucket on bucket`];
  }
  if (method === "GET" || method === "HEAD") return [`s3:GetObject on ${object}`];
  if (method === "DELETE")
    return q.has("uploadId") ? [`s3:AbortMultipartUpload on ${object}`] : [`s3:DeleteObject on ${object}`];
  // (a copy's source is another key: counted as any object)
  if (method === "PUT" && headers["x-amz-copy-source"]) return ["s3:GetObject on object", `s3:PutObject on ${object}`];
  if (method === "PUT" || method === "POST") return [`s3:PutObject on ${object}`]; // incl. multipart parts
  return [`s3:${method}Object on ${object}`];
}

function dynamoUses(headers: Record<string, unknown>, body: string): Use[] {
  const op = String(headers["x-amz-target"] ?? "").split(".")[1];
  const input = JSON.parse(body || "{}") as { IndexName?: string };
  return [`dynamodb:${op} on ${input.IndexName ? "index" : "table"}`];
}

/** A transparent HTTP proxy to `target` that records what each request needs. */
async function recordingProxy(
  target: string,
  record: (method: string, url: URL, headers: Record<string, unknown>, body: string) => void,
): Promise<{ endpoint: string; server: Server }> {
  const to = new URL(target);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      record(req.method ?? "GET", new URL(req.url ?? "/", target), req.headers, body.toString("utf8"));
      const out = request(
        { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      out.on("error", () => res.destroy());
      out.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** What each function's role allows, from the synthesised stack, as the same `Use`s. */
function granted(): Record<Fn, Set<Use>> {
  const t = Template.fromStack(new ImgeditStack(new App(), "IamStack", { code: "placeholder" })).toJSON();
  const resources = t.Resources as Record<string, Json>;
  const idOf = (type: string, prefix: string) =>
    Object.keys(resources).find((id) => resources[id].Type === type && id.startsWith(prefix))!;
  const bucket = idOf("AWS::S3::Bucket", "GeneratedImagesBucket");
  const table = idOf("AWS::DynamoDB::Table", "ImageEditSessionsTable");
  const alias = idOf("AWS::Lambda::Alias", "ImageProcessorProduction");
  const kindOf = (r: unknown): string => {
    const text = JSON.stringify(r);
    if (text === JSON.stringify({ "Fn::GetAtt": [bucket, "Arn"] })) return "bucket";
    if (text === JSON.stringify({ "Fn::Join": ["", [{ "Fn::GetAtt": [bucket, "Arn"] }, "/*"]] })) return "object";
    if (text === JSON.stringify({ "Fn::Join": ["", [{ "Fn::GetAtt": [bucket, "Arn"] }, "/uploads/*"]] }))
      return "upload";
    if (text === JSON.stringify({ "Fn::GetAtt": [table, "Arn"] })) return "table";
    if (text.includes(table) && text.includes("/index/")) return "index";
    if (text === JSON.stringify({ Ref: alias })) return "processor";
    return `other ${text}`;
  };
  const roles: Record<Fn, string> = {
    api: idOf("AWS::IAM::Role", "ApiRole"),
    processor: idOf("AWS::IAM::Role", "ImageProcessorRole"),
    recorder: idOf("AWS::IAM::Role", "FailureRecorderRole"),
  };
  const out = {} as Record<Fn, Set<Use>>;
  for (const [fn, role] of Object.entries(roles) as [Fn, string][]) {
    out[fn] = new Set();
    for (const p of Object.values(resources).filter((r) => r.Type === "AWS::IAM::Policy")) {
      if (!p.Properties.Roles.some((r: Json) => r.Ref === role)) continue;
      for (const s of p.Properties.PolicyDocument.Statement as Json[]) {
        if (s.Effect !== "Allow") continue;
        for (const a of [s.Action].flat() as string[])
          for (const r of [s.Resource].flat()) out[fn].add(`${a} on ${kindOf(r)}` as Use);
      }
    }
  }
  return out;
}

let aws: LoopbackAws;
let invoke: InvokeServer;
let source: Server;
let sourceBase: string;
const proxies: Server[] = [];
let api: ReturnType<typeof streamingHandler>;
let processorDeps: LambdaDeps;
let recorderDeps: LambdaDeps;
/** For the test's own set-up writes: straight to the servers, recorded for no function. */
let setup: LambdaDeps;
let token: string;
let photo: Buffer;

/** A function's composition, its SDK clients pointed at its own recording proxies. */
async function depsFor(fn: Fn, extra: Record<string, string>): Promise<LambdaDeps> {
  const dyn = await recordingProxy(aws.dynamoEndpoint, (_m, _u, h, body) => {
    for (const u of dynamoUses(h, body)) used[fn].add(u);
  });
  const s3 = await recordingProxy(aws.s3Endpoint, (m, u, h) => {
    for (const x of s3Uses(m, u, h)) used[fn].add(x);
  });
  proxies.push(dyn.server, s3.server);
  const env = {
    ...aws.env,
    DYNAMODB_ENDPOINT: dyn.endpoint,
    S3_ENDPOINT: s3.endpoint,
    JWT_SECRET: SECRET,
    LOCAL_SIGN_IN: "false",
    LOG_LEVEL: "silent",
    FETCH_ALLOW_HOSTS: new URL(sourceBase).host,
    ...extra,
  };
  return buildLambdaDeps(loadConfig(env), {
    functionLabel: fn === "api" ? "api" : "processor",
    credentials: TEST_CREDENTIALS,
    logger: silentLogger(),
    metrics: new EmfMetrics({ write: () => {} }),
  });
}

beforeAll(async () => {
  photo = await sharp({ create: { width: 320, height: 240, channels: 3, background: "#2a7fbf" } })
    .jpeg()
    .toBuffer();
  source = createServer((req, res) => {
    if (req.url === "/photo.jpg") res.writeHead(200, { "content-type": "image/jpeg" }).end(photo);
    else if (req.url !== "/hang.jpg") res.writeHead(404).end(); // "/hang.jpg" never answers
  });
  await new Promise<void>((r) => source.listen(0, "127.0.0.1", r));
  sourceBase = `http://127.0.0.1:${(source.address() as AddressInfo).port}`;
  aws = await startLoopbackAws({ table: TABLE, bucket: BUCKET });
  setup = buildLambdaDeps(loadConfig({ ...aws.env, LOG_LEVEL: "silent" }), {
    functionLabel: "processor",
    credentials: TEST_CREDENTIALS,
    logger: silentLogger(),
    metrics: new EmfMetrics({ write: () => {} }),
  });
  processorDeps = await depsFor("processor", {});
  recorderDeps = await depsFor("recorder", {});
  const processor = makeProcessorHandler(() => processorDeps);
  invoke = await startInvokeServer({ "imgedit-image-processor": (e, c) => processor(e, c) });
  used.api.add("lambda:InvokeFunction on processor"); // the only thing the invoke server serves
  const apiDeps = await depsFor("api", {
    LAMBDA_ENDPOINT: invoke.endpoint,
    IMAGE_PROCESSOR_FUNCTION_ARN: "imgedit-image-processor",
  });
  api = streamingHandler(buildApiApp(apiDeps, { pollMs: 50, sseHeartbeatMs: 500 }), streamingRuntime);
  token = await createAuth({ config: apiDeps.config, secret: new TextEncoder().encode(SECRET) }).mint("alice", 3600);
}, 60_000);

afterAll(async () => {
  await invoke?.idle();
  await invoke?.close();
  for (const p of proxies) await new Promise<void>((r) => p.close(() => r()));
  source?.closeAllConnections();
  await new Promise<void>((r) => (source ? source.close(() => r()) : r()));
  await aws?.close();
});

const bearer = () => ({ authorization: `Bearer ${token}` });

describe("each function's role allows every AWS call its code makes", () => {
  it("runs what users and Lambda do: upload, edits (one failing), progress, listing, downloads, delete, deadlines, give-ups", async () => {
    // Upload, then an edit of it and of a URL (and of a URL that fails), with an Idempotency-Key.
    const up = await invokeStreaming(
      api,
      urlEvent("POST", "/uploads?name=mine.jpg", {
        headers: { ...bearer(), "content-type": "image/jpeg" },
        body: photo,
      }),
    );
    expect(up.status).toBe(201);
    const edit = {
      images: [
        { id: "u", url: up.json().url },
        { id: "w", url: `${sourceBase}/photo.jpg`, name: "w.jpg" },
        { id: "x", url: `${sourceBase}/missing.jpg`, name: "x.jpg" },
      ],
      operation: { type: "command", command: "resize to 100px and convert to webp" },
    };
    const res = await invokeStreaming(api, postJsonEvent("/image-edit", token, edit, { "idempotency-key": "k-1" }));
    expect(res.status).toBe(202);
    const again = await invokeStreaming(api, postJsonEvent("/image-edit", token, edit, { "idempotency-key": "k-1" }));
    expect(again.json().sessionId).toBe(res.json().sessionId);
    const { sessionId, progressUrl } = res.json();
    const events = parseSse((await invokeStreaming(api, urlEvent("GET", progressUrl))).text);
    expect(events.at(-1)?.data).toMatchObject({ status: "partial", completed: 2, failed: 1 });
    // Results by presigned URL: signed with the API's role, so fetched as the API.
    for (const e of events.filter((e) => e.event === "image")) expect((await fetch(e.data.url)).status).toBe(200);
    expect((await invokeStreaming(api, urlEvent("GET", "/image-edit/sessions", { headers: bearer() }))).status).toBe(
      200,
    );
    const one = await invokeStreaming(api, urlEvent("GET", `/image-edit/sessions/${sessionId}`, { headers: bearer() }));
    expect(one.status).toBe(200);
    const del = await invokeStreaming(
      api,
      urlEvent("DELETE", `/image-edit/sessions/${sessionId}`, { headers: bearer() }),
    );
    expect(del.status).toBe(204);

    // The processor stopped at its deadline, with a file an earlier killed run left behind.
    const late = queuedSession(
      [{ op: "resize", width: 50 }] as never,
      { id: "a", name: "a.jpg", sourceUrl: `${sourceBase}/hang.jpg` },
      { userId: "alice" },
    );
    await setup.sessions.create(late);
    await setup.objects.put(`alice/${late.sessionId}/a.webp`, photo, "image/webp");
    // 16 s left of the function's time: 1 s of budget, which the hanging fetch outlasts.
    const stopped = await makeProcessorHandler(() => processorDeps)(
      { job: { sessionId: late.sessionId, imageId: "a", userId: "alice", attempt: 1 } },
      { getRemainingTimeInMillis: () => 16_000 },
    );
    expect(stopped).toEqual({ ok: true });
    expect((await setup.sessions.get(late.sessionId))?.images[0].error?.code).toBe("PROCESSING_TIMEOUT");

    // Lambda gave up on a job whose killed run had stored a result: the recorder fails the image.
    const dead = queuedSession(
      [{ op: "resize", width: 50 }] as never,
      { id: "b", name: "b.jpg", sourceUrl: `${sourceBase}/photo.jpg` },
      { userId: "alice" },
    );
    await setup.sessions.create(dead);
    await setup.objects.put(`alice/${dead.sessionId}/b.webp`, photo, "image/webp");
    const job = { job: { sessionId: dead.sessionId, imageId: "b", userId: "alice", attempt: 1 } };
    const recorded = await makeFailureHandler(() => recorderDeps)(
      retriesExhaustedRecord(job, { errorType: "Runtime.ExitError", errorMessage: "signal: killed" }),
      lambdaContext(),
    );
    expect(recorded).toEqual({ ok: true, recorded: true });
    await invoke.idle();

    const allowed = granted();
    for (const fn of ["api", "processor", "recorder"] as Fn[]) {
      expect(used[fn].size, fn).toBeGreaterThan(0);
      // a grant on every object covers the uploads too
      const covers = (u: Use) => allowed[fn].has(u) || allowed[fn].has(u.replace(/ on upload$/, " on object") as Use);
      const missing = [...used[fn]].filter((u) => !covers(u)).sort();
      expect(missing, `${fn} makes calls its role does not allow`).toEqual([]);
    }
    // ... and the API and the failure recorder may do nothing more, nor on more objects than they
    // touch: a grant on every object is used only by a call outside uploads/. (The processor keeps
    // the guide's own grants, PutItem and Query on the table and its index, which it does not use.)
    for (const fn of ["api", "recorder"] as Fn[]) {
      const unused = [...allowed[fn]].filter((u) => !used[fn].has(u)).sort();
      expect(unused, `${fn}'s role allows calls its code never makes`).toEqual([]);
    }
  }, 60_000);
});
