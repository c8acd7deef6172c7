// safeFetch against real servers on loopback: what is refused (and never connected to), what is
// followed, and how each failure is reported.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import https from "node:https";
import type net from "node:net";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { ImageEditError } from "../../src/core/errors.js";
import {
  type FetchPolicy,
  fetchImage,
  fetchPolicyFromConfig,
  type Resolver,
  safeFetch,
} from "../../src/fetch/index.js";
import { failure } from "../helpers/errors.js";
import { startHttpServer, startTcpServer, type TestServer, testPolicy } from "./servers.js";

let png: Buffer;
let main: TestServer; // allow-listed by address in most tests
let other: TestServer; // never allow-listed: must never see a connection
let tls: { port: number; ca: string; close(): Promise<void>; connections: number };

const base = testPolicy;

beforeAll(async () => {
  png = await sharp({ create: { width: 64, height: 48, channels: 3, background: "#3366cc" } })
    .png()
    .toBuffer();

  main = await startHttpServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const p = url.pathname;
    if (p === "/img.png") {
      res.writeHead(200, { "content-type": "image/png", "content-length": png.length });
      res.end(png);
    } else if (p === "/redirect") {
      res.writeHead(Number(url.searchParams.get("status") ?? 302), { location: url.searchParams.get("to") ?? "" });
      res.end("moved");
    } else if (p.startsWith("/hops/")) {
      const left = Number(p.slice("/hops/".length));
      if (left > 0) {
        res.writeHead(301, { location: `/hops/${left - 1}` });
        res.end();
      } else {
        res.writeHead(200, { "content-type": "image/png" });
        res.end(png);
      }
    } else if (p === "/no-location") {
      res.writeHead(302);
      res.end();
    } else if (p === "/big-declared") {
      // An honest Content-Length above the cap: refused before the body is read.
      res.writeHead(200, { "content-length": 10 * 1024 * 1024 });
      res.write(Buffer.alloc(1024));
    } else if (p === "/big-chunked") {
      // No Content-Length at all; keeps sending until the client goes away.
      res.writeHead(200, { "content-type": "image/png" });
      const chunk = Buffer.alloc(16 * 1024, 1);
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) {}
        if (!res.destroyed) res.once("drain", pump);
      };
      pump();
    } else if (p === "/trickle") {
      res.writeHead(200, { "content-type": "image/png", "content-length": 1000 });
      const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write("x")), 50);
      res.on("close", () => clearInterval(t));
    } else if (p === "/hang") {
      // never answers
    } else if (p === "/reset") {
      req.socket.destroy();
    } else if (p === "/reset-mid-body") {
      res.writeHead(200, { "content-length": 5000 });
      res.write(Buffer.alloc(100));
      setTimeout(() => req.socket.destroy(), 20);
    } else if (p.startsWith("/status/")) {
      const status = Number(p.slice("/status/".length));
      res.writeHead(status, { "retry-after": "7" });
      res.end("no");
    } else if (p === "/gzipped") {
      res.writeHead(200, { "content-type": "image/png", "content-encoding": "gzip" });
      res.end(zlib.gzipSync(png));
    } else if (p === "/text") {
      res.writeHead(200, { "content-type": "image/png" });
      res.end("<html>not an image</html>");
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  other = await startHttpServer((_req, res) => res.end("should never be reached"));

  // A certificate for localhost and img.test, trusted through the policy's `ca`.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "imgedit-fetch-tls-"));
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      path.join(dir, "key.pem"),
      "-out",
      path.join(dir, "cert.pem"),
      "-days",
      "2",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,DNS:img.test",
    ],
    { stdio: "ignore" },
  );
  const cert = fs.readFileSync(path.join(dir, "cert.pem"), "utf8");
  const key = fs.readFileSync(path.join(dir, "key.pem"), "utf8");
  fs.rmSync(dir, { recursive: true, force: true });
  const server = https.createServer({ cert, key }, (req, res) => {
    res.writeHead(200, {
      "content-type": "image/png",
      "x-sni": (req.socket as import("node:tls").TLSSocket).servername || "",
    });
    res.end(png);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const state = {
    port: (server.address() as net.AddressInfo).port,
    ca: cert,
    connections: 0,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
  server.on("connection", () => state.connections++);
  tls = state;
});

afterAll(async () => {
  await main?.close();
  await other?.close();
  await tls?.close();
});

describe("success through the allow list", () => {
  it("fetches from an allow-listed loopback host:port with identity encoding", async () => {
    const before = main.requests.length;
    const got = await safeFetch(
      `http://127.0.0.1:${main.port}/img.png`,
      base({ allowHosts: [`127.0.0.1:${main.port}`] }),
    );
    expect(got.data.equals(png)).toBe(true);
    expect(got.bytes).toBe(png.length);
    expect(got.contentType).toBe("image/png");
    expect(got.finalUrl).toBe(`http://127.0.0.1:${main.port}/img.png`);
    const seen = main.requests[before];
    expect(seen.acceptEncoding).toBe("identity");
    expect(seen.host).toBe(`127.0.0.1:${main.port}`);
  });

  it("resolves `localhost` with the real system resolver when it is allow-listed", async () => {
    const got = await safeFetch(`http://localhost:${main.port}/img.png`, base({ allowHosts: ["localhost"] }));
    expect(got.data.equals(png)).toBe(true);
  });

  it("connects to the vetted address but keeps the host name in the Host header", async () => {
    const calls: string[] = [];
    const resolve: Resolver = async (h) => {
      calls.push(h);
      return [{ address: "127.0.0.1", family: 4 }];
    };
    const before = main.requests.length;
    const got = await safeFetch(
      `http://pinned.test:${main.port}/img.png`,
      base({ allowHosts: ["pinned.test"], resolve }),
    );
    expect(got.data.equals(png)).toBe(true);
    // pinned.test exists in no DNS: the socket can only have used the address we vetted.
    expect(calls).toEqual(["pinned.test"]);
    expect(main.requests[before].host).toBe(`pinned.test:${main.port}`);
  });

  it("refuses a compressed body it did not ask for", async () => {
    const e = await failure(
      safeFetch(`http://127.0.0.1:${main.port}/gzipped`, base({ allowHosts: [`127.0.0.1:${main.port}`] })),
    );
    expect(e.code).toBe("FETCH_FAILED");
    expect(e.message).toMatch(/Content-Encoding "gzip" although only identity was accepted/);
    expect(e.retryable).toBe(false);
  });

  it("fetches over IPv6: an allow-listed [::1]:port literal, and a name pinned to ::1", async () => {
    const literal = await safeFetch(`http://[::1]:${main.port}/img.png`, base({ allowHosts: [`[::1]:${main.port}`] }));
    expect(literal.data.equals(png)).toBe(true);
    const resolve: Resolver = async () => [{ address: "::1", family: 6 }];
    const before = main.requests.length;
    const named = await safeFetch(`http://v6.test:${main.port}/img.png`, base({ allowHosts: ["v6.test"], resolve }));
    expect(named.data.equals(png)).toBe(true);
    expect(main.requests[before].host).toBe(`v6.test:${main.port}`);
  });

  it("reports progress with the declared total", async () => {
    const seen: [number, number | undefined][] = [];
    await safeFetch(`http://127.0.0.1:${main.port}/img.png`, base({ allowHosts: ["127.0.0.1"] }), {
      onProgress: (b, t) => seen.push([b, t]),
    });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.at(-1)).toEqual([png.length, png.length]);
    for (let i = 1; i < seen.length; i++) expect(seen[i][0]).toBeGreaterThan(seen[i - 1][0]);
  });

  it("fetchImage sniffs the body and refuses one that is not an image", async () => {
    const policy = base({ allowHosts: [`127.0.0.1:${main.port}`] });
    const ok = await fetchImage(`http://127.0.0.1:${main.port}/img.png`, policy);
    expect(ok.type).toEqual({ format: "png", mime: "image/png", ext: "png" });
    const e = await failure(fetchImage(`http://127.0.0.1:${main.port}/text`, policy));
    expect(e.code).toBe("UNSUPPORTED_FORMAT");
    expect(e.message).toContain("not a supported image");
  });
});

