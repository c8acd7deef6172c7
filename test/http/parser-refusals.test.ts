// Requests Node's HTTP parser refuses before the app sees them (431 headers too large, 400 a
// malformed request, 408 a request that does not arrive in time): over raw sockets against the real
// server, each is answered in JSON, counted in http_requests_total{route="unmatched"} with a method
// from a fixed set, and logged once with its status and reason, never with the client's bytes.
import http from "node:http";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { clientErrorListener } from "../../src/adapters/local/client-error.js";
import { PromMetrics } from "../../src/adapters/local/prom-metrics.js";
import { createLogger } from "../../src/logger.js";
import { startService, type TestService } from "./harness.js";

// biome-ignore lint/suspicious/noExplicitAny: log lines are read loosely
type Line = Record<string, any>;
const logs: Line[] = [];
let svc: TestService;

beforeAll(async () => {
  svc = await startService(
    {},
    { logger: createLogger({ LOG_LEVEL: "debug" }, { write: (l: string) => void logs.push(JSON.parse(l)) }) },
  );
});
afterAll(async () => svc?.close());

/** Sends bytes on a fresh connection and reads until the server closes it. */
function raw(port: number, request: string, opts: { end?: boolean } = {}): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () =>
      opts.end === false ? socket.write(request) : socket.end(request),
    );
    let got = "";
    socket.on("data", (d) => {
      got += d.toString("latin1");
    });
    socket.on("close", () => resolve(got));
    socket.on("error", reject);
  });
}

const bodyOf = (answer: string) => JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4));

/** `http_requests_total` samples of the exposition, keyed by their label text. */
async function requestCounts(base: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^imgedit_http_requests_total\{([^}]*)\} (\S+)$/gm)) out.set(m[1], Number(m[2]));
  return out;
}
const delta = (before: Map<string, number>, after: Map<string, number>, labels: string) =>
  (after.get(labels) ?? 0) - (before.get(labels) ?? 0);

const refusals = (from: number) => logs.slice(from).filter((l) => /refused by the HTTP parser/.test(l.msg));

describe("requests Node's parser refuses, on the real server", () => {
  it("headers too large: 431 in JSON, counted (method GET, route unmatched), one info line without the headers", async () => {
    const port = svc.server.port;
    const before = await requestCounts(svc.base);
    const from = logs.length;
    const secret = `tok-${"s".repeat(20_000)}`;
    const answer = await raw(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${secret}\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    expect(bodyOf(answer).error.code).toBe("INVALID_INPUT");
    const after = await requestCounts(svc.base);
    expect(delta(before, after, 'method="GET",route="unmatched",status="431"')).toBe(1);
    const lines = refusals(from);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 30, status: 431, method: "GET", code: "HPE_HEADER_OVERFLOW" });
    expect(lines[0].msg).toMatch(/headers are larger than the server's limit/);
    expect(JSON.stringify(lines[0])).not.toContain("tok-s");
  });

  it("a malformed request line: 400 in JSON, counted with method unknown (never the client's word), one info line", async () => {
    const port = svc.server.port;
    const before = await requestCounts(svc.base);
    const from = logs.length;
    const answer = await raw(port, "BREWCOFFEE-x1 /pot HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(bodyOf(answer).error.message).toMatch(/malformed HTTP request/);
    const garbage = await raw(port, "NOT HTTP AT ALL\r\n\r\n");
    expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
    const after = await requestCounts(svc.base);
    expect(delta(before, after, 'method="unknown",route="unmatched",status="400"')).toBe(2);
    // No label value came from the client's bytes.
    for (const labels of after.keys()) expect(labels).not.toMatch(/BREWCOFFEE|NOT/);
    const lines = refusals(from);
    expect(lines).toHaveLength(2);
    for (const l of lines) {
      expect(l).toMatchObject({ level: 30, status: 400, method: "unknown" });
      expect(l.code).toMatch(/^HPE_/);
      expect(JSON.stringify(l)).not.toMatch(/BREWCOFFEE|\/pot|NOT HTTP/);
    }
  });

  it("a known method with a broken request line keeps its method label", async () => {
    const before = await requestCounts(svc.base);
    const answer = await raw(svc.server.port, "POST /a b c\r\n\r\n");
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    const after = await requestCounts(svc.base);
    expect(delta(before, after, 'method="POST",route="unmatched",status="400"')).toBe(1);
  });

  it("a request cut short (the client closes its side mid-headers): 400, counted, logged as cut short", async () => {
    const before = await requestCounts(svc.base);
    const from = logs.length;
    const answer = await raw(svc.server.port, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Half: ");
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(bodyOf(answer).error.message).toMatch(/closed before the request was complete/);
    const after = await requestCounts(svc.base);
    // At the end of the stream Node hands over no bytes to read a method from.
    expect(delta(before, after, 'method="unknown",route="unmatched",status="400"')).toBe(1);
    const lines = refusals(from);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 30, status: 400, method: "unknown", code: "HPE_INVALID_EOF_STATE" });
  });

  it("a broken body after good headers is the app's request: counted and logged once, by the app", async () => {
    const before = await requestCounts(svc.base);
    const from = logs.length;
    const token = await svc.token();
    const answer = await raw(
      svc.server.port,
      `POST /image-edit HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"ima\r\nzz\r\n`,
      { end: false },
    );
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    // The app counts the request once it has given up on the body.
    await vi.waitFor(async () =>
      expect(delta(before, await requestCounts(svc.base), 'method="POST",route="/image-edit",status="400"')).toBe(1),
    );
    const after = await requestCounts(svc.base);
    for (const labels of after.keys()) if (labels.includes("unmatched")) expect(delta(before, after, labels)).toBe(0);
    expect(refusals(from)).toEqual([]);
    expect(logs.slice(from).filter((l) => l.path === "/image-edit")).toHaveLength(1);
  });
});

