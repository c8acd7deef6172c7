// What a hostile or sloppy image host says that ends up in our own words: a Location header with
// raw UTF-8 (browsers read it as UTF-8; Node hands it over as latin1), a status line with escape
// sequences or 10 KB of text, IPv6 addresses in "host:port" messages. Real raw-TCP servers.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import https from "node:https";
import type net from "node:net";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchImage, type Resolver, safeFetch } from "../../src/fetch/index.js";
import { failure } from "../helpers/errors.js";
import { type RawAnswer, startRawAnswerServer, type TestServer, testPolicy } from "./servers.js";

let png: Buffer;
let server: TestServer;
/** Raw answers by request path. */
const answers = new Map<string, RawAnswer>();

beforeAll(async () => {
  png = await sharp({ create: { width: 5, height: 4, channels: 3, background: "#123456" } })
    .png()
    .toBuffer();
  server = await startRawAnswerServer(answers);
});
afterAll(async () => {
  await server?.close();
});

const policy = () => testPolicy({ allowHosts: [`127.0.0.1:${server.port}`] });
const url = (path: string) => `http://127.0.0.1:${server.port}${path}`;
const image = (s: net.Socket) =>
  s.end(
    Buffer.concat([
      Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: ${png.length}\r\n\r\n`),
      png,
    ]),
  );

describe("redirects with raw non-ASCII in Location", () => {
  it("reads raw UTF-8 as UTF-8, as browsers do, and fetches the path the host meant", async () => {
    answers.set("/photo", (s) =>
      s.end(
        Buffer.concat([
          Buffer.from("HTTP/1.1 302 Found\r\nLocation: /caf"),
          Buffer.from("é/写真.png", "utf8"),
          Buffer.from("\r\nContent-Length: 0\r\n\r\n"),
        ]),
      ),
    );
    answers.set("/caf%C3%A9/%E5%86%99%E7%9C%9F.png", image);
    const got = await fetchImage(url("/photo"), policy());
    expect(got.type.format).toBe("png");
    expect(got.finalUrl).toBe(url("/caf%C3%A9/%E5%86%99%E7%9C%9F.png"));
  });

  it("keeps a latin1 byte that is not UTF-8 as latin1 (what Node and the URL parser did before)", async () => {
    answers.set("/latin1", (s) =>
      s.end(
        Buffer.concat([
          Buffer.from("HTTP/1.1 302 Found\r\nLocation: /caf"),
          Buffer.from([0xe9]),
          Buffer.from(".png\r\nContent-Length: 0\r\n\r\n"),
        ]),
      ),
    );
    answers.set("/caf%C3%A9.png", image);
    const got = await fetchImage(url("/latin1"), policy());
    expect(got.finalUrl).toBe(url("/caf%C3%A9.png"));
  });

  it("still vets a UTF-8 Location's host: a redirect to the metadata address is refused", async () => {
    answers.set("/to-metadata", (s) =>
      s.end(
        Buffer.concat([
          Buffer.from("HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/"),
          Buffer.from("é", "utf8"),
          Buffer.from("\r\nContent-Length: 0\r\n\r\n"),
        ]),
      ),
    );
    const e = await failure(safeFetch(url("/to-metadata"), policy()));
    expect(e.code).toBe("FETCH_BLOCKED");
    expect(e.message).toMatch(/^refused redirect 1 to http:\/\/169\.254\.169\.254\/%C3%A9: .*cloud metadata/);
  });
});

describe("a host's own words in our messages", () => {
  it("a status text with control characters reaches the message without them", async () => {
    answers.set("/ansi", (s) => s.end("HTTP/1.1 404 Not\x1b[31m Found\x07\r\nContent-Length: 0\r\n\r\n"));
    const e = await failure(safeFetch(url("/ansi"), policy()));
    expect(e.code).toBe("FETCH_FAILED");
    expect(e.details?.status).toBe(404);
    expect(e.message).not.toMatch(/\p{Cc}/u);
    expect(e.message).toBe(`${url("/ansi")} answered HTTP 404 Not[31m Found`);
  });

  it("a 10 KB status text is cut short", async () => {
    answers.set("/long-status", (s) => s.end(`HTTP/1.1 503 ${"x".repeat(10_000)}\r\nContent-Length: 0\r\n\r\n`));
    const e = await failure(safeFetch(url("/long-status"), policy()));
    expect(e.code).toBe("FETCH_FAILED");
    expect(e.retryable).toBe(true);
    expect(e.message.length).toBeLessThan(300);
    expect(e.message).toMatch(/answered HTTP 503 x+…$/);
  });

  it("a long Content-Encoding value is cut short too", async () => {
    answers.set("/encoding", (s) =>
      s.end(`HTTP/1.1 200 OK\r\nContent-Encoding: gzip${", x".repeat(3000)}\r\nContent-Length: 3\r\n\r\nabc`),
    );
    const e = await failure(safeFetch(url("/encoding"), policy()));
    expect(e.code).toBe("FETCH_FAILED");
    expect(e.details?.reason).toBe("encoding");
    expect(e.message.length).toBeLessThan(300);
  });

  it("names an IPv6 host and its port unambiguously: [::1]:port", async () => {
    const e = await failure(
      safeFetch(
        "http://[::1]:1/x.png",
        testPolicy({ allowHosts: ["[::1]:1"], connectTimeoutMs: 2_000, timeoutMs: 4_000 }),
      ),
    );
    expect(e.code).toBe("FETCH_FAILED");
    expect(e.message).toBe("[::1]:1 refused the connection");
  });
});

describe("a certificate's own words", () => {
  it("a certificate for 400 other names fails TLS with a message of readable length", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "imgedit-tls-names-"));
    try {
      const names = Array.from({ length: 400 }, (_, i) => `DNS:name-${i}.example`).join(",");
      execFileSync(
        "openssl",
        [
          ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
          ...["-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem"), "-days", "2"],
          ...["-subj", "/CN=name-0.example", "-addext", `subjectAltName=${names}`],
        ],
        { stdio: "ignore" },
      );
      const cert = fs.readFileSync(path.join(dir, "cert.pem"), "utf8");
      const key = fs.readFileSync(path.join(dir, "key.pem"), "utf8");
      const server = https.createServer({ cert, key }, (_req, res) => res.end("never"));
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      const port = (server.address() as net.AddressInfo).port;
      try {
        const resolve: Resolver = async () => [{ address: "127.0.0.1", family: 4 }];
        const e = await failure(
          safeFetch(`https://img.test:${port}/a.png`, testPolicy({ allowHosts: ["img.test"], resolve, ca: cert })),
        );
        expect(e.code).toBe("FETCH_FAILED");
        expect(e.retryable).toBe(false);
        expect(e.message).toMatch(/^img\.test:\d+: TLS failed: .*altnames/);
        expect(e.message.length).toBeLessThan(400);
      } finally {
        await new Promise<void>((r) => server.close(() => r()));
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("what a host name resolves to is not told", () => {
  it("names the range, not the internal address, for a name; a literal is named as written", async () => {
    const internal: Resolver = async (host) =>
      host === "db.internal" ? [{ address: "10.20.30.40", family: 4 }] : [{ address: "::ffff:192.168.7.9", family: 6 }];
    let e = await failure(safeFetch("http://db.internal/x.png", testPolicy({ resolve: internal })));
    expect(e.code).toBe("FETCH_BLOCKED");
    expect(e.message).toBe("refused: db.internal resolves to a private address (10.0.0.0/8)");
    // Kept for the operator's logs, never in the message a user reads.
    expect(e.details?.address).toBe("10.20.30.40");
    e = await failure(safeFetch("http://mapped.internal/x.png", testPolicy({ resolve: internal })));
    expect(e.message).toBe(
      "refused: mapped.internal resolves to an IPv4-mapped IPv6 address (::ffff:0:0/96) embedding a private address (192.168.0.0/16)",
    );
    expect(e.message).not.toMatch(/192\.168\.7\.9|c0a8:709/);
    e = await failure(safeFetch("http://10.20.30.40/x.png", testPolicy({ resolve: internal })));
    expect(e.message).toBe("refused: 10.20.30.40 is a private address (10.0.0.0/8)");
  });
});