describe("https", () => {
  it("verifies the certificate for the host name while connecting to the pinned address (SNI kept)", async () => {
    const resolve: Resolver = async () => [{ address: "127.0.0.1", family: 4 }];
    const got = await safeFetch(
      `https://img.test:${tls.port}/a.png`,
      base({ allowHosts: ["img.test"], resolve, ca: tls.ca }),
    );
    expect(got.data.equals(png)).toBe(true);
  });

  it("fails, not retryable, when the certificate does not match the host", async () => {
    const resolve: Resolver = async () => [{ address: "127.0.0.1", family: 4 }];
    const e = await failure(
      safeFetch(`https://wrong.test:${tls.port}/a.png`, base({ allowHosts: ["wrong.test"], resolve, ca: tls.ca })),
    );
    expect(e.code).toBe("FETCH_FAILED");
    expect(e.message).toMatch(/TLS/);
    expect(e.retryable).toBe(false);
  });

  it("fails on an untrusted certificate", async () => {
    const e = await failure(safeFetch(`https://localhost:${tls.port}/a.png`, base({ allowHosts: ["localhost"] })));
    expect(e.code).toBe("FETCH_FAILED");
    expect(e.message).toMatch(/TLS|certificate/);
  });
});

describe("SSRF targets are refused without a connection", () => {
  // PORT is the port of a live loopback server that must never see a connection.
  const targets = [
    ["http://127.0.0.1:PORT/", /127\.0\.0\.1 is a loopback address/],
    ["http://[::1]:PORT/", /::1 is the loopback address/],
    ["http://0.0.0.0:PORT/", /0\.0\.0\.0 is an unspecified/],
    ["http://[::]:PORT/", /:: is the unspecified address/],
    ["http://[::ffff:127.0.0.1]:PORT/", /IPv4-mapped.*127\.0\.0\.1.*loopback/],
    ["http://[::ffff:7f00:1]:PORT/", /IPv4-mapped.*127\.0\.0\.1.*loopback/],
    ["http://2130706433:PORT/", /127\.0\.0\.1 is a loopback address/],
    ["http://0177.0.0.1:PORT/", /127\.0\.0\.1 is a loopback address/],
    ["http://0x7f.0.0.1:PORT/", /127\.0\.0\.1 is a loopback address/],
    ["http://0x7f.1:PORT/", /127\.0\.0\.1 is a loopback address/],
    ["http://127.1:PORT/", /127\.0\.0\.1 is a loopback address/],
    ["http://127.0.0.1.:PORT/", /127\.0\.0\.1 is a loopback address/],
    ["http://0x7f000001:PORT/", /127\.0\.0\.1 is a loopback address/],
    ["http://169.254.169.254/latest/meta-data/", /169\.254\.169\.254 is the cloud metadata address/],
    ["http://[::ffff:169.254.169.254]/", /cloud metadata/],
    ["http://10.0.0.1/", /10\.0\.0\.1 is a private address \(10\.0\.0\.0\/8\)/],
    ["http://172.16.0.1/", /172\.16\.0\.1 is a private address \(172\.16\.0\.0\/12\)/],
    ["http://192.168.1.1/", /192\.168\.1\.1 is a private address \(192\.168\.0\.0\/16\)/],
    ["http://100.64.0.1/", /100\.64\.0\.1 is a carrier-grade NAT address/],
    ["http://[fd00:ec2::254]/", /unique-local/],
    ["http://[fe80::1]/", /link-local/],
    ["http://224.0.0.1/", /multicast/],
    ["http://255.255.255.255/", /broadcast/],
    ["http://[64:ff9b::a00:1]/", /NAT64.*10\.0\.0\.1.*private/],
    ["http://[2002:c0a8:101::]/", /6to4.*192\.168\.1\.1.*private/],
  ] as const;

  let resolverCalls = 0;
  const resolve: Resolver = async () => {
    resolverCalls++;
    return [{ address: "8.8.8.8", family: 4 }];
  };

  it.each(targets)("refuses %s", async (template, reason) => {
    const url = template.replace("PORT", String(other.port));
    const mainBefore = main.connections;
    const e = await failure(safeFetch(url, base({ resolve })));
    expect(e.code).toBe("FETCH_BLOCKED");
    expect(e.message).toMatch(/^refused: /);
    expect(e.message).toMatch(reason);
    expect(e.retryable).toBe(false);
    expect(e.status).toBe(422);
    // IP literals are judged as written (after normalisation): no DNS, no connection.
    expect(resolverCalls).toBe(0);
    expect(other.connections).toBe(0);
    expect(main.connections).toBe(mainBefore);
  });

  it("refuses a name that resolves to loopback (real DNS for localhost)", async () => {
    const e = await failure(safeFetch(`http://localhost:${other.port}/`, base()));
    expect(e.code).toBe("FETCH_BLOCKED");
    expect(e.message).toMatch(/^refused: localhost resolves to (a|the) loopback address/);
    expect(other.connections).toBe(0);
  });

  it("refuses a name when ANY of its addresses is private, and resolves only once", async () => {
    const calls: string[] = [];
    const resolve: Resolver = async (h) => {
      calls.push(h);
      return [
        { address: "93.184.216.34", family: 4 },
        { address: "10.0.0.5", family: 4 },
      ];
    };
    const e = await failure(safeFetch("http://example.test/cat.png", base({ resolve })));
    expect(e.code).toBe("FETCH_BLOCKED");
    expect(e.message).toBe("refused: example.test resolves to a private address (10.0.0.0/8)");
    expect(e.details).toMatchObject({ host: "example.test", address: "10.0.0.5", kind: "private" });
    expect(calls).toEqual(["example.test"]);
  });

  it("an allow-listed name does not open other names, addresses or ports", async () => {
    const policy = base({ allowHosts: [`localhost:${main.port}`] });
    for (const url of [
      `http://127.0.0.1:${main.port}/img.png`, // same address, other name
      `http://localhost:${other.port}/`, // same name, other port
      `http://[::1]:${main.port}/img.png`,
    ]) {
      const e = await failure(safeFetch(url, policy));
      expect(e.code, url).toBe("FETCH_BLOCKED");
    }
    expect(other.connections).toBe(0);
  });
});

