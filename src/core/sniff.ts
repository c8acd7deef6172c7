// What an image really is, from its first bytes: never from a file name or a Content-Type.
import { ImageEditError } from "./errors.js";
import { INPUT_FORMATS } from "./formats.js";

export interface ImageType {
  /** jpeg, png, gif, webp, avif, heif, tiff, bmp, svg */
  format: string;
  mime: string;
  ext: string;
}

/** Bytes worth reading before sniffing: binary formats need 32; see SVG_PROLOGUE_BYTES. */
export const SNIFF_BYTES = 4096;

/**
 * How far an SVG's prologue (XML declaration, comments, processing instructions, DOCTYPE) may run
 * before its `<svg` root: an editor's licence comment can fill the first SNIFF_BYTES on its own.
 */
export const SVG_PROLOGUE_BYTES = 64 * 1024;

/** Text that opens like XML: only an SVG can come of it, and its root may lie past SNIFF_BYTES. */
export function opensLikeXml(data: Uint8Array): boolean {
  return /^\ufeff?\s*</.test(
    Buffer.from(data.buffer, data.byteOffset, Math.min(256, data.byteLength)).toString("utf8"),
  );
}

/**
 * The type of an input from its start: magic bytes in the first SNIFF_BYTES, or an SVG whose root
 * lies within SVG_PROLOGUE_BYTES (nothing but an SVG is accepted from the longer look: a binary
 * format is decided by its first bytes, and XML that is no SVG fails at the same element either way).
 */
export function sniffInput(data: Uint8Array): ImageType | undefined {
  const head = sniffImageType(data.subarray(0, SNIFF_BYTES));
  if (head || data.length <= SNIFF_BYTES || !opensLikeXml(data)) return head;
  return sniffSvg(data.subarray(0, SVG_PROLOGUE_BYTES));
}

const T = {
  jpeg: { format: "jpeg", mime: "image/jpeg", ext: "jpg" },
  png: { format: "png", mime: "image/png", ext: "png" },
  gif: { format: "gif", mime: "image/gif", ext: "gif" },
  webp: { format: "webp", mime: "image/webp", ext: "webp" },
  avif: { format: "avif", mime: "image/avif", ext: "avif" },
  heic: { format: "heif", mime: "image/heic", ext: "heic" },
  heif: { format: "heif", mime: "image/heif", ext: "heif" },
  tiff: { format: "tiff", mime: "image/tiff", ext: "tiff" },
  bmp: { format: "bmp", mime: "image/bmp", ext: "bmp" },
  svg: { format: "svg", mime: "image/svg+xml", ext: "svg" },
} satisfies Record<string, ImageType>;

function startsWith(head: Uint8Array, bytes: number[], offset = 0): boolean {
  if (head.length < offset + bytes.length) return false;
  return bytes.every((b, i) => head[offset + i] === b);
}

function ascii(head: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...head.subarray(start, Math.min(end, head.length)));
}

const AVIF_BRANDS = new Set(["avif", "avis"]);
const HEIC_BRANDS = new Set(["heic", "heix", "heim", "heis", "hevc", "hevx", "hevm", "hevs"]);
const HEIF_BRANDS = new Set(["mif1", "msf1", "mif2"]);

/** ISO-BMFF `ftyp` box: the major brand and the compatible brands decide avif vs heic vs not an image. */
function sniffFtyp(head: Uint8Array): ImageType | undefined {
  if (head.length < 16 || ascii(head, 4, 8) !== "ftyp") return undefined;
  const boxSize = ((head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]) >>> 0;
  if (boxSize < 16) return undefined;
  const brands = [ascii(head, 8, 12)];
  for (let i = 16; i + 4 <= Math.min(boxSize, head.length); i += 4) brands.push(ascii(head, i, i + 4));
  if (brands.some((b) => AVIF_BRANDS.has(b))) return T.avif;
  if (brands.some((b) => HEIC_BRANDS.has(b))) return T.heic;
  if (brands.some((b) => HEIF_BRANDS.has(b))) return T.heif;
  return undefined; // mp4, mov, 3gp...
}

// BITMAPCOREHEADER, BITMAPINFOHEADER, V2, V3, OS/2 v2, V4, V5
const BMP_DIB_SIZES = new Set([12, 40, 52, 56, 64, 108, 124]);

