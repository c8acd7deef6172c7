// Reads an uploaded body under the byte cap and decides what it is from its first bytes; a body
// that does not start like an image is refused before the rest is read.
import type { Readable } from "node:stream";
import { ByteAccumulator, type CapOptions, capStream } from "./cap.js";
import {
  type ImageType,
  opensLikeXml,
  requireImageType,
  SNIFF_BYTES,
  SVG_PROLOGUE_BYTES,
  sniffInput,
} from "./sniff.js";

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
  // One growing copy, never the chunks themselves: memory stays O(cap) however small they are. Not
  // sized by the declared length: a client could then hold the whole cap with a few bytes sent.
  const acc = new ByteAccumulator(maxBytes);
  let type: ImageType | undefined;
  for await (const chunk of capStream(stream, maxBytes, opts)) {
    acc.push(chunk);
    if (!type && acc.length >= SNIFF_BYTES) {
      // An SVG's prologue may run past the first bytes: read on to SVG_PROLOGUE_BYTES for its root.
      const view = acc.view();
      if (acc.length < SVG_PROLOGUE_BYTES && !sniffInput(view) && opensLikeXml(view)) continue;
      // Throwing here ends the loop and stops reading the source: the rest is never read.
      type = requireImageType(view, "the upload");
    }
  }
  const data = acc.take();
  return { data, type: type ?? requireImageType(data, "the upload") };
}