describe("redirects", () => {
  const allowMain = () => base({ allowHosts: [`127.0.0.1:${main.port}`] });
  const redirect = (to: string, status = 302) =>
    `http://127.0.0.1:${main.port}/redirect?status=${status}&to=${encodeURIComponent(to)}`;

  it("follows a relative Location", async () => {
    const got = await safeFetch(redirect("/img.png"), allowMain());
    expect(got.data.equals(png)).toBe(true);
    expect(got.finalUrl).toBe(`http://127.0.0.1:${main.port}/img.png`);
  });

  it.each([301, 303, 307, 308])("follows %i", async (status) => {
    const got = await safeFetch(redirect("/img.png", status), allowMain());
    expect(got.data.equals(png)).toBe(true);
  });

  it("refuses a redirect to a private address, naming the hop", async () => {
    const e = await failure(safeFetch(redirect("http://10.0.0.1/x.png"), allowMain()));
    expect(e.code).toBe("FETCH_BLOCKED");
    expect(e.message).toBe("refused redirect 1 to http://10.0.0.1/x.png: 10.0.0.1 is a private address (10.0.0.0/8)");
    expect(e.details).toMatchObject({ hop: 1 });
  });

  it("refuses a redirect to another loopback server, which sees no connection", async () => {
    const e = await failure(safeFetch(redirect(`http://127.0.0.1:${other.port}/`), allowMain()));
    expect(e.code).toBe("FETCH_BLOCKED");
    expect(e.message).toMatch(/^refused redirect 1 to .*loopback/);
    expect(other.connections).toBe(0);
  });

  it("refuses a redirect to the same server under a name that is not allow-listed", async () => {
    const e = await failure(safeFetch(redirect(`http://localhost:${main.port}/img.png`), allowMain()));
    expect(e.code).toBe("FETCH_BLOCKED");
    expect(e.message).toMatch(/redirect 1 .*localhost resolves to .*loopback/);
  });

  it("refuses a redirect to the metadata address after two good hops", async () => {
    const hop2 = redirect("http://169.254.169.254/latest/meta-data/");
    const e = await failure(safeFetch(redirect(hop2), allowMain()));
    expect(e.message).toMatch(/^refused redirect 2 to http:\/\/169\.254\.169\.254\/.*cloud metadata/);
  });

  it.each([
    ["file:///etc/passwd", /scheme "file"/],
    ["gopher://127.0.0.1:70/_x", /scheme "gopher"/],
    [`http://u:p@127.0.0.1:${0}/`, /credentials/],
  ])("refuses a redirect to %s", async (to, reason) => {
    const e = await failure(safeFetch(redirect(to), allowMain()));
    expect(e.code).toBe("FETCH_BLOCKED");
    expect(e.message).toMatch(/^refused redirect 1 /);
    expect(e.message).toMatch(reason);
    expect(e.message).not.toContain("u:p@");
  });

  it("re-checks on a switch from http to https", async () => {
    const resolve: Resolver = async () => [{ address: "127.0.0.1", family: 4 }];
    const policy = base({ allowHosts: [`127.0.0.1:${main.port}`, "img.test"], resolve, ca: tls.ca });
    const got = await safeFetch(redirect(`https://img.test:${tls.port}/x.png`), policy);
    expect(got.data.equals(png)).toBe(true);
    expect(got.finalUrl).toBe(`https://img.test:${tls.port}/x.png`);
    const blocked = await failure(safeFetch(redirect(`https://localhost:${tls.port}/x.png`), policy));
    expect(blocked.code).toBe("FETCH_BLOCKED");
  });

  it("follows exactly maxRedirects and refuses one more", async () => {
    const ok = await safeFetch(`http://127.0.0.1:${main.port}/hops/5`, allowMain());
    expect(ok.data.equals(png)).toBe(true);
    expect(ok.finalUrl).toBe(`http://127.0.0.1:${main.port}/hops/0`);
    const e = await failure(safeFetch(`http://127.0.0.1:${main.port}/hops/6`, allowMain()));
    expect(e.code).toBe("FETCH_BLOCKED");
    expect(e.message).toMatch(/too many redirects \(more than 5\)/);
    const none = await failure(safeFetch(`http://127.0.0.1:${main.port}/hops/1`, { ...allowMain(), maxRedirects: 0 }));
    expect(none.message).toMatch(/too many redirects \(more than 0\)/);
  });

  it("fails clearly on a redirect to an unparseable URL", async () => {
    const e = await failure(safeFetch(redirect("http://[::1"), allowMain()));
    expect(e.code).toBe("FETCH_FAILED");
    expect(e.message).toMatch(/redirects to an invalid URL$/);
  });

  it("fails clearly on a redirect without Location", async () => {
    const e = await failure(safeFetch(`http://127.0.0.1:${main.port}/no-location`, allowMain()));
    expect(e.code).toBe("FETCH_FAILED");
    expect(e.message).toMatch(/302 without a Location/);
  });
});

