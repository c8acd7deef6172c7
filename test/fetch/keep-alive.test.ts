// Kept-alive connections to image hosts: pooled by the vetted address, reused only after a body
// read to its end, sent again on a new connection when the host dropped an idle one, and never
// cut short by the connect timeout.
import type net from "node:net";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FetchPolicy, fetchImage, safeFetch } from "../../src/fetch/index.js";
import { failure } from "../helpers/errors.js";
import { startHttpServer, type TestServer, testPolicy } from "./servers.js";

let png: Buffer;
let host: TestServer;
/** Sockets that have already carried one answer: /once-per-socket drops them on the next request. */
const served = new WeakSet<net.Socket>();

const policy = (over: Partial<FetchPolicy> = {}): FetchPolicy =>
  testPolicy({ allowHosts: [`127.0.0.1:${host.port}`, `[::1]:${host.port}`], ...over });

beforeAll(async () => {
  png = await sharp({ create: { width: 32, height: 24, channels: 3, background: "#cc6633" } })
    .png()
    .toBuffer();
  host = await startHttpServer((req, res) => {
    const p = new URL(req.url ?? "/", "http://x").pathname;
    if (p === "/once-per-socket" && served.has(req.socket)) {
      req.socket.destroy(); // as a host does that closed the idle connection as the request arrived
      return;
    }
    served.add(req.socket);
    if (p === "/big") {
      res.writeHead(200, { "content-type": "image/png", "content-length": 200_000 });
      res.end(Buffer.alloc(200_000));
    } else if (p === "/slow") {
      setTimeout(() => {
        res.writeHead(200, { "content-type": "image/png", "content-length": png.length });
        res.end(png);
      }, 500);
    } else {
      res.writeHead(200, { "content-type": "image/png", "content-length": png.length });
      res.end(png);
    }
  });
});
afterAll(async () => {
  await host?.close();
});

const url = (path: string, ip = "127.0.0.1") => `http://${ip.includes(":") ? `[${ip}]` : ip}:${host.port}${path}`;

describe("kept-alive connections to image hosts", () => {
  it("fetches one after another from one address over one connection", async () => {
    const before = host.connections;
    for (let i = 0; i < 3; i++) {
      const got = await fetchImage(url(`/img.png?n=${i}`), policy());
      expect(got.data.equals(png)).toBe(true);
    }
    expect(host.connections - before).toBe(1);
  });

  it("does not reuse a connection whose body was not read to its end", async () => {
    await fetchImage(url("/img.png"), policy()); // a pooled connection to start from
    const before = host.connections;
    const e = await failure(safeFetch(url("/big"), policy())); // refused on its declared length
    expect(e.code).toBe("IMAGE_TOO_LARGE");
    const got = await fetchImage(url("/img.png"), policy());
    expect(got.data.equals(png)).toBe(true);
    expect(host.connections - before).toBe(1); // the cut one was closed; a new one carried the image
  });

  it("sends again on a new connection when the host dropped the pooled one", async () => {
    await fetchImage(url("/once-per-socket"), policy());
    const before = host.connections;
    const got = await fetchImage(url("/once-per-socket"), policy());
    expect(got.data.equals(png)).toBe(true);
    expect(host.connections - before).toBe(1);
  });

  it("a pooled connection is not subject to the connect timeout (it is connected)", async () => {
    await fetchImage(url("/img.png"), policy());
    const got = await fetchImage(url("/slow"), policy({ connectTimeoutMs: 200 }));
    expect(got.data.equals(png)).toBe(true);
  });

  it("never shares a connection between two addresses of one host", async () => {
    await fetchImage(url("/img.png", "127.0.0.1"), policy());
    const before = host.connections;
    const got = await fetchImage(url("/img.png", "::1"), policy());
    expect(got.data.equals(png)).toBe(true);
    expect(host.connections - before).toBe(1);
  });
});
