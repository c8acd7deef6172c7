// Byte caps enforced while streaming: the count of bytes actually received decides, never a
// Content-Length header; a declared length above the cap only lets us refuse before reading.
import type { Readable } from "node:stream";
import { byteLimit, describeBytes } from "../core/bytes.js";
import { ImageEditError } from "../core/errors.js";

export function tooLarge(maxBytes: number, detail: string, details: Record<string, unknown> = {}): ImageEditError {
  return new ImageEditError("IMAGE_TOO_LARGE", `image is larger than allowed: ${detail}; ${byteLimit(maxBytes)}`, {
    details: { limit: maxBytes, ...details },
  });
}

/** A Content-Length (or similar) header value as a number; undefined when absent or malformed. */
export function parseLength(value: string | string[] | number | undefined): number | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (Array.isArray(value)) value = value[0];
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

export interface CapOptions {
  /** What the sender says it will send (e.g. Content-Length); above the cap fails before reading. */
  declaredLength?: string | string[] | number;
  /** Called after each chunk with the running total. */
  onBytes?: (bytes: number) => void;
  /**
   * Destroy a Readable source when the cap is hit or the iteration stops early (default true).
   * A server reading a request body passes false: destroying an IncomingMessage destroys its
   * socket, and then no 413 answer can be sent.
   */
  destroySource?: boolean;
}

function isReadable(source: unknown): source is Readable {
  return typeof (source as Readable)?.destroy === "function" && typeof (source as Readable)?.iterator === "function";
}

/**
 * The bytes of a body as they arrive, copied into one buffer: memory is O(bytes kept) whatever the
 * chunking. Keeping the chunks themselves (or views of them) costs an object per chunk and pins
 * each chunk's whole allocation: a body sent in 1-byte chunks then takes gigabytes under a
 * megabyte cap. The buffer grows geometrically and never past `limit` (the cap: the caller
 * refuses a total above it before adding), or starts at the declared length.
 */
export class ByteAccumulator {
  private buf: Buffer;
  private used = 0;

  constructor(
    private readonly limit: number,
    initial = 0,
  ) {
    this.buf = Buffer.allocUnsafeSlow(Math.max(0, Math.min(initial, limit)));
  }

  get length(): number {
    return this.used;
  }

  push(chunk: Uint8Array | string): void {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    const need = this.used + bytes.length;
    if (need > this.buf.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(need, Math.min(this.limit, Math.max(16_384, this.buf.length * 2))));
      this.buf.copy(grown, 0, 0, this.used);
      this.buf = grown;
    }
    this.buf.set(bytes, this.used);
    this.used = need;
  }

  /** The bytes so far, without a copy (valid until the next push). */
  view(): Buffer {
    return this.buf.subarray(0, this.used);
  }

  /** The bytes, in a Buffer that owns its whole ArrayBuffer (it can move to a worker thread). */
  take(): Buffer {
    const { buf, used } = this;
    this.buf = Buffer.alloc(0);
    this.used = 0;
    if (used === buf.length) return buf;
    const exact = Buffer.allocUnsafeSlow(used);
    buf.copy(exact, 0, 0, used);
    return exact;
  }
}

/**
 * Passes chunks through as Buffers and fails with IMAGE_TOO_LARGE as soon as the running total
 * passes `maxBytes`. Stopping the iteration (including by this error) destroys a Readable source,
 * so the rest is never read, unless `destroySource: false`. As a stream stage:
 * `Readable.from(capStream(src, max))`.
 */
export async function* capStream(
  source: Readable | AsyncIterable<Uint8Array | string>,
  maxBytes: number,
  opts: CapOptions = {},
): AsyncGenerator<Buffer, void, undefined> {
  const destroy = opts.destroySource ?? true;
  refuseDeclared(source, maxBytes, opts);
  const chunks: AsyncIterable<Uint8Array | string> =
    !destroy && isReadable(source) ? source.iterator({ destroyOnReturn: false }) : source;
  let total = 0;
  for await (const chunk of chunks) {
    const buf = typeof chunk === "string" ? Buffer.from(chunk) : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    total += buf.length;
    if (total > maxBytes) {
      throw tooLarge(maxBytes, `more than ${describeBytes(maxBytes)} arrived`, { received: total });
    }
    opts.onBytes?.(total);
    yield buf;
  }
}

/** A declared length above the cap: refused before anything is read (returns the declared length). */
function refuseDeclared(source: unknown, maxBytes: number, opts: CapOptions): number | undefined {
  const declared = parseLength(opts.declaredLength);
  if (declared !== undefined && declared > maxBytes) {
    // Not read at all: stop the source now instead of letting it sit open.
    if ((opts.destroySource ?? true) && isReadable(source)) source.destroy();
    throw tooLarge(maxBytes, `the sender declares ${describeBytes(declared)}`, { declared });
  }
  return declared;
}

/** Reads a whole source into one Buffer under the cap. */
export async function readCapped(
  source: Readable | AsyncIterable<Uint8Array | string>,
  maxBytes: number,
  opts: CapOptions = {},
): Promise<Buffer> {
  if (isReadable(source) && (opts.destroySource ?? true) && !source.readableEnded && !source.destroyed)
    return readReadable(source, maxBytes, refuseDeclared(source, maxBytes, opts), opts.onBytes);
  const acc = new ByteAccumulator(maxBytes);
  for await (const chunk of capStream(source, maxBytes, opts)) acc.push(chunk);
  return acc.take();
}

/**
 * readCapped for a Readable (a fetched body), by its 'data' events: no promise per chunk, and the
 * chunks are copied into one buffer as they come (sized by the declared length when the sender
 * gave one), instead of kept and joined at the end. The declared length only sizes that buffer: a
 * body longer or shorter than declared is still read and counted as it really is.
 */
function readReadable(
  source: Readable,
  maxBytes: number,
  declared: number | undefined,
  onBytes?: (bytes: number) => void,
): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    let total = 0;
    const acc = new ByteAccumulator(maxBytes, declared);
    const settle = (err: unknown, data?: Buffer) => {
      source.off("data", onData);
      source.off("end", onEnd);
      source.off("error", onError);
      source.off("close", onClose);
      // An error after the end (a socket torn down later) must not become an unhandled 'error'.
      source.on("error", () => {});
      if (err === undefined) return resolve(data!);
      source.destroy();
      reject(err);
    };
    const onData = (chunk: Uint8Array | string) => {
      total += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
      if (total > maxBytes)
        return settle(tooLarge(maxBytes, `more than ${describeBytes(maxBytes)} arrived`, { received: total }));
      acc.push(chunk);
      onBytes?.(total);
    };
    const onEnd = () => settle(undefined, acc.take());
    const onError = (e: unknown) => settle(e);
    // Closed without 'end' or 'error': the body was cut short.
    const onClose = () => settle(Object.assign(new Error("Premature close"), { code: "ERR_STREAM_PREMATURE_CLOSE" }));
    source.on("data", onData);
    source.on("end", onEnd);
    source.on("error", onError);
    source.on("close", onClose);
  });
}
