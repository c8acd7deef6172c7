// sharp/libvips report failures as plain Error messages; map them to typed errors once.
import { ImageEditError, isImageEditError } from "./errors.js";

/**
 * @param phase "decode" when the failing pipeline read the encoded input (a libvips error there
 *   means the file is bad), "process" when it only worked on pixels we produced.
 */
export function sharpError(e: unknown, phase: "decode" | "process"): ImageEditError {
  if (isImageEditError(e)) return e;
  const raw = e instanceof Error ? e.message : String(e);
  const message = raw.split("\n")[0].trim();
  if (/unsupported image format/i.test(raw))
    return new ImageEditError("UNSUPPORTED_FORMAT", "the input is not an image format imgedit reads", { cause: e });
  if (/exceeds pixel limit/i.test(raw))
    return new ImageEditError("PIXEL_LIMIT", "the image has more pixels than the input pixel limit", { cause: e });
  if (/^timeout\b|timeout:/i.test(raw))
    return new ImageEditError("PROCESSING_TIMEOUT", `image processing took too long (${message})`, { cause: e });
  // sharp's own size limits of the encoders, reachable when MAX_DIMENSIONS is set above them:
  // the request's fault (choose another format or a smaller size), not a server failure.
  const encoder = /too large for the (\w+) format/i.exec(raw);
  if (encoder) {
    const [name, max] = ENCODER_MAX[encoder[1].toUpperCase()] ?? [encoder[1], undefined];
    return new ImageEditError(
      "DIMENSIONS_TOO_LARGE",
      `the result is too large for ${name} output${max ? ` (at most ${max} px per side)` : ""}: resize it or choose PNG or TIFF`,
      { details: max ? { limit: max } : undefined, cause: e },
    );
  }
  if (/corrupt header/i.test(raw)) {
    // libvips names no reason when the file ends inside its header (a PNG cut after 33 bytes).
    const why = detail(raw) || "the file ends before its header does, or the header is unreadable";
    return new ImageEditError("CORRUPT_IMAGE", `the image header is corrupt: ${why}`, { cause: e });
  }
  // The decoder gave bands libvips cannot name (e.g. a TIFF claiming RGB with one sample).
  if (phase === "decode" && /no known route .*'multiband'/i.test(raw))
    return new ImageEditError(
      "UNSUPPORTED_FORMAT",
      `the image's colour space cannot be converted to RGB (${detail(raw)})`,
      { cause: e },
    );
  // Loader errors are the input's fault whichever step they surface in (libvips decodes lazily).
  if (LOADER.test(raw) || (phase === "decode" && DECODER.test(raw)))
    return new ImageEditError("CORRUPT_IMAGE", `the image could not be decoded: ${detail(raw)}`, { cause: e });
  return new ImageEditError("PROCESSING_FAILED", message, { cause: e });
}

/** The largest side each of sharp's encoders writes (sharp 0.35, common.cc), by the name in its message. */
const ENCODER_MAX: Record<string, [string, number]> = {
  JPEG: ["JPEG", 65535],
  WEBP: ["WebP", 16383],
  GIF: ["GIF", 65535],
  HEIF: ["AVIF", 16384],
};

// Messages only a libvips loader (or the source it reads) produces: jpegload, pngload_buffer,
// webp2vips, tiff2vips, VipsForeignLoad..., a truncated or lying file, failOn warnings.
const LOADER =
  /\b\w+load(_\w+)?:|\b\w+2vips:|VipsForeignLoad|Vips(Jpeg|Png|Gif|Webp|Tiff|Heif|Svg):|premature end|bad seek|failOn|warning treated as error|libspng read error/i;

// Also decoder-like when the failing pipeline read the encoded input (as opposed to an operation
// refusing its arguments): an encoder that cannot write because its source broke mid-read.
const DECODER =
  /load|Vips(Jpeg|Png|Gif|Webp|Tiff|Heif|Svg|Foreign)|premature|corrupt|truncat|huffman|marker|crc|decod|libspng|read error|bogus|not enough data|unexpected end|out of order|unable to write to target/i;

// Lines that say only that something failed: the line naming why ("IHDR: CRC error") is another.
const GENERIC =
  /^(\w+: )?(warning treated as error due to failOn setting|error in tile \d+ x \d+|unable to write to target\b.*)$/i;

// libvips repeats lines; keep the first distinct reason, without the "Input file has..." prefix.
function detail(raw: string): string {
  const lines = [...new Set(raw.split("\n").map((l) => l.trim()))].filter(Boolean);
  const first = (lines.find((l) => !GENERIC.test(l)) ?? lines[0] ?? "").replace(
    /^Input (file|buffer) has corrupt header:\s*/i,
    "",
  );
  return first.length > 200 ? `${first.slice(0, 200)}…` : first;
}
