import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import { capStream, parseLength, readCapped } from "../../src/fetch/cap.js";
import { failure } from "../helpers/errors.js";
import { memoryGrowth, oneByteChunks } from "./memory.js";

/** A generator that yields `count` chunks of `size` bytes and records how many were pulled. */
function source(count: number, size: number) {
  const state = { pulled: 0, finished: false };
  async function* gen() {
    try {
      for (let i = 0; i < count; i++) {
        state.pulled++;
        yield new Uint8Array(size).fill(i % 256);
      }
    } finally {
      state.finished = true;
    }
  }
  return { iterable: gen(), state };
}

describe("capStream / readCapped", () => {
  it("passes everything through up to exactly the cap", async () => {
    const { iterable } = source(10, 100);
    const data = await readCapped(iterable, 1000);
    expect(data.length).toBe(1000);
    expect(data[0]).toBe(0);
    expect(data[999]).toBe(9);
  });

  it("fails one byte over the cap, with the limit in the message, and stops pulling", async () => {
    const { iterable, state } = source(1000, 100);
    const e = await failure(readCapped(iterable, 1050));
    expect(e.code).toBe("IMAGE_TOO_LARGE");
    expect(e.message).toBe(
      "image is larger than allowed: more than 1.0 KB (1,050 bytes) arrived; the limit is 1.0 KB (MAX_IMAGE_SIZE)",
    );
    expect(e.details).toMatchObject({ limit: 1050, received: 1100 });
    expect(state.pulled).toBe(11);
    expect(state.finished).toBe(true); // the source was closed, not left hanging
  });

  it("refuses before reading when the declared length is over the cap, and destroys the Readable", async () => {
    let reads = 0;
    const readable = new Readable({
      read() {
        reads++;
        this.push(Buffer.alloc(10));
      },
    });
    const e = await failure(readCapped(readable, 26_214_400, { declaredLength: "30000000" }));
    expect(e.message).toBe(
      "image is larger than allowed: the sender declares 28.6 MB (30,000,000 bytes); the limit is 25.0 MB (MAX_IMAGE_SIZE)",
    );
    expect(reads).toBe(0);
    expect(readable.destroyed).toBe(true);
  });

  it("never trusts a declared length below the truth", async () => {
    const { iterable } = source(5, 1000);
    const e = await failure(readCapped(iterable, 2000, { declaredLength: 10 }));
    expect(e.code).toBe("IMAGE_TOO_LARGE");
  });

  it("destroys a Readable source that goes over the cap", async () => {
    const readable = Readable.from(
      (async function* () {
        for (;;) yield Buffer.alloc(4096);
      })(),
    );
    const e = await failure(readCapped(readable, 10_000));
    expect(e.code).toBe("IMAGE_TOO_LARGE");
    expect(readable.destroyed).toBe(true);
  });

  it("leaves a Readable open when asked (a server that still has to answer 413)", async () => {
    const readable = Readable.from([Buffer.alloc(600), Buffer.alloc(600), Buffer.from("rest")]);
    const e = await failure(readCapped(readable, 1000, { destroySource: false }));
    expect(e.code).toBe("IMAGE_TOO_LARGE");
    expect(readable.destroyed).toBe(false);
    const left: Buffer[] = [];
    for await (const c of readable) left.push(c);
    expect(Buffer.concat(left).toString()).toBe("rest");
    const declared = new Readable({ read() {} });
    await failure(readCapped(declared, 10, { declaredLength: 11, destroySource: false }));
    expect(declared.destroyed).toBe(false);
  });

  it("reads a Readable whole, whatever length it declares, into a buffer that owns its memory", async () => {
    const body = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));
    const chunked = () => {
      const r = new Readable({ read() {} });
      for (let i = 0; i < body.length; i += 1000) r.push(body.subarray(i, i + 1000));
      r.push(null);
      return r;
    };
    for (const declaredLength of [5000, 4000, 6000, undefined]) {
      const totals: number[] = [];
      const data = await readCapped(chunked(), 10_000, { declaredLength, onBytes: (n) => totals.push(n) });
      expect(data.equals(body)).toBe(true);
      expect(totals).toEqual([1000, 2000, 3000, 4000, 5000]);
      // the whole ArrayBuffer: it can move to a worker thread without a copy
      expect(data.byteOffset === 0 && data.buffer.byteLength === data.length).toBe(true);
    }
    // a lying declared length does not lift the cap
    expect((await failure(readCapped(chunked(), 4500, { declaredLength: 4000 }))).code).toBe("IMAGE_TOO_LARGE");
  });

  it("keeps memory bounded by the cap, not by the number of chunks (2 MB in 1-byte chunks)", async () => {
    const body = Buffer.from(Array.from({ length: 2 * 1024 * 1024 }, (_, i) => (i * 31) % 251));
    for (const declaredLength of [undefined, body.length, 1000]) {
      const growth = memoryGrowth();
      const onBytes = (n: number) => n % 65_536 === 0 && growth.sample();
      const data = await readCapped(Readable.from(oneByteChunks(body)), 4 * 1024 * 1024, { declaredLength, onBytes });
      growth.sample();
      expect(data.equals(body)).toBe(true);
      expect(data.byteOffset === 0 && data.buffer.byteLength === data.length).toBe(true);
      expect(growth.peak).toBeLessThan(40 * 1024 * 1024);
    }
    // the generic path (any async iterable, or a Readable left open) as well
    const growth = memoryGrowth();
    const onBytes = (n: number) => n % 65_536 === 0 && growth.sample();
    const data = await readCapped(oneByteChunks(body), 4 * 1024 * 1024, { onBytes });
    growth.sample();
    expect(data.equals(body)).toBe(true);
    expect(growth.peak).toBeLessThan(40 * 1024 * 1024);
  });

  it("still stops at the cap when the body comes in 1-byte chunks", async () => {
    const body = Buffer.alloc(300_000, 1);
    for (const opts of [{}, { destroySource: false }, { declaredLength: 1000 }]) {
      const e = await failure(readCapped(Readable.from(oneByteChunks(body)), 200_000, opts));
      expect(e.code).toBe("IMAGE_TOO_LARGE");
      expect(e.details).toMatchObject({ limit: 200_000, received: 200_001 });
    }
  });

  it("fails with the source's error, or when the source closes before its end", async () => {
    const broken = new Readable({ read() {} });
    broken.push(Buffer.alloc(10));
    setImmediate(() => broken.destroy(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })));
    const rejection = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(await rejection(readCapped(broken, 1000))).toMatchObject({ code: "ECONNRESET" });
    const cut = new Readable({ read() {} });
    cut.push(Buffer.alloc(10));
    setImmediate(() => cut.destroy());
    expect(await rejection(readCapped(cut, 1000))).toMatchObject({ code: "ERR_STREAM_PREMATURE_CLOSE" });
  });

  it("accepts strings and Uint8Arrays and reports running totals", async () => {
    const totals: number[] = [];
    const data = await readCapped(
      (async function* () {
        yield "abc";
        yield new Uint8Array([100, 101]);
        yield Buffer.from("f");
      })(),
      10,
      { onBytes: (n) => totals.push(n) },
    );
    expect(data.toString()).toBe("abcdef");
    expect(totals).toEqual([3, 5, 6]);
  });

  it("works as a stage in a pipeline through Readable.from", async () => {
    const chunks: Buffer[] = [];
    await pipeline(Readable.from(capStream(source(4, 256).iterable, 1024)), async (s: AsyncIterable<Buffer>) => {
      for await (const c of s) chunks.push(c);
    });
    expect(Buffer.concat(chunks).length).toBe(1024);
    const e = await failure(
      pipeline(Readable.from(capStream(source(5, 256).iterable, 1024)), async (s: AsyncIterable<Buffer>) => {
        for await (const _ of s) {
        }
      }),
    );
    expect(e.code).toBe("IMAGE_TOO_LARGE");
  });
});

describe("parseLength", () => {
  it.each([
    ["123", 123],
    [" 42 ", 42],
    [["7", "8"], 7],
    [5, 5],
    ["", undefined],
    ["-1", undefined],
    ["1e3", undefined],
    ["12abc", undefined],
    ["99999999999999999999", undefined],
    [undefined, undefined],
  ] as const)("%j -> %s", (input, expected) => {
    expect(parseLength(input as string | string[] | number | undefined)).toBe(expected);
  });
});
