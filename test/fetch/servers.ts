// Real loopback servers for the fetch tests, counting every TCP connection they accept so a test
// can prove that a refused URL never reached the network.
import http from "node:http";
import net from "node:net";
import type { FetchPolicy } from "../../src/fetch/index.js";

/** A fetch policy for tests: a 64 KB cap, short timeouts, nothing allowed unless `over` says so. */
export const testPolicy = (over: Partial<FetchPolicy> = {}): FetchPolicy => ({
  allowHosts: [],
  maxBytes: 64 * 1024,
  timeoutMs: 5_000,
  connectTimeoutMs: 2_000,
  maxRedirects: 5,
  ...over,
});

export interface TestServer {
  port: number;
  /** TCP connections accepted so far. */
  connections: number;
  /** Requests seen so far: method, url and Host header. */
  requests: { url: string; host?: string; acceptEncoding?: string }[];
  close(): Promise<void>;
}

/** An HTTP server on the dual-stack wildcard `::`, so 127.0.0.1, ::1 and 0.0.0.0 all reach it. */
export async function startHttpServer(handler: http.RequestListener, host = "::"): Promise<TestServer> {
  const server = http.createServer((req, res) => {
    state.requests.push({
      url: req.url ?? "",
      host: req.headers.host,
      acceptEncoding: req.headers["accept-encoding"],
    });
    handler(req, res);
  });
  const sockets = new Set<net.Socket>();
  const state: TestServer = {
    port: 0,
    connections: 0,
    requests: [],
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  server.on("connection", (s) => {
    state.connections++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen({ port: 0, host, ipv6Only: false }, resolve));
  state.port = (server.address() as net.AddressInfo).port;
  return state;
}

/** A raw TCP server: `onSocket` decides what (if anything) is ever said. */
export async function startTcpServer(onSocket: (s: net.Socket) => void): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    state.connections++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    onSocket(s);
  });
  const state: TestServer = {
    port: 0,
    connections: 0,
    requests: [],
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.port = (server.address() as net.AddressInfo).port;
  return state;
}

/** What a raw server says to one request: bytes to send before closing, or the socket to do as it likes. */
export type RawAnswer = Buffer | ((s: net.Socket) => void);

/**
 * A raw TCP server for answers no HTTP library would send: each request gets what `answers` holds
 * for its path (query dropped), or a 404.
 */
export function startRawAnswerServer(answers: Map<string, RawAnswer>): Promise<TestServer> {
  return startTcpServer((socket) => {
    let head = "";
    socket.on("data", (d) => {
      head += d.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      const path = (head.split(" ")[1] ?? "/").split("?")[0];
      head = "";
      const answer = answers.get(path);
      if (typeof answer === "function") answer(socket);
      else if (answer) socket.end(answer);
      else socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    });
  });
}
