// Loopback stand-ins for the two pieces of the Lambda service the handlers meet:
//  - the Node.js runtime's response-streaming API (the global `awslambda`): an HTTP response
//    stream is a JSON prelude (status, headers, cookies), 8 NUL bytes, then the body;
//  - the Invoke API (POST /2015-03-31/functions/{name}/invocations) on a real HTTP port, so the
//    real @aws-sdk/client-lambda and LambdaJobRunner talk to it; 'Event' invocations answer 202
//    and run the handler in the background, like Lambda's async queue.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { PassThrough, type Writable } from "node:stream";
import type { LambdaContextLike } from "../../src/lambda/processor.js";
import type { AwsLambdaStreamingGlobal, FunctionUrlEvent, ResponseMetadata } from "../../src/lambda/stream.js";

const SEPARATOR = Buffer.alloc(8);

export const streamingRuntime: AwsLambdaStreamingGlobal = {
  streamifyResponse: (handler) => handler,
  HttpResponseStream: {
    from(stream: Writable, metadata: ResponseMetadata): Writable {
      stream.write(Buffer.concat([Buffer.from(JSON.stringify(metadata)), SEPARATOR]));
      return stream;
    },
  },
};

export function lambdaContext(timeoutMs = 300_000): LambdaContextLike {
  const started = Date.now();
  return { getRemainingTimeInMillis: () => timeoutMs - (Date.now() - started), awsRequestId: `req-${started}` };
}

type StreamingHandler = (event: FunctionUrlEvent, stream: Writable, context: LambdaContextLike) => Promise<void>;

export interface StreamedResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  text: string;
  json<T = any>(): T;
  /** Bytes the handler wrote after the client hung up (see invokeStreaming). */
  afterHangUp: number;
}

/**
 * Invoke a streaming handler with a function-URL event; resolves once the handler has ended the
 * stream. `onBody` sees body chunks as they arrive (to watch SSE, or to hang up early).
 * `hangUp()` is a client leaving as Lambda's runtime shows it to the function: not at all (the
 * response stream emits no "close" and writes keep succeeding); what is written after it is
 * counted in `afterHangUp` but not kept. Destroying `stream` instead closes it, which the real
 * runtime never does on a client's disconnect.
 */
export async function invokeStreaming(
  handler: StreamingHandler,
  event: FunctionUrlEvent,
  opts: { onBody?: (text: string, stream: PassThrough, hangUp: () => void) => void; timeoutMs?: number } = {},
): Promise<StreamedResponse> {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  let prelude: ResponseMetadata | undefined;
  let pending = Buffer.alloc(0);
  let hungUp = false;
  let afterHangUp = 0;
  const hangUp = () => {
    hungUp = true;
  };
  stream.on("data", (c: Buffer) => {
    if (hungUp) {
      afterHangUp += c.length;
      return;
    }
    if (!prelude) {
      pending = Buffer.concat([pending, c]);
      const at = pending.indexOf(SEPARATOR);
      if (at < 0) return;
      prelude = JSON.parse(pending.subarray(0, at).toString("utf8")) as ResponseMetadata;
      c = pending.subarray(at + SEPARATOR.length);
    }
    if (c.length === 0) return;
    chunks.push(c);
    opts.onBody?.(Buffer.concat(chunks).toString("utf8"), stream, hangUp);
  });
  const ended = new Promise<void>((resolve) => stream.on("close", resolve).on("finish", resolve));
  await handler(event, stream, lambdaContext(opts.timeoutMs));
  await ended;
  if (!prelude) throw new Error("the handler wrote no response prelude");
  const body = Buffer.concat(chunks);
  return {
    status: prelude.statusCode,
    headers: prelude.headers,
    body,
    text: body.toString("utf8"),
    json: () => JSON.parse(body.toString("utf8")),
    afterHangUp,
  };
}

/** A function-URL (payload 2.0) event, as Lambda delivers it. */
export function urlEvent(
  method: string,
  pathAndQuery: string,
  opts: { headers?: Record<string, string>; body?: string | Buffer } = {},
): FunctionUrlEvent {
  const [rawPath, rawQueryString = ""] = pathAndQuery.split("?");
  const binary = Buffer.isBuffer(opts.body);
  return {
    version: "2.0",
    rawPath,
    rawQueryString,
    headers: { host: "abc123.lambda-url.us-east-1.on.aws", ...lower(opts.headers ?? {}) },
    body:
      opts.body === undefined ? undefined : binary ? (opts.body as Buffer).toString("base64") : (opts.body as string),
    isBase64Encoded: binary,
    requestContext: {
      domainName: "abc123.lambda-url.us-east-1.on.aws",
      requestId: `r-${Math.random().toString(36).slice(2)}`,
      http: { method, path: rawPath, sourceIp: "203.0.113.7" },
    },
  };
}

/** A POST of a JSON body from a signed-in client (its Bearer token), with any more headers on top. */
export function postJsonEvent(
  pathAndQuery: string,
  token: string,
  body: unknown,
  headers: Record<string, string> = {},
): FunctionUrlEvent {
  return urlEvent("POST", pathAndQuery, {
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

/** What Lambda sends the on-failure destination when an async event's 3 runs all failed. */
export function retriesExhaustedRecord(
  requestPayload: unknown,
  responsePayload: { errorType: string; errorMessage: string },
) {
  return {
    version: "1.0",
    requestContext: { condition: "RetriesExhausted", approximateInvokeCount: 3 },
    requestPayload,
    responseContext: { statusCode: 200, functionError: "Unhandled" },
    responsePayload,
  };
}

function lower(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}

export interface InvokeServer {
  endpoint: string;
  /** Every invocation received, in order. */
  invocations: { functionName: string; type: string; payload: unknown }[];
  /** Resolves when every background (Event) run so far has finished. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export async function startInvokeServer(
  functions: Record<string, (event: unknown, context: LambdaContextLike) => Promise<unknown>>,
): Promise<InvokeServer> {
  const running = new Set<Promise<unknown>>();
  const invocations: InvokeServer["invocations"] = [];
  const server: Server = createServer((req, res) => {
    const m = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(req.url?.split("?")[0] ?? "");
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const name = m ? decodeURIComponent(m[1]).split(":").slice(-1)[0] : "";
      const fn = m ? (functions[decodeURIComponent(m[1])] ?? functions[name]) : undefined;
      if (req.method !== "POST" || !fn) {
        res.writeHead(404, { "content-type": "application/json", "x-amzn-errortype": "ResourceNotFoundException" });
        res.end(JSON.stringify({ Type: "User", message: `Function not found: ${m?.[1]}` }));
        return;
      }
      const type = String(req.headers["x-amz-invocation-type"] ?? "RequestResponse");
      const payload = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
      invocations.push({ functionName: decodeURIComponent(m![1]), type, payload });
      if (type === "Event") {
        res.writeHead(202, { "content-type": "application/json" });
        res.end();
        const run = fn(payload, lambdaContext()).catch(() => undefined);
        running.add(run);
        void run.finally(() => running.delete(run));
        return;
      }
      fn(payload, lambdaContext()).then(
        (out) => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify(out ?? null));
        },
        (e: Error) => {
          res.writeHead(200, { "content-type": "application/json", "x-amz-function-error": "Unhandled" });
          res.end(JSON.stringify({ errorMessage: e.message }));
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    invocations,
    async idle() {
      while (running.size > 0) await Promise.all([...running]);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
