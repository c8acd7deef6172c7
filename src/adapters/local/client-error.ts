// Requests Node's HTTP parser refuses before the app sees them (headers over the size limit,
// malformed request lines, requests that do not arrive in time): answered in the API's JSON error
// shape instead of Node's bare status line, so every client gets a body naming the problem; and,
// since the app's access log and request metrics never see them, counted and logged here.
import http from "node:http";
import type { Duplex } from "node:stream";
import { methodLabel } from "../../http/method-label.js";
import type { Logger } from "../../logger.js";
import type { Metrics } from "../../ports.js";

const errorBody = (message: string, code = "INVALID_INPUT") => JSON.stringify({ error: { code, message } });

function answer(status: number, message: string): string {
  const body = errorBody(message);
  return [
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}`,
    "Content-Type: application/json",
    `Content-Length: ${Buffer.byteLength(body)}`,
    "Connection: close",
    "",
    body,
  ].join("\r\n");
}

/** The refused request's method when the bytes Node was parsing start a request line of a known one. */
function methodOf(err: NodeJS.ErrnoException & { rawPacket?: unknown }): string {
  if (!Buffer.isBuffer(err.rawPacket)) return "unknown"; // a timeout has no bytes
  return methodLabel(err.rawPacket.subarray(0, 8).toString("latin1").split(" ", 1)[0]);
}

/** The status and reason for an error Node's parser raised. */
function refusal(err: NodeJS.ErrnoException): { status: number; reason: string } {
  if (err.code === "HPE_HEADER_OVERFLOW")
    return {
      status: 431,
      reason: `the request's headers are larger than the server's limit (${http.maxHeaderSize} bytes)`,
    };
  if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") return { status: 408, reason: "the request did not arrive in time" };
  // The client closed its side (or went away) mid-request: cut short, not garbled.
  if (err.code === "HPE_INVALID_EOF_STATE")
    return { status: 400, reason: "the connection closed before the request was complete" };
  return { status: 400, reason: `malformed HTTP request${err.code ? ` (${err.code})` : ""}` };
}

/**
 * A `clientError` listener for a node:http server: answers, counts the request in
 * `http_requests_total` (route "unmatched") and logs it once at info with its status, Node's error
 * code and the reason. A client's fault, like the app's own 4xx answers; the raw bytes are never
 * logged (they may hold a token, and they are the client's to choose).
 */
export function clientErrorListener(deps: { metrics: Metrics; logger: Logger }) {
  return (err: NodeJS.ErrnoException, socket: Duplex): void => {
    // Nobody left to answer (the client reset), or an answer already under way on this connection
    // (what Node's own handler checks too): a status line now would corrupt it.
    const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (err.code === "ECONNRESET" || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const { status, reason } = refusal(err);
    socket.end(answer(status, reason));
    // A request the app already has (a broken body after its headers) is counted and logged by the
    // app when it answers; only requests it never saw are counted here.
    if (inFlight) return;
    const method = methodOf(err);
    deps.metrics.increment("http_requests_total", { method, route: "unmatched", status });
    deps.logger.info(
      { method, status, code: err.code, remoteAddress: (socket as { remoteAddress?: string }).remoteAddress },
      `request refused by the HTTP parser: ${reason}`,
    );
  };
}

/**
 * serve()'s errorHandler: a request Node parsed but the Node adapter could not make a web Request
 * of (no Host, a Host that is not one, a backslash in the path, `OPTIONS *`) gets the same JSON 400,
 * counted and logged as above, instead of the adapter's empty one. Anything else thrown before the
 * app could answer is the server's fault: a 500, logged as an error.
 */
export function requestErrorHandler(deps: { metrics: Metrics; logger: Logger }) {
  return (err: unknown): Response => {
    const malformed = err instanceof Error && err.name === "RequestError";
    const status = malformed ? 400 : 500;
    const message = malformed ? `malformed HTTP request (${err.message})` : "internal error; see the server log";
    deps.metrics.increment("http_requests_total", { method: "unknown", route: "unmatched", status });
    if (malformed) deps.logger.info({ status }, `request refused by the HTTP adapter: ${message}`);
    else deps.logger.error({ err }, "request failed before the app saw it");
    return new Response(errorBody(message, malformed ? "INVALID_INPUT" : "INTERNAL"), {
      status,
      headers: { "content-type": "application/json", connection: "close" },
    });
  };
}

/**
 * A `checkExpectation` listener: an Expect header other than 100-continue is refused (417, as Node
 * does) in the JSON shape, counted and logged, rather than with Node's empty answer.
 */
export function expectationListener(deps: { metrics: Metrics; logger: Logger }) {
  return (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const expect = String(req.headers.expect ?? "").slice(0, 100);
    const message = `the Expect header ${JSON.stringify(expect)} is not supported (only 100-continue is)`;
    const method = methodLabel(req.method);
    const body = errorBody(message);
    res.writeHead(417, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      connection: "close",
    });
    res.end(body);
    deps.metrics.increment("http_requests_total", { method, route: "unmatched", status: 417 });
    deps.logger.info({ method, status: 417 }, `request refused: ${message}`);
  };
}
