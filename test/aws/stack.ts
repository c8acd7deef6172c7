// The whole AWS path on loopback, for tests that drive both handlers: dynalite and s3rver, the
// processor behind a loopback Invoke API, the API as a streaming handler, and an image server
// whose routes the test gives. Real sharp, real SDK clients, no mocks.
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { EmfMetrics } from "../../src/adapters/aws/emf-metrics.js";
import { loadConfig } from "../../src/config.js";
import { createAuth } from "../../src/http/auth.js";
import { buildApiApp } from "../../src/lambda/api-app.js";
import { buildLambdaDeps, type LambdaDeps } from "../../src/lambda/deps.js";
import { makeFailureHandler } from "../../src/lambda/failure.js";
import { type LambdaContextLike, makeProcessorHandler } from "../../src/lambda/processor.js";
import { streamingHandler } from "../../src/lambda/stream.js";
import { type Logger, silentLogger } from "../../src/logger.js";
import type { Session } from "../../src/ports.js";
import { type InvokeServer, startInvokeServer, streamingRuntime } from "./lambda-runtime.js";
import { type LoopbackAws, startLoopbackAws, TEST_CREDENTIALS } from "./servers.js";

export const TABLE = "image-edit-sessions";
export const BUCKET = "generated-images-bucket";
export const PROCESSOR = "imgedit-image-processor";
const SECRET = "test-secret-0123456789abcdef0123456789abcdef";

export interface AwsStack {
  aws: LoopbackAws;
  invoke: InvokeServer;
  sourceBase: string;
  api: ReturnType<typeof streamingHandler>;
  apiDeps: LambdaDeps;
  processorDeps: LambdaDeps;
  processor: ReturnType<typeof makeProcessorHandler>;
  failure: ReturnType<typeof makeFailureHandler>;
  token(user: string): Promise<string>;
  close(): Promise<void>;
}

type LambdaFunction = (event: unknown, context: LambdaContextLike) => Promise<unknown>;

export interface AwsStackOptions {
  /** The image server's routes, or the base URL of one the test runs itself (and closes). */
  source: RequestListener | { base: string };
  /** Extra environment for both functions. */
  env?: Record<string, string>;
  pollMs?: number;
  /** The processor's (and failure recorder's) log and metric lines; dropped by default. */
  processorLogger?: Logger;
  processorMetrics?: EmfMetrics;
  /** What the Invoke API runs, by function name; by default the processor, as PROCESSOR. */
  functions?: (stack: Pick<AwsStack, "processorDeps" | "processor" | "failure">) => Record<string, LambdaFunction>;
}

export async function startAwsStack(opts: AwsStackOptions): Promise<AwsStack> {
  let source: Server | undefined;
  let sourceBase: string;
  if (typeof opts.source === "function") {
    const server = createServer(opts.source);
    source = server;
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    sourceBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  } else sourceBase = opts.source.base;
  const aws = await startLoopbackAws({ table: TABLE, bucket: BUCKET });
  const env = (extra: Record<string, string>) => ({
    ...aws.env,
    JWT_SECRET: SECRET,
    LOCAL_SIGN_IN: "false",
    LOG_LEVEL: "silent",
    FETCH_ALLOW_HOSTS: new URL(sourceBase).host,
    ...opts.env,
    ...extra,
  });
  const quietMetrics = () => new EmfMetrics({ write: () => {} });
  const processorDeps = buildLambdaDeps(loadConfig(env({})), {
    functionLabel: "processor",
    credentials: TEST_CREDENTIALS,
    logger: opts.processorLogger ?? silentLogger(),
    metrics: opts.processorMetrics ?? quietMetrics(),
  });
  const processor = makeProcessorHandler(() => processorDeps);
  const failure = makeFailureHandler(() => processorDeps);
  const invoke = await startInvokeServer(
    opts.functions?.({ processorDeps, processor, failure }) ?? { [PROCESSOR]: (event, ctx) => processor(event, ctx) },
  );
  const apiDeps = buildLambdaDeps(
    loadConfig(env({ LAMBDA_ENDPOINT: invoke.endpoint, IMAGE_PROCESSOR_FUNCTION_ARN: PROCESSOR })),
    { functionLabel: "api", credentials: TEST_CREDENTIALS, logger: silentLogger(), metrics: quietMetrics() },
  );
  const api = streamingHandler(
    buildApiApp(apiDeps, { pollMs: opts.pollMs ?? 100, sseHeartbeatMs: 500 }),
    streamingRuntime,
  );
  const minter = createAuth({ config: apiDeps.config, secret: new TextEncoder().encode(SECRET) });
  return {
    aws,
    invoke,
    sourceBase,
    api,
    apiDeps,
    processorDeps,
    processor,
    failure,
    token: (user) => minter.mint(user, 3600),
    async close() {
      await invoke.idle();
      await invoke.close();
      await aws.close();
      source?.closeAllConnections();
      await new Promise<void>((r) => (source ? source.close(() => r()) : r()));
    },
  };
}

/** An image server's answer: 200 with [content type, body], or "hang" (never answers). */
export type SourceRoute = readonly [contentType: string, body: Buffer | string] | "hang";

/** Image-server routes by path; any other path gets `otherwise` (or 404). */
export function imageRoutes(routes: Record<string, SourceRoute>, otherwise: SourceRoute | 404 = 404): RequestListener {
  return (req, res) => {
    const route = Object.hasOwn(routes, req.url ?? "") ? routes[req.url ?? ""] : otherwise;
    if (route === 404) res.writeHead(404).end();
    else if (route !== "hang") {
      res.writeHead(200, { "content-type": route[0] });
      res.end(route[1]);
    }
    // "hang": only the fetcher's or the processor's own deadline ends the image
  };
}

/** A stored session (alice's unless `extra` says) of one queued image, as the API would create it. */
export function queuedSession(
  plan: Session["plan"],
  image: { id: string; name: string; sourceUrl: string },
  extra: Partial<Session> = {},
): Session {
  const now = Date.now();
  return {
    sessionId: globalThis.crypto.randomUUID(),
    userId: "alice",
    createdAt: now,
    updatedAt: now,
    status: "queued",
    plan,
    images: [{ ...image, status: "queued", percent: 0, attempts: 0, version: 1 }],
    ttl: Math.floor(now / 1000) + 3600,
    version: 1,
    ...extra,
  };
}

/** Server-Sent Events parsed from a response body. */
// biome-ignore lint/suspicious/noExplicitAny: event payloads are whatever the test reads from them
export type SseEvent = { event: string; id: number | undefined; data: any };
export function parseSse(text: string): SseEvent[] {
  return text
    .split("\n\n")
    .map((block) => {
      const lines = block.split("\n");
      const event = lines.find((l) => l.startsWith("event: "))?.slice(7);
      const id = lines.find((l) => l.startsWith("id: "))?.slice(4);
      const data = lines
        .filter((l) => l.startsWith("data: "))
        .map((l) => l.slice(6))
        .join("\n");
      return event ? { event, id: id ? Number(id) : undefined, data: data ? JSON.parse(data) : undefined } : undefined;
    })
    .filter((e): e is SseEvent => e !== undefined);
}