describe("a request that does not arrive in time", () => {
  // The service keeps Node's timeouts (60 s for headers): the same listener on a server with short
  // ones, so Node itself raises the timeout.
  let server: http.Server;
  const metrics = new PromMetrics("imgedit_", false);
  const lines: Line[] = [];
  beforeAll(async () => {
    server = http.createServer(
      { headersTimeout: 300, requestTimeout: 300, connectionsCheckingInterval: 50 },
      (_req, res) => res.end("ok"),
    );
    server.on(
      "clientError",
      clientErrorListener({
        metrics,
        logger: createLogger({ LOG_LEVEL: "debug" }, { write: (l: string) => void lines.push(JSON.parse(l)) }),
      }),
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  });

  it("408 in JSON, counted (route unmatched, method unknown), one info line", async () => {
    const port = (server.address() as net.AddressInfo).port;
    // Half a request, then nothing: the connection stays open until the server gives up on it.
    const answer = await raw(port, "GET /slow HTTP/1.1\r\nHost: x\r\nX-Partial: sec", { end: false });
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(bodyOf(answer).error.message).toMatch(/did not arrive in time/);
    const text = await metrics.render();
    expect(text).toMatch(/^imgedit_http_requests_total\{method="unknown",route="unmatched",status="408"\} 1$/m);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 30, status: 408, code: "ERR_HTTP_REQUEST_TIMEOUT", method: "unknown" });
    expect(lines[0].msg).toMatch(/did not arrive in time/);
  });
});

describe("requests the Node adapter cannot make a web Request of, on the real server", () => {
  it.each([
    ["a Host that is not a host", "GET /healthz HTTP/1.1\r\nHost: a b\r\n\r\n"],
    ["a port out of range", "GET /healthz HTTP/1.1\r\nHost: x:99999\r\n\r\n"],
    ["no Host", "GET /healthz HTTP/1.1\r\n\r\n"],
    ["a backslash in the path", "GET /a\\b HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["the asterisk form", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"],
  ])("%s: 400 in JSON, counted (route unmatched, method unknown), one info line", async (_what, request) => {
    const before = await requestCounts(svc.base);
    const from = logs.length;
    const answer = await raw(svc.server.port, request);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toMatch(/content-type: application\/json/i);
    const body = bodyOf(answer);
    expect(body.error.code).toBe("INVALID_INPUT");
    expect(body.error.message).toMatch(/^malformed HTTP request \(.+\)$/);
    const after = await requestCounts(svc.base);
    expect(delta(before, after, 'method="unknown",route="unmatched",status="400"')).toBe(1);
    const lines = logs.slice(from).filter((l) => /refused by the HTTP adapter/.test(l.msg));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 30, status: 400 });
  });

  it("an Expect other than 100-continue: 417 in JSON naming it, counted and logged", async () => {
    const before = await requestCounts(svc.base);
    const answer = await raw(
      svc.server.port,
      "POST /image-edit HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 0\r\n\r\n",
    );
    expect(answer).toMatch(/^HTTP\/1\.1 417 /);
    expect(bodyOf(answer).error.message).toBe('the Expect header "200-ok" is not supported (only 100-continue is)');
    const after = await requestCounts(svc.base);
    expect(delta(before, after, 'method="POST",route="unmatched",status="417"')).toBe(1);
  });

  it("a method Node accepts and no route takes (PROPFIND) is counted as method unknown", async () => {
    const answer = await raw(svc.server.port, "PROPFIND /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expect(answer).toMatch(/^HTTP\/1\.1 4\d\d /);
    const after = await requestCounts(svc.base);
    for (const labels of after.keys()) expect(labels).not.toMatch(/PROPFIND/);
  });
});
