// Reads an uploaded body under the byte cap and decides what it is from its first bytes; a body
// that does not start like an image is refused before the rest is read.
import type { Readable } from "node:stream";
import { type CapOptions, capStream } from "./cap.js";
import { type ImageType, requireImageType, SNIFF_BYTES } from "./sniff.js";

export interface Upload {
  data: Buffer;
  type: ImageType;
}

/**
 * Reads `stream` whole (at most `maxBytes`) and sniffs it: IMAGE_TOO_LARGE past the cap,
 * UNSUPPORTED_FORMAT for a body that is empty or does not start like an image (decided after
 * the first 4 KB, so the rest of a non-image is never read).
 *
 * A Readable is NOT destroyed on refusal unless `destroySource: true`: the caller owns it and
 * either drains it (`stream.resume()`) or closes it. Destroying a server's request body kills
 * the socket before a 413/415 can be sent, and destroying a busboy file stream stalls busboy.
 */
export async function readUpload(
  stream: Readable | AsyncIterable<Uint8Array | string>,
  maxBytes: number,
  opts: CapOptions = {},
): Promise<Upload> {
  opts = { ...opts, destroySource: opts.destroySource ?? false };
  const chunks: Buffer[] = [];
  let received = 0;
  let type: ImageType | undefined;
  for await (const chunk of capStream(stream, maxBytes, opts)) {
    chunks.push(chunk);
    received += chunk.length;
    if (!type && received >= SNIFF_BYTES) {
      // Throwing here ends the loop and stops reading the source: the rest is never read.
      type = requireImageType(Buffer.concat(chunks), "the upload");
    }
  }
  const data = Buffer.concat(chunks);
  return { data, type: type ?? requireImageType(data, "the upload") };
}