function sniffBmp(head: Uint8Array): ImageType | undefined {
  if (head.length < 18 || head[0] !== 0x42 || head[1] !== 0x4d) return undefined;
  const dib = head[14] | (head[15] << 8) | (head[16] << 16) | (head[17] << 24);
  return BMP_DIB_SIZES.has(dib) ? T.bmp : undefined;
}

const LITERAL = `(?:"[^"]*"|'[^']*')`;
/** `<!DOCTYPE svg>`, `… SYSTEM "uri">` or `… PUBLIC "id" "uri">`: no internal subset. */
const SVG_DOCTYPE = new RegExp(
  `^<!DOCTYPE\\s+svg(?:\\s+(?:SYSTEM\\s+${LITERAL}|PUBLIC\\s+${LITERAL}(?:\\s+${LITERAL})?))?\\s*>`,
  "i",
);

/**
 * SVG: optional BOM and whitespace, then any of XML declaration, processing instructions,
 * comments and an svg DOCTYPE without an internal subset (entity definitions are refused: they are how
 * "billion laughs" bombs start), then an `<svg` root element.
 */
function sniffSvg(head: Uint8Array): ImageType | undefined {
  let text = Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString("utf8");
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let i = 0;
  for (;;) {
    while (i < text.length && /\s/.test(text[i])) i++;
    if (text.startsWith("<?", i)) {
      const end = text.indexOf("?>", i + 2);
      if (end < 0) return undefined;
      i = end + 2;
    } else if (text.startsWith("<!--", i)) {
      const end = text.indexOf("-->", i + 4);
      if (end < 0) return undefined;
      i = end + 3;
    } else if (/^<!DOCTYPE\s/i.test(text.slice(i, i + 10))) {
      // Only `<!DOCTYPE svg>` with at most an external id, its literals read as quoted strings
      // (a `>` inside one does not end the DOCTYPE); an internal subset `[…]` never matches.
      const doctype = SVG_DOCTYPE.exec(text.slice(i));
      if (!doctype) return undefined;
      i += doctype[0].length;
    } else {
      return /^<svg[\s>/]/.test(text.slice(i, i + 5)) || /^<svg:svg[\s>/]/.test(text.slice(i, i + 9))
        ? T.svg
        : undefined;
    }
  }
}

/** The image type by magic bytes, or undefined when `head` is not an image we know. */
export function sniffImageType(head: Uint8Array): ImageType | undefined {
  if (startsWith(head, [0xff, 0xd8, 0xff])) return T.jpeg;
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return T.png;
  if (head.length >= 6 && (ascii(head, 0, 6) === "GIF87a" || ascii(head, 0, 6) === "GIF89a")) return T.gif;
  if (head.length >= 12 && ascii(head, 0, 4) === "RIFF" && ascii(head, 8, 12) === "WEBP") return T.webp;
  // Classic TIFF (42) and BigTIFF (43), little- and big-endian.
  if (startsWith(head, [0x49, 0x49, 0x2a, 0x00]) || startsWith(head, [0x4d, 0x4d, 0x00, 0x2a])) return T.tiff;
  if (startsWith(head, [0x49, 0x49, 0x2b, 0x00]) || startsWith(head, [0x4d, 0x4d, 0x00, 0x2b])) return T.tiff;
  return sniffFtyp(head) ?? sniffBmp(head) ?? sniffSvg(head);
}

/** What the pipeline reads, as a user can act on it: SVG only where the server allows it. */
const READABLE = `${INPUT_FORMATS.filter((f) => f !== "svg").join(", ")}; svg where ALLOW_SVG is on`;

/** The type of `data`, or UNSUPPORTED_FORMAT naming `what` ("the upload", "the image at <url>"). */
export function requireImageType(data: Uint8Array, what: string): ImageType {
  if (data.length === 0) {
    throw new ImageEditError("UNSUPPORTED_FORMAT", `${what} is empty`, { details: { reason: "empty" } });
  }
  const type = sniffInput(data);
  if (!type) {
    const hex = Buffer.from(data.subarray(0, 8)).toString("hex");
    throw new ImageEditError(
      "UNSUPPORTED_FORMAT",
      `${what} is not a supported image (${READABLE}); it starts with 0x${hex}`,
      { details: { reason: "magic", head: hex } },
    );
  }
  return type;
}
