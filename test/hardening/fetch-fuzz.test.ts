// Hostile HTTP answers, fuzzed: a raw TCP server replies to each fetch with a mutated HTTP response
// (status lines, headers, Content-Length and chunk sizes that lie, NUL bytes, huge lines, early
// closes, redirects to garbage). safeFetch must resolve with the bytes it was promised or reject
// with a typed ImageEditError, within its own timeout; never an untyped error, never a hang.
import type net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_STATUS, ImageEditError } from "../../src/core/errors.js";
import { type FetchPolicy, safeFetch } from "../../src/fetch/index.js";
import { type RawAnswer, startRawAnswerServer, type TestServer } from "../fetch/servers.js";
import { Rng } from "./fuzz/prng.js";

const SEED = Number(process.env.FUZZ_SEED ?? 8080);
const COUNT = 150;
const BODY = Buffer.from("\x89PNG\r\n\x1a\n0123456789abcdef".repeat(8), "latin1");

let server: TestServer;
/** The raw answer for the next request, by request path. */
const answers = new Map<string, RawAnswer>();
let policy: FetchPolicy;

beforeAll(async () => {
  server = await startRawAnswerServer(answers);
  policy = {
    allowHosts: [`127.0.0.1:${server.port}`],
    maxBytes: 64 * 1024,
    timeoutMs: 800,
    connectTimeoutMs: 500,
    maxRedirects: 3,
  };
});
afterAll(async () => {
  await server?.close();
});

function valid(body = BODY, extra = ""): string {
  return `HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: ${body.length}\r\n${extra}\r\n`;
}