describe("schemes and malformed URLs", () => {
  it.each([
    ["file:///etc/passwd", "file"],
    ["ftp://example.com/a.png", "ftp"],
    ["data:image/png;base64,iVBORw0KGgo=", "data"],
    ["gopher://example.com:70/_GET", "gopher"],
    ["javascript:alert(1)", "javascript"],
    ["ws://example.com/socket", "ws"],
    ["blob:https://example.com/uuid", "blob"],
  ])("refuses %s", async (url, scheme) => {
    const e = await failure(safeFetch(url, base()));
    expect(e.code).toBe("FETCH_BLOCKED");
    expect(e.message).toBe(`refused: the scheme "${scheme}" is not allowed, only http and https`);
  });

  it.each(["http://alice:s3cret@example.com/a.png", "https://alice@example.com/a.png", "http://:s3cret@example.com/"])(
    "refuses credentials in %s without echoing them",
    async (url) => {
      const e = await failure(safeFetch(url, base()));
      expect(e.code).toBe("FETCH_BLOCKED");
      expect(e.message).toBe("refused: URLs with credentials (user:password@) are not allowed");
      expect(JSON.stringify(e.details)).not.toMatch(/alice|s3cret/);
    },
  );

  it.each([
    ["not a url", "not a url"],
    ["a relative path", "/relative/path.png"],
    ["no host", "http://"],
    ["a space in the host", "http://exa mple.com/"],
    ["a 9000-character URL", `http://example.com/${"x".repeat(9000)}`],
  ])("rejects %s as invalid input", async (_label, url) => {
    const e = await failure(safeFetch(url, base()));
    expect(e.code).toBe("INVALID_INPUT");
  });

  it("fails, not retryable, for a host that does not exist", async () => {
    const e = await failure(safeFetch("http://no-such-host.invalid/a.png", base()));
    expect(e.code).toBe("FETCH_FAILED");
    expect(e.message).toBe("could not resolve no-such-host.invalid: no such host");
    expect(e.retryable).toBe(false);
  });
});

