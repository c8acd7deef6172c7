// The server's response class: what a response writes within one turn goes out as one socket
// write (headers with the first chunk, the last chunk with the chunked terminator), and a chunk
// written later still goes out at once (a progress stream is not held back).
import http, { type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { CoalescingResponse } from "../../src/adapters/local/coalescing-response.js";

type Handler = (res: ServerResponse, step: () => Promise<void>) => Promise<void> | void;

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/**
 * Serves one request with `handler` and reads the response as it arrives. Returns the number of
 * writes the server's socket made, the body, and the body as received before each `step()` of the
 * handler returned (the handler calls step() to wait for the client to see what was sent).
 */
async function exchange(responseClass: typeof ServerResponse, handler: Handler) {
  let writes = 0;
  const seen: string[] = [];
  let body = "";
  let arrived: (() => void) | undefined;
  const server = http.createServer({ ServerResponse: responseClass }, (_req, res) => {
    const step = () =>
      new Promise<void>((resolve) => {
        const before = seen.at(-1)?.length ?? 0;
        const check = () => {
          arrived = undefined;
          if (body.length > before) {
            seen.push(body);
            resolve();
          } else arrived = check;
        };
        setTimeout(check, 20);
      });
    void handler(res, step);
  });
  // Count what the socket hands to the kernel: one _write or _writev per system call.
  server.on("connection", (socket: Socket) => {
    const s = socket as Socket & { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };
    const write = s._write.bind(s);
    const writev = s._writev.bind(s);
    s._write = (...a) => {
      writes++;
      write(...a);
    };
    s._writev = (...a) => {
      writes++;
      writev(...a);
    };
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve, reject) => {
    http
      .get({ port, host: "127.0.0.1", path: "/" }, (res) => {
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          body += d;
          arrived?.();
        });
        res.on("end", resolve);
      })
      .on("error", reject);
  });
  return { writes, body, seen };
}

const stream: Handler = async (res, step) => {
  res.writeHead(200, { "content-type": "text/event-stream" });
  res.flushHeaders();
  res.write("a\n\n");
  await step();
  res.write("b\n\n");
  res.write("c\n\n");
  res.end();
};

describe("CoalescingResponse", () => {
  it("sends a turn's headers and chunks as one write, and a stream's end with its last chunk", async () => {
    const r = await exchange(CoalescingResponse as unknown as typeof ServerResponse, stream);
    expect(r.body).toBe("a\n\nb\n\nc\n\n");
    // headers + "a" (one turn), then "b" + "c" + the chunked terminator (another)
    expect(r.writes).toBe(2);
    // the first chunk reached the client before the handler wrote anything else
    expect(r.seen).toEqual(["a\n\n"]);
  });

  it("writes fewer times than Node's own response", async () => {
    const r = await exchange(http.ServerResponse, stream);
    expect(r.body).toBe("a\n\nb\n\nc\n\n");
    // the headers on their own, then at least one more for "b", "c" and the terminator
    expect(r.writes).toBeGreaterThan(2);
  });

  it("leaves a plain response as Node sends it: one write", async () => {
    const r = await exchange(CoalescingResponse as unknown as typeof ServerResponse, (res) => {
      res.writeHead(202, { "content-type": "application/json" });
      res.end('{"ok":true}');
    });
    expect(r.body).toBe('{"ok":true}');
    expect(r.writes).toBe(1);
  });

  it("keeps a large body whole, with back-pressure", async () => {
    const big = "x".repeat(1 << 20);
    const r = await exchange(CoalescingResponse as unknown as typeof ServerResponse, (res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      let i = 0;
      const pump = () => {
        while (i < 8)
          if (!res.write(big.slice(i++ * (big.length / 8), i * (big.length / 8)))) return res.once("drain", pump);
        res.end();
      };
      pump();
    });
    expect(r.body).toBe(big);
  });
});
