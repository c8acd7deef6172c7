import http from "node:http";
import type net from "node:net";
import { Readable } from "node:stream";
import busboy from "busboy";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ImageEditError } from "../../src/core/errors.js";
import { readUpload } from "../../src/fetch/upload.js";
import { failure } from "../helpers/errors.js";
import { memoryGrowth, oneByteChunks } from "./memory.js";

let jpeg: Buffer;

beforeAll(async () => {
  // Noise, so the JPEG is tens of kilobytes rather than a few hundred bytes.
  const pixels = Buffer.alloc(200 * 150 * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7919) % 251;
  jpeg = await sharp(pixels, { raw: { width: 200, height: 150, channels: 3 } })
    .jpeg({ quality: 95 })
    .toBuffer();
  expect(jpeg.length).toBeGreaterThan(10_000);
});

/** Splits a buffer into a Readable of `size`-byte chunks, counting how many were read. */
function chunked(data: Buffer, size: number) {
  const state = { pulled: 0 };
  const readable = Readable.from(
    (async function* () {
      for (let i = 0; i < data.length; i += size) {
        state.pulled++;
        yield data.subarray(i, i + size);
      }
    })(),
  );
  return { readable, state };
}

describe("readUpload", () => {
  it("reads an image and sniffs it, whatever the chunking", async () => {
    for (const size of [1, 7, 4096, 1 << 20]) {
      const { readable } = chunked(jpeg, size);
      const up = await readUpload(readable, 1_000_000);
      expect(up.data.equals(jpeg), String(size)).toBe(true);
      expect(up.type).toEqual({ format: "jpeg", mime: "image/jpeg", ext: "jpg" });
    }
  });

  it("keeps memory bounded by the cap, not by the number of chunks (2 MB in 1-byte chunks)", async () => {
    const body = Buffer.alloc(2 * 1024 * 1024, 0x5a);
    jpeg.copy(body); // an image's first bytes, then filler
    const growth = memoryGrowth();
    const up = await readUpload(oneByteChunks(body), 4 * 1024 * 1024, {
      onBytes: (n) => n % 65_536 === 0 && growth.sample(),
    });
    growth.sample();
    expect(up.type.format).toBe("jpeg");
    expect(up.data.equals(body)).toBe(true);
    expect(growth.peak).toBeLessThan(40 * 1024 * 1024);
  });

  it("accepts a small SVG read to the end before sniffing", async () => {
    const svg = Buffer.from('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>');
    const up = await readUpload(Readable.from([svg]), 1_000_000);
    expect(up.type.format).toBe("svg");
  });

  it("reads on past the first 4 KB for an SVG whose prologue is longer, up to 64 KB, whatever the chunking", async () => {
    const root = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>';
    const svg = (comment: number) =>
      Buffer.from(`<?xml version="1.0"?>\n<!-- ${"licence text ".repeat(comment / 13)} -->\n${root}`);
    for (const size of [1000, 4096, 65_536]) {
      const up = await readUpload(chunked(svg(10_000), size).readable, 1_000_000);
      expect(up.type.format).toBe("svg");
    }
    // Past 64 KB, or XML that is no SVG: refused, having read about 64 KB at most.
    const long = chunked(svg(70_000), 1024);
    expect((await failure(readUpload(long.readable, 1_000_000))).code).toBe("UNSUPPORTED_FORMAT");
    expect(long.state.pulled).toBeLessThanOrEqual(65);
    long.readable.destroy();
    const html = chunked(Buffer.from(`<!-- ${"x".repeat(10_000)} --><html>${"y".repeat(200_000)}</html>`), 1024);
    expect((await failure(readUpload(html.readable, 1_000_000))).code).toBe("UNSUPPORTED_FORMAT");
    expect(html.state.pulled).toBeLessThanOrEqual(65);
    html.readable.destroy();
  });

  it("refuses a non-image after its first bytes, without reading the rest", async () => {
    const text = Buffer.alloc(1_000_000, "this is not an image. ");
    const { readable, state } = chunked(text, 1024);
    const e = await failure(readUpload(readable, 10_000_000));
    expect(e.code).toBe("UNSUPPORTED_FORMAT");
    expect(e.message).toMatch(/^the upload is not a supported image/);
    expect(state.pulled).toBeLessThan(10);
    // Left to the caller, who may still drain it (or destroy it).
    expect(readable.destroyed).toBe(false);
    readable.destroy();
  });

  it("refuses a wrong-magic file named like an image (the name is never consulted)", async () => {
    const fake = Buffer.concat([Buffer.from("%PDF-1.4\n"), Buffer.alloc(100)]);
    const e = await failure(readUpload(Readable.from([fake]), 1_000_000));
    expect(e.code).toBe("UNSUPPORTED_FORMAT");
  });

  it("refuses an empty body", async () => {
    const e = await failure(readUpload(Readable.from([]), 1000));
    expect(e.code).toBe("UNSUPPORTED_FORMAT");
    expect(e.message).toBe("the upload is empty");
  });

  it("caps while streaming: IMAGE_TOO_LARGE with the limit", async () => {
    const { readable, state } = chunked(jpeg, 256);
    const e = await failure(readUpload(readable, 1000));
    expect(e.code).toBe("IMAGE_TOO_LARGE");
    expect(e.message).toMatch(/the limit is 1000 B \(MAX_IMAGE_SIZE\)$/);
    // 4 chunks pass 1000 bytes; Readable.from may have pulled one ahead, never the whole image.
    expect(state.pulled).toBeLessThanOrEqual(5);
    expect(readable.destroyed).toBe(false);
  });

  it("destroys the source on refusal when asked", async () => {
    const { readable } = chunked(jpeg, 256);
    await failure(readUpload(readable, 1000, { destroySource: true }));
    expect(readable.destroyed).toBe(true);
  });

  it("refuses early on a declared length over the cap", async () => {
    const { readable, state } = chunked(jpeg, 256);
    const e = await failure(readUpload(readable, 1000, { declaredLength: String(jpeg.length) }));
    expect(e.code).toBe("IMAGE_TOO_LARGE");
    expect(state.pulled).toBe(0);
  });

  describe("from a real HTTP request body", () => {
    let server: http.Server;
    let port: number;
    beforeAll(async () => {
      server = http.createServer(async (req, res) => {
        try {
          // The default keeps the request (and its socket) open, so the error can be answered.
          const up = await readUpload(req, 5000, { declaredLength: req.headers["content-length"] });
          res.writeHead(201, { "content-type": "application/json" });
          res.end(JSON.stringify({ bytes: up.data.length, format: up.type.format }));
        } catch (e) {
          const err = e as ImageEditError;
          res.writeHead(err.status, { "content-type": "application/json", connection: "close" });
          res.end(JSON.stringify({ error: err.toJSON() }));
        }
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      port = (server.address() as net.AddressInfo).port;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    const post = (body: Buffer) =>
      fetch(`http://127.0.0.1:${port}/`, { method: "POST", body }).then(async (r) => ({
        status: r.status,
        // biome-ignore lint/suspicious/noExplicitAny: the test reads whatever JSON came back
        json: (await r.json()) as any,
      }));

    it("accepts an image and answers 413 / 415 for the others", async () => {
      const small = await sharp({ create: { width: 8, height: 8, channels: 3, background: "#000" } })
        .png()
        .toBuffer();
      expect(await post(small)).toEqual({ status: 201, json: { bytes: small.length, format: "png" } });
      const big = await post(Buffer.concat([small, Buffer.alloc(10_000)]));
      expect(big.status).toBe(413);
      expect(big.json.error.code).toBe("IMAGE_TOO_LARGE");
      const text = await post(Buffer.from("hello"));
      expect(text.status).toBe(415);
      expect(text.json.error.code).toBe("UNSUPPORTED_FORMAT");
    });

    it("answers 413 to a chunked body (no Content-Length) that passes the cap mid-stream", async () => {
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request({ host: "127.0.0.1", port, method: "POST", path: "/" }, (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (c) => (body += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("error", reject);
        req.write(jpeg.subarray(0, 4000));
        req.end(jpeg.subarray(4000, 8000));
      });
      expect(answer.status).toBe(413);
      expect(JSON.parse(answer.body).error.message).toMatch(/more than 4\.9 KB \(5,000 bytes\) arrived/);
    });
  });
});

describe("readUpload on a busboy file stream", () => {
  const boundary = "----imgedit-test";
  const multipart = (file: Buffer) =>
    Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n`,
      ),
      file,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);

  /** Parses the body with busboy, reading the file with readUpload and draining it on refusal. */
  function parse(body: Buffer, maxBytes: number): Promise<{ closed: boolean; result: string }> {
    return new Promise((resolve) => {
      const bb = busboy({ headers: { "content-type": `multipart/form-data; boundary=${boundary}` } });
      let got: Promise<string> | undefined;
      bb.on("file", (_name, stream) => {
        got = readUpload(stream, maxBytes).then(
          (u) => `${u.type.format} ${u.data.length}`,
          (e: ImageEditError) => {
            stream.resume();
            return e.code;
          },
        );
      });
      bb.on("close", () => got?.then((result) => resolve({ closed: true, result })));
      const chunks: Buffer[] = [];
      for (let i = 0; i < body.length; i += 16 * 1024) chunks.push(body.subarray(i, i + 16 * 1024));
      Readable.from(chunks).pipe(bb);
    });
  }

  it("reads an image", async () => {
    expect(await parse(multipart(jpeg), 1_000_000)).toEqual({ closed: true, result: `jpeg ${jpeg.length}` });
  });

  it("refuses a large non-image and busboy still finishes (the file stream is not destroyed)", async () => {
    expect(await parse(multipart(Buffer.alloc(2_000_000, "not an image ")), 10_000_000)).toEqual({
      closed: true,
      result: "UNSUPPORTED_FORMAT",
    });
  });

  it("refuses an oversized image and busboy still finishes", async () => {
    expect(await parse(multipart(jpeg), 5000)).toEqual({ closed: true, result: "IMAGE_TOO_LARGE" });
  });
});
