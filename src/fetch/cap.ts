// Byte caps enforced while streaming: the count of bytes actually received decides, never a
// Content-Length header; a declared length above the cap only lets us refuse before reading.
import type { Readable } from "node:stream";
import { ImageEditError } from "../core/errors.js";

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${+(n / (1024 * 1024)).toFixed(1)} MB`;
  if (n >= 1024) return `${+(n / 1024).toFixed(1)} KB`;
  return `${n} bytes`;
}

export function tooLarge(maxBytes: number, detail: string, details: Record<string, unknown> = {}): ImageEditError {
  return new ImageEditError(
    "IMAGE_TOO_LARGE",
    `image is larger than the limit of ${maxBytes} bytes (${formatBytes(maxBytes)}): ${detail}`,
    { details: { limit: maxBytes, ...details } },
  );
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
      throw tooLarge(maxBytes, `received more than ${maxBytes} bytes`, { received: total });
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
    throw tooLarge(maxBytes, `the sender declares ${declared} bytes`, { declared });
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
  const chunks: Buffer[] = [];
  for await (const chunk of capStream(source, maxBytes, opts)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * readCapped for a Readable (a fetched body), by its 'data' events: no promise per chunk, and when
 * the sender declared a length the chunks are copied into one buffer of that size as they come,
 * instead of joined at the end. The declared length only sizes that buffer: a body longer or
 * shorter than declared is still read and counted as it really is.
 */
function readReadable(
  source: Readable,
  maxBytes: number,
  declared: number | undefined,
  onBytes?: (bytes: number) => void,
): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    let total = 0;
    let whole = declared ? Buffer.allocUnsafe(declared) : undefined;
    const chunks: Buffer[] = [];
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
      const at = total;
      total += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
      if (total > maxBytes)
        return settle(tooLarge(maxBytes, `received more than ${maxBytes} bytes`, { received: total }));
      if (whole && total <= whole.length && typeof chunk !== "string") whole.set(chunk, at);
      else {
        if (whole) chunks.push(whole.subarray(0, at));
        whole = undefined;
        chunks.push(
          typeof chunk === "string" ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length),
        );
      }
      onBytes?.(total);
    };
    const onEnd = () => {
      if (!whole) return settle(undefined, Buffer.concat(chunks, total));
      settle(undefined, total === whole.length ? whole : Buffer.from(whole.subarray(0, total)));
    };
    const onError = (e: unknown) => settle(e);
    // Closed without 'end' or 'error': the body was cut short.
    const onClose = () => settle(Object.assign(new Error("Premature close"), { code: "ERR_STREAM_PREMATURE_CLOSE" }));
    source.on("data", onData);
    source.on("end", onEnd);
    source.on("error", onError);
    source.on("close", onClose);
  });
}