describe("byte cap", () => {
  const policy = () => base({ allowHosts: [`127.0.0.1:${main.port}`], maxBytes: 100_000 });

  it("refuses early when Content-Length already exceeds the cap", async () => {
    const e = await failure(safeFetch(`http://127.0.0.1:${main.port}/big-declared`, policy()));
    expect(e.code).toBe("IMAGE_TOO_LARGE");
    expect(e.message).toMatch(/the sender declares .*; the limit is 97\.7 KB \(MAX_IMAGE_SIZE\)$/);
    expect(e.message).toMatch(/declares 10.0 MB \(10,485,760 bytes\)/);
    expect(e.status).toBe(413);
  });

  it("stops a body with no Content-Length as soon as it passes the cap", async () => {
    let last = 0;
    const e = await failure(
      safeFetch(`http://127.0.0.1:${main.port}/big-chunked`, policy(), { onProgress: (b) => (last = b) }),
    );
    expect(e.code).toBe("IMAGE_TOO_LARGE");
    expect(e.message).toMatch(
      /more than 97\.7 KB \(100,000 bytes\) arrived; the limit is 97\.7 KB \(MAX_IMAGE_SIZE\)$/,
    );
    expect(last).toBeLessThanOrEqual(100_000);
  });

  it("counts the bytes of a close-delimited body whose header lies about nothing at all", async () => {
    const raw = await startTcpServer((s) => {
      s.once("data", () => {
        s.write("HTTP/1.0 200 OK\r\nContent-Type: image/png\r\n\r\n");
        const chunk = Buffer.alloc(32 * 1024, 7);
        const pump = () => {
          while (!s.destroyed && s.write(chunk)) {}
          if (!s.destroyed) s.once("drain", pump);
        };
        pump();
      });
    });
    try {
      const e = await failure(
        safeFetch(`http://127.0.0.1:${raw.port}/`, base({ allowHosts: ["127.0.0.1"], maxBytes: 50_000 })),
      );
      expect(e.code).toBe("IMAGE_TOO_LARGE");
    } finally {
      await raw.close();
    }
  });

  it("rejects a response that declares both a small Content-Length and chunked encoding", async () => {
    const raw = await startTcpServer((s) => {
      s.once("data", () => {
        s.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
      });
    });
    try {
      const e = await failure(safeFetch(`http://127.0.0.1:${raw.port}/`, base({ allowHosts: ["127.0.0.1"] })));
      expect(e.code).toBe("FETCH_FAILED");
      expect(e.message).toMatch(/invalid HTTP response/);
    } finally {
      await raw.close();
    }
  });
});

