// Requests Node's HTTP parser refuses before the app sees them (headers over the size limit,
// malformed request lines): answered in the API's JSON error shape instead of Node's bare status
// line, so every client gets a body naming the problem.
import http from "node:http";
import type { Duplex } from "node:stream";

function answer(status: number, message: string): string {
  const body = JSON.stringify({ error: { code: "INVALID_INPUT", message } });
  return [
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}`,
    "Content-Type: application/json",
    `Content-Length: ${Buffer.byteLength(body)}`,
    "Connection: close",
    "",
    body,
  ].join("\r\n");
}

/** A `clientError` listener for a node:http server. */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  // Nobody left to answer (the client reset), or an answer already under way on this connection
  // (what Node's own handler checks too): a status line now would corrupt it.
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code === "ECONNRESET" || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  if (err.code === "HPE_HEADER_OVERFLOW")
    socket.end(answer(431, `the request's headers are larger than the server's limit (${http.maxHeaderSize} bytes)`));
  else if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") socket.end(answer(408, "the request did not arrive in time"));
  else socket.end(answer(400, `malformed HTTP request${err.code ? ` (${err.code})` : ""}`));
}