/** One hostile answer, and a label saying what it is. */
function hostile(rng: Rng, port: number): { label: string; answer: Buffer | ((s: net.Socket) => void) } {
  const body = BODY.subarray(0, rng.int(0, BODY.length));
  const kinds: [string, () => Buffer | ((s: net.Socket) => void)][] = [
    [
      "content-length larger than the body",
      () =>
        Buffer.concat([
          Buffer.from(
            valid(body).replace(/Content-Length: \d+/, `Content-Length: ${body.length + rng.int(1, 5000)}`),
            "latin1",
          ),
          body,
        ]),
    ],
    [
      "content-length smaller than the body",
      () =>
        Buffer.concat([
          Buffer.from(
            valid(body).replace(/Content-Length: \d+/, `Content-Length: ${Math.max(0, body.length - rng.int(1, 10))}`),
            "latin1",
          ),
          body,
        ]),
    ],
    [
      "content-length garbage",
      () =>
        Buffer.concat([
          Buffer.from(
            valid(body).replace(
              /Content-Length: \d+/,
              `Content-Length: ${rng.pick(["-1", "1e3", "0x10", "99999999999999999999", "12, 13", " ", "abc"])}`,
            ),
            "latin1",
          ),
          body,
        ]),
    ],
    [
      "two different content-lengths",
      () => Buffer.concat([Buffer.from(valid(body, `Content-Length: ${body.length + 3}\r\n`), "latin1"), body]),
    ],
    [
      "huge content-length",
      () => Buffer.from(valid(body).replace(/Content-Length: \d+/, "Content-Length: 9007199254740993"), "latin1"),
    ],
    [
      "chunk sizes that lie",
      () => {
        const size = rng.pick(["ffffffffffffffff", "-5", "zz", `${(body.length + 50).toString(16)}`, '1;ext="x', ""]);
        return Buffer.concat([
          Buffer.from(
            `HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n${size}\r\n`,
            "latin1",
          ),
          body,
          Buffer.from("\r\n0\r\n\r\n"),
        ]);
      },
    ],
    [
      "transfer-encoding unknown",
      () =>
        Buffer.concat([
          Buffer.from(
            `HTTP/1.1 200 OK\r\nTransfer-Encoding: ${rng.pick(["gzip, chunked", "identity", "chunked, gzip", "xchunked"])}\r\n\r\n`,
            "latin1",
          ),
          body,
        ]),
    ],
    [
      "status line garbage",
      () =>
        Buffer.concat([
          Buffer.from(
            `${rng.pick(["HTTP/1.1 2000 OK", "HTTP/9.9 200 OK", "HTTP/1.1 OK", "ICY 200 OK", "HTTP/1.1 -200 X", "\0\0\0\0"])}\r\nContent-Length: ${body.length}\r\n\r\n`,
            "latin1",
          ),
          body,
        ]),
    ],
    [
      "header without colon / with NUL",
      () =>
        Buffer.concat([
          Buffer.from(
            valid(body, rng.pick(["NoColonHere\r\n", "X-Bad: a\0b\r\n", "X-Bad\0: 1\r\n", " folded: line\r\n"])),
            "latin1",
          ),
          body,
        ]),
    ],
    [
      "huge header line",
      () =>
        Buffer.concat([
          Buffer.from(valid(body, `X-Big: ${"a".repeat(rng.pick([9000, 70_000, 300_000]))}\r\n`), "latin1"),
          body,
        ]),
    ],
    [
      "many headers",
      () =>
        Buffer.concat([
          Buffer.from(
            valid(body, Array.from({ length: rng.pick([500, 3000]) }, (_, i) => `X-H${i}: v\r\n`).join("")),
            "latin1",
          ),
          body,
        ]),
    ],
    ["no blank line, then close", () => Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n", "latin1")],
    ["closes after part of the status line", () => Buffer.from("HTTP/1.", "latin1")],
    [
      "bit flips in a valid answer",
      () => {
        const a = Buffer.concat([Buffer.from(valid(body), "latin1"), body]);
        for (let i = rng.int(1, 6); i > 0; i--) a[rng.int(0, Math.min(a.length, 80) - 1)] ^= 1 << rng.int(0, 7);
        return a;
      },
    ],
    [
      "redirect to garbage",
      () =>
        Buffer.from(
          `HTTP/1.1 ${rng.pick([301, 302, 307, 308])} Moved\r\nLocation: ${rng.pick(["http://", "http://[::1", "javascript:alert(1)", "file:///etc/passwd", "//", "http://127.0.0.1:0/", `http://127.0.0.1:${port}/loop`, "\0", "http://a b/", "gopher://127.0.0.1/"])}\r\nContent-Length: 0\r\n\r\n`,
          "latin1",
        ),
    ],
    ["1xx answers forever", () => Buffer.from("HTTP/1.1 100 Continue\r\n\r\n".repeat(rng.int(1, 50)), "latin1")],
    [
      "101 switching protocols",
      () =>
        Buffer.from(
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello",
          "latin1",
        ),
    ],
    ["HTTP/0.9 style body only", () => body],
    [
      "half an answer, then a reset",
      () => (s: net.Socket) => {
        s.write(Buffer.concat([Buffer.from(valid(body), "latin1"), body.subarray(0, body.length >> 1)]));
        setTimeout(() => s.resetAndDestroy(), 20);
      },
    ],
    [
      "headers, then silence",
      () => (s: net.Socket) => {
        s.write(valid(body));
      },
    ],
  ];
  const [label, make] = rng.pick(kinds);
  return { label, answer: make() };
}

describe(`hostile HTTP answers (seed ${SEED}, ${COUNT} answers)`, () => {
  it("every fetch resolves with what was promised or rejects typed, within its timeout", async () => {
    answers.set("/loop", Buffer.from(`HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n`, "latin1"));
    const rng = new Rng(SEED);
    const problems: string[] = [];
    const outcomes: Record<string, number> = {};
    for (let i = 0; i < COUNT; i++) {
      const { label, answer } = hostile(rng, server.port);
      answers.set(`/h${i}`, answer);
      const started = Date.now();
      const watchdog = new Promise<"hang">((r) => setTimeout(() => r("hang"), policy.timeoutMs + 5000));
      const result = await Promise.race([
        safeFetch(`http://127.0.0.1:${server.port}/h${i}`, policy).then(
          (r) => ({ ok: true as const, r }),
          (e: unknown) => ({ ok: false as const, e }),
        ),
        watchdog,
      ]);
      const what = `#${i} ${label}`;
      if (result === "hang") {
        problems.push(`${what}: no answer ${Date.now() - started} ms after the fetch started`);
        continue;
      }
      if (result.ok) {
        outcomes.ok = (outcomes.ok ?? 0) + 1;
        // Whatever came back is at most the cap and at most what the server sent.
        if (result.r.bytes !== result.r.data.length)
          problems.push(`${what}: bytes ${result.r.bytes} != data ${result.r.data.length}`);
        if (result.r.data.length > BODY.length) problems.push(`${what}: got more bytes than were sent`);
      } else if (result.e instanceof ImageEditError && result.e.code in ERROR_STATUS) {
        outcomes[result.e.code] = (outcomes[result.e.code] ?? 0) + 1;
      } else {
        problems.push(
          `${what}: untyped ${String((result.e as Error)?.stack ?? result.e)
            .split("\n")
            .slice(0, 3)
            .join(" | ")}`,
        );
      }
    }
    console.log(`hostile HTTP answers: ${JSON.stringify(outcomes)}`);
    expect(problems).toEqual([]);
    expect(outcomes.ok ?? 0).toBeGreaterThan(0);
  }, 120_000);
});

describe("named hostile answers", () => {
  // Found by the run above: Node emits neither 'response' nor 'error' for a 101 without an
  // 'upgrade' listener, and safeFetch used to wait forever, past its own total timeout.
  it("101 Switching Protocols fails FETCH_FAILED (not a hang)", async () => {
    answers.set(
      "/upgrade",
      Buffer.from("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", "latin1"),
    );
    const outcome = await Promise.race([
      safeFetch(`http://127.0.0.1:${server.port}/upgrade`, { ...policy, timeoutMs: 60_000 }).then(
        () => "resolved",
        (e: unknown) => e,
      ),
      new Promise((r) => setTimeout(() => r("hang"), 10_000)),
    ]);
    expect(outcome).toBeInstanceOf(ImageEditError);
    expect(outcome).toMatchObject({ code: "FETCH_FAILED" });
    expect((outcome as Error).message).toMatch(/101 Switching Protocols/);
  });
});