describe("malformed responses and TLS failures are not retried", () => {
  const raw = (answer: string) =>
    startTcpServer((s) => {
      s.once("data", () => s.write(answer)); // and the connection stays open
    });

  it.each([
    ["an invalid chunk size", "3\r\nabc\r\nZZ\r\n", "HPE_INVALID_CHUNK_SIZE"],
    ["a chunk extension over 16 KB", `1;${"e".repeat(20_000)}\r\nx\r\n0\r\n\r\n`, "HPE_CHUNK_EXTENSIONS_OVERFLOW"],
  ])("a chunked body with %s is an invalid HTTP response", async (_, body, code) => {
    const server = await raw(`HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n${body}`);
    try {
      const e = await failure(safeFetch(`http://127.0.0.1:${server.port}/`, base({ allowHosts: ["127.0.0.1"] })));
      expect(e.code).toBe("FETCH_FAILED");
      expect(e.message).toBe(`127.0.0.1:${server.port} sent an invalid HTTP response (${code})`);
      expect(e.retryable).toBe(false);
      expect(e.details).toMatchObject({ reason: "network", code });
    } finally {
      await server.close();
    }
  });

  it("https to a plain-HTTP port is a TLS failure, not retryable", async () => {
    const e = await failure(
      safeFetch(`https://127.0.0.1:${main.port}/img.png`, base({ allowHosts: [`127.0.0.1:${main.port}`] })),
    );
    expect(e.code).toBe("FETCH_FAILED");
    expect(e.message).toBe(`127.0.0.1:${main.port}: TLS failed: the server did not answer TLS (wrong version number)`);
    expect(e.retryable).toBe(false);
    expect(e.details).toMatchObject({ reason: "network", code: "EPROTO" });
  });
});

