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
  const declared = parseLength(opts.declaredLength);
  if (declared !== undefined && declared > maxBytes) {
    // Not read at all: stop the source now instead of letting it sit open.
    if (destroy && isReadable(source)) source.destroy();
    throw tooLarge(maxBytes, `the sender declares ${declared} bytes`, { declared });
  }
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

/** Reads a whole source into one Buffer under the cap. */
export async function readCapped(
  source: Readable | AsyncIterable<Uint8Array | string>,
  maxBytes: number,
  opts: CapOptions = {},
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of capStream(source, maxBytes, opts)) chunks.push(chunk);
  return Buffer.concat(chunks);
}
