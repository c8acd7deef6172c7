// Reads an uploaded body under the byte cap and decides what it is from its first bytes; a body
// that does not start like an image is refused before the rest is read.
import type { Readable } from "node:stream";
import { type CapOptions, capStream } from "./cap.js";
import { type ImageType, requireImageType, SNIFF_BYTES } from "./sniff.js";

export interface Upload {
  data: Buffer;
  type: ImageType;
}

export async function readUpload(
  stream: Readable | AsyncIterable<Uint8Array | string>,
  maxBytes: number,
  opts: CapOptions = {},
): Promise<Upload> {
  const chunks: Buffer[] = [];
  let received = 0;
  let type: ImageType | undefined;
  for await (const chunk of capStream(stream, maxBytes, opts)) {
    chunks.push(chunk);
    received += chunk.length;
    if (!type && received >= SNIFF_BYTES) {
      // Throwing here ends the loop, which stops (or destroys) the source: the rest is never read.
      type = requireImageType(Buffer.concat(chunks), "the upload");
    }
  }
  const data = Buffer.concat(chunks);
  return { data, type: type ?? requireImageType(data, "the upload") };
}