describe("timeouts, resets and statuses", () => {
  const policy = (over: Partial<FetchPolicy> = {}) => base({ allowHosts: [`127.0.0.1:${main.port}`], ...over });

  it("a body that trickles one byte at a time hits the total timeout", async () => {
    const e = await failure(safeFetch(`http://127.0.0.1:${main.port}/trickle`, policy({ timeoutMs: 600 })));
    expect(e.code).toBe("FETCH_TIMEOUT");
    expect(e.message).toMatch(/took longer than 600 ms/);
    expect(e.retryable).toBe(true);
  });

  it("a server that never answers hits the total timeout", async () => {
    const e = await failure(safeFetch(`http://127.0.0.1:${main.port}/hang`, policy({ timeoutMs: 400 })));
    expect(e.code).toBe("FETCH_TIMEOUT");
    expect(e.status).toBe(504);
  });

  it("a TLS handshake that never completes hits the connect timeout", async () => {
    const silent = await startTcpServer(() => {});
    try {
      const e = await failure(
        safeFetch(`https://127.0.0.1:${silent.port}/`, base({ allowHosts: ["127.0.0.1"], connectTimeoutMs: 300 })),
      );
      expect(e.code).toBe("FETCH_TIMEOUT");
      expect(e.message).toBe(`could not connect to 127.0.0.1:${silent.port} within 300 ms`);
      expect(silent.connections).toBe(1);
    } finally {
      await silent.close();
    }
  });

  it("a reset before the answer is FETCH_FAILED, retryable", async () => {
    const e = await failure(safeFetch(`http://127.0.0.1:${main.port}/reset`, policy()));
    expect(e.code).toBe("FETCH_FAILED");
    expect(e.message).toMatch(/reset the connection/);
    expect(e.retryable).toBe(true);
  });

  it("a reset in the middle of the body is FETCH_FAILED, retryable", async () => {
    const e = await failure(safeFetch(`http://127.0.0.1:${main.port}/reset-mid-body`, policy()));
    expect(e.code).toBe("FETCH_FAILED");
    expect(e.retryable).toBe(true);
  });

  it("a refused connection is FETCH_FAILED, retryable", async () => {
    const closed = await startTcpServer(() => {});
    const port = closed.port;
    await closed.close();
    const e = await failure(safeFetch(`http://127.0.0.1:${port}/`, base({ allowHosts: ["127.0.0.1"] })));
    expect(e.code).toBe("FETCH_FAILED");
    expect(e.message).toBe(`127.0.0.1:${port} refused the connection`);
    expect(e.retryable).toBe(true);
  });

  it.each([
    [404, false],
    [403, false],
    [410, false],
    [429, true],
    [500, true],
    [503, true],
  ])("HTTP %i is FETCH_FAILED with retryable=%s", async (status, retryable) => {
    const e = await failure(safeFetch(`http://127.0.0.1:${main.port}/status/${status}`, policy()));
    expect(e.code).toBe("FETCH_FAILED");
    expect(e.message).toMatch(new RegExp(`answered HTTP ${status} `));
    expect(e.retryable).toBe(retryable);
    expect(e.details).toMatchObject({ status, retryAfter: "7" });
  });

  it("names the redirect hop in a status failure", async () => {
    const e = await failure(safeFetch(`http://127.0.0.1:${main.port}/redirect?to=%2Fstatus%2F404`, policy()));
    expect(e.message).toBe(`http://127.0.0.1:${main.port}/status/404 (redirect 1) answered HTTP 404 Not Found`);
  });
});

