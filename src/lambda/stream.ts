// A Hono app behind a Lambda function URL with response streaming (invoke mode RESPONSE_STREAM).
// Like hono's streamHandle, plus what a long-lived SSE response needs on Lambda: the request's
// AbortSignal fires when the function's deadline nears (or the response stream closes), the body
// is cancelled (so the progress stream stops polling DynamoDB), and the response ends cleanly a
// few seconds before Lambda would cut it off (EventSource reconnects with Last-Event-ID).
// Lambda's runtime does not tell a function that its client went away: the response stream emits
// no "close" and writes keep succeeding. So an event stream also ends after STREAM_MAX_MS, or a
// client that left would keep the function polling until the session finishes or the deadline.
import type { Writable } from "node:stream";
import type { LambdaContextLike } from "./processor.js";

/** Function URL / API Gateway HTTP API payload format 2.0, the parts used here. */
export interface FunctionUrlEvent {
  version?: string;
  rawPath: string;
  rawQueryString?: string;
  headers?: Record<string, string | undefined>;
  cookies?: string[];
  body?: string;
  isBase64Encoded?: boolean;
  requestContext: {
    domainName?: string;
    requestId?: string;
    http: { method: string; sourceIp?: string; path?: string };
  };
}

export interface ResponseMetadata {
  statusCode: number;
  headers: Record<string, string>;
  cookies: string[];
}

/** The streaming API the Node.js Lambda runtime puts on the global `awslambda`. */
export interface AwsLambdaStreamingGlobal {
  streamifyResponse<E, C>(
    handler: (event: E, responseStream: Writable, context: C) => Promise<void>,
  ): (event: E, responseStream: Writable, context: C) => Promise<void>;
  HttpResponseStream: { from(stream: Writable, metadata: ResponseMetadata): Writable };
}

export interface FetchApp {
  fetch(request: Request, env?: unknown): Response | Promise<Response>;
}

/** Time kept back before the function timeout to end a stream cleanly. */
export const STREAM_DEADLINE_MARGIN_MS = 5_000;

export function requestFromEvent(event: FunctionUrlEvent, signal?: AbortSignal): Request {
  const host = event.requestContext.domainName ?? event.headers?.host ?? "localhost";
  const qs = event.rawQueryString ? `?${event.rawQueryString}` : "";
  const headers = new Headers();
  for (const [k, v] of Object.entries(event.headers ?? {})) if (v !== undefined) headers.set(k, v);
  if (event.cookies?.length) headers.set("cookie", event.cookies.join("; "));
  // The caller's address for rate limits and logs (the function URL puts it in the context).
  if (event.requestContext.http.sourceIp && !headers.has("x-forwarded-for")) {
    headers.set("x-forwarded-for", event.requestContext.http.sourceIp);
  }
  const method = event.requestContext.http.method.toUpperCase();
  const init: RequestInit = { method, headers, signal };
  if (event.body !== undefined && event.body !== "" && method !== "GET" && method !== "HEAD") {
    init.body = event.isBase64Encoded ? Buffer.from(event.body, "base64") : Buffer.from(event.body, "utf8");
  }
  return new Request(`https://${host}${event.rawPath}${qs}`, init);
}

function writeChunk(stream: Writable, chunk: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(chunk, (err) => (err ? reject(err) : resolve()));
  });
}

/**
 * Longest an event stream (text/event-stream) runs before it ends by itself. A client still
 * there reconnects with Last-Event-ID (the stream says `retry: 2000`) and gets only what it missed;
 * one that left costs at most this much function time and this many reads.
 */
export const STREAM_MAX_MS = 60_000;

export interface StreamingOptions {
  /** Longest an event stream runs (default STREAM_MAX_MS). */
  maxStreamMs?: number;
}

export function streamingHandler(app: FetchApp, runtime: AwsLambdaStreamingGlobal, opts: StreamingOptions = {}) {
  return runtime.streamifyResponse<FunctionUrlEvent, LambdaContextLike>(async (event, responseStream, context) => {
    const controller = new AbortController();
    const abort = (why: string) => controller.abort(new Error(why));
    const remaining = context?.getRemainingTimeInMillis?.() ?? 900_000;
    const deadline = setTimeout(
      () => abort("function deadline"),
      Math.max(1_000, remaining - STREAM_DEADLINE_MARGIN_MS),
    );
    let lifetime: ReturnType<typeof setTimeout> | undefined;
    responseStream.on("close", () => abort("client went away"));
    responseStream.on("error", () => abort("response stream failed"));
    let out: Writable = responseStream;
    try {
      const fail = (status: number, code: string, message: string) =>
        new Response(JSON.stringify({ error: { code, message } }), {
          status,
          headers: { "content-type": "application/json" },
        });
      let res: Response;
      let request: Request | undefined;
      try {
        request = requestFromEvent(event, controller.signal);
      } catch {
        // fall through: not a request we can rebuild
      }
      try {
        res = request ? await app.fetch(request, { event, context }) : fail(400, "INVALID_INPUT", "malformed request");
      } catch {
        res = fail(500, "INTERNAL", "internal error");
      }
      const headers: Record<string, string> = {};
      const cookies: string[] = [];
      res.headers.forEach((value, name) => {
        if (name === "set-cookie") cookies.push(value);
        else headers[name] = value;
      });
      if (headers["content-type"]?.startsWith("text/event-stream"))
        lifetime = setTimeout(() => abort("stream lifetime"), opts.maxStreamMs ?? STREAM_MAX_MS);
      out = runtime.HttpResponseStream.from(responseStream, { statusCode: res.status, headers, cookies });
      if (!res.body) {
        out.write("");
        return;
      }
      const reader = res.body.getReader();
      const onAbort = () => void reader.cancel(controller.signal.reason).catch(() => undefined);
      // A client gone (or a deadline passed) while the app answered: the body is never read.
      if (controller.signal.aborted) onAbort();
      else controller.signal.addEventListener("abort", onAbort, { once: true });
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          await writeChunk(out, value);
        }
      } catch {
        // the client left or the deadline passed: stop reading, end what we have
        await reader.cancel().catch(() => undefined);
      } finally {
        controller.signal.removeEventListener("abort", onAbort);
      }
    } finally {
      clearTimeout(deadline);
      clearTimeout(lifetime);
      out.end();
    }
  });
}
