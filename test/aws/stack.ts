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
import { makeProcessorHandler } from "../../src/lambda/processor.js";
import { streamingHandler } from "../../src/lambda/stream.js";
import { silentLogger } from "../../src/logger.js";
import { type InvokeServer, startInvokeServer, streamingRuntime } from "./lambda-runtime.js";
import {
  createBucket,
  createSessionsTable,
  type LoopbackAws,
  startLoopbackAws,
  TEST_CREDENTIALS,
  TEST_REGION,
} from "./servers.js";

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

export interface AwsStackOptions {
  /** The image server's routes. */
  source: RequestListener;
  /** Extra environment for both functions. */
  env?: Record<string, string>;
  pollMs?: number;
}

export async function startAwsStack(opts: AwsStackOptions): Promise<AwsStack> {
  const source: Server = createServer(opts.source);
  await new Promise<void>((r) => source.listen(0, "127.0.0.1", r));
  const sourceBase = `http://127.0.0.1:${(source.address() as AddressInfo).port}`;
  const aws = await startLoopbackAws();
  await createSessionsTable(aws.dynamoEndpoint, TABLE);
  await createBucket(aws.s3Endpoint, BUCKET);
  const env = (extra: Record<string, string>) => ({
    S3_BUCKET: BUCKET,
    DYNAMODB_TABLE: TABLE,
    S3_ENDPOINT: aws.s3Endpoint,
    DYNAMODB_ENDPOINT: aws.dynamoEndpoint,
    AWS_REGION: TEST_REGION,
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
    logger: silentLogger(),
    metrics: quietMetrics(),
  });
  const processor = makeProcessorHandler(() => processorDeps);
  const failure = makeFailureHandler(() => processorDeps);
  const invoke = await startInvokeServer({ [PROCESSOR]: (event, ctx) => processor(event, ctx) });
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
      source.closeAllConnections();
      await new Promise<void>((r) => source.close(() => r()));
    },
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