describe("abort", () => {
  const policy = () => base({ allowHosts: [`127.0.0.1:${main.port}`] });

  it("a caller abort stops the fetch", async () => {
    const ctrl = new AbortController();
    const p = safeFetch(`http://127.0.0.1:${main.port}/trickle`, policy(), {
      signal: ctrl.signal,
      onProgress: (b) => b >= 2 && ctrl.abort(),
    });
    const e = await failure(p);
    expect(e.code).toBe("FETCH_FAILED");
    expect(e.details).toMatchObject({ reason: "aborted" });
  });

  it("an already-aborted signal fails before any connection", async () => {
    const before = main.connections;
    const e = await failure(
      safeFetch(`http://127.0.0.1:${main.port}/img.png`, policy(), { signal: AbortSignal.abort() }),
    );
    expect(e.code).toBe("FETCH_FAILED");
    expect(main.connections).toBe(before);
  });

  it("a caller deadline (AbortSignal.timeout) is FETCH_TIMEOUT; a typed reason passes through", async () => {
    const e = await failure(
      safeFetch(`http://127.0.0.1:${main.port}/hang`, policy(), { signal: AbortSignal.timeout(200) }),
    );
    expect(e.code).toBe("FETCH_TIMEOUT");
    const ctrl = new AbortController();
    setTimeout(() => ctrl.abort(new ImageEditError("PROCESSING_TIMEOUT", "job deadline")), 100);
    const typed = await failure(safeFetch(`http://127.0.0.1:${main.port}/hang`, policy(), { signal: ctrl.signal }));
    expect(typed.code).toBe("PROCESSING_TIMEOUT");
  });
});

describe("fetchPolicyFromConfig", () => {
  it("maps the settings", () => {
    const config = loadConfig({
      FETCH_ALLOW_HOSTS: "Images.Example.com, 127.0.0.1:9000",
      MAX_IMAGE_SIZE: "1000",
      FETCH_TIMEOUT_MS: "1234",
      FETCH_CONNECT_TIMEOUT_MS: "321",
      FETCH_MAX_REDIRECTS: "2",
    });
    expect(fetchPolicyFromConfig(config)).toEqual({
      allowHosts: ["images.example.com", "127.0.0.1:9000"],
      maxBytes: 1000,
      timeoutMs: 1234,
      connectTimeoutMs: 321,
      maxRedirects: 2,
    });
    const defaults = fetchPolicyFromConfig(loadConfig({}));
    expect(defaults).toMatchObject({ allowHosts: [], maxBytes: 26_214_400, maxRedirects: 5 });
  });

  it("rejects a malformed allow-list entry at start-up", () => {
    expect(() => loadConfig({ FETCH_ALLOW_HOSTS: "good.example, http://bad.example/path" })).toThrow(
      /allow-list entry "http:\/\/bad.example\/path"/,
    );
    // and the fetcher refuses it too, for settings that did not come through loadConfig
    const config = { ...loadConfig({}), FETCH_ALLOW_HOSTS: ["http://bad.example/path"] };
    expect(() => fetchPolicyFromConfig(config)).toThrow(/allow-list entry "http:\/\/bad.example\/path"/);
  });
});

describe("many redirects", () => {
  it("follows a long chain without piling listeners on the abort signal", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on("warning", onWarning);
    try {
      const got = await safeFetch(
        `http://127.0.0.1:${main.port}/hops/15`,
        base({ allowHosts: [`127.0.0.1:${main.port}`], maxRedirects: 15 }),
      );
      expect(got.data.equals(png)).toBe(true);
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings).not.toContain("MaxListenersExceededWarning");
  });
});
