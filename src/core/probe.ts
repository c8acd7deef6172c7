// Header-only inspection of an input: format, size, frames, orientation, and the limits checked
// before a single pixel is decoded.
import sharp, { type Metadata, type Sharp } from "sharp";
import { tooLargeMessage } from "./bytes.js";
import { ImageEditError } from "./errors.js";
import type { Limits } from "./limits.js";
import { sharpError } from "./sharp-errors.js";
import { SNIFF_BYTES, sniffImageType } from "./sniff.js";
import { MAX_SVG_EMBEDS, svgDataUrls } from "./svg-embeds.js";
import { checkSvgFilters } from "./svg-filters.js";

export interface ProbeResult {
  format: string;
  /** Upright width (after EXIF orientation). */
  width: number;
  /** Upright height of one frame (after EXIF orientation). */
  height: number;
  pages: number;
  bytes: number;
  hasAlpha: boolean;
  orientation?: number;
  space?: string;
}

/** Everything the pipeline needs from the header (a superset of ProbeResult). */
export interface Header extends ProbeResult {
  channels: number;
  /** Stored (not oriented) frame size, as the decoder sees it. */
  storedWidth: number;
  storedHeight: number;
  /** Per-frame delays (ms) and loop count for animations. */
  delay?: number[];
  loop?: number;
  hasIcc: boolean;
  depth?: string;
  density?: number;
  compression?: string;
}

const MB = 1024 * 1024;
const int = (n: number) => n.toLocaleString("en-US");

function checkBytes(input: Buffer, limits: Limits): void {
  if (input.length > limits.maxImageBytes)
    throw new ImageEditError("IMAGE_TOO_LARGE", tooLargeMessage(input.length, limits.maxImageBytes), {
      details: { bytes: input.length, limit: limits.maxImageBytes },
    });
  if (input.length === 0) throw new ImageEditError("UNSUPPORTED_FORMAT", "the input is empty (0 bytes)");
}

/** SVG text past this is refused whatever MAX_IMAGE_SIZE says: librsvg holds the whole tree. */
export const MAX_SVG_BYTES = 10 * MB;

const READABLE = ["jpeg", "png", "webp", "gif", "tiff", "avif", "heif", "svg"];
const svgDisabled = () =>
  new ImageEditError("UNSUPPORTED_FORMAT", "SVG input is disabled on this server (ALLOW_SVG=false)");

/**
 * The format by its magic bytes, before any decoder sees the input: only our formats reach sharp,
 * and SVG (text for librsvg/libxml2, or gzipped) never does when it is off.
 */
function sniffFormat(input: Buffer, limits: Limits): string {
  const format = sniffImageType(input.subarray(0, SNIFF_BYTES))?.format;
  if (format === "svg") {
    if (!limits.allowSvg) throw svgDisabled();
    if (input.length > MAX_SVG_BYTES)
      throw new ImageEditError(
        "IMAGE_TOO_LARGE",
        tooLargeMessage(input.length, MAX_SVG_BYTES, "SVG input", "fixed: librsvg holds the whole tree"),
        {
          details: { bytes: input.length, limit: MAX_SVG_BYTES },
        },
      );
    return format;
  }
  if (format && READABLE.includes(format)) return format;
  if (format)
    throw new ImageEditError(
      "UNSUPPORTED_FORMAT",
      `${format.toUpperCase()} input is not supported; use JPEG, PNG, WebP, GIF, TIFF or AVIF`,
    );
  const xml = /^\ufeff?\s*</.test(input.toString("utf8", 0, 256));
  if (xml && !limits.allowSvg) throw svgDisabled();
  throw new ImageEditError(
    "UNSUPPORTED_FORMAT",
    xml
      ? "the input is XML but not an SVG imgedit reads: it must open with an <svg> root element, and a DOCTYPE may not define entities"
      : "the input is not an image format imgedit reads",
  );
}

/** Every raster an allowed SVG embeds as a data: URL is held to the limits, before librsvg decodes it. */
async function checkSvgEmbeds(svg: Buffer, limits: Limits): Promise<void> {
  const embeds = svgDataUrls(svg);
  if (embeds.length > MAX_SVG_EMBEDS)
    throw new ImageEditError(
      "UNSUPPORTED_FORMAT",
      `the SVG embeds ${embeds.length} data: URLs; at most ${MAX_SVG_EMBEDS} are accepted`,
    );
  let total = 0;
  for (const [i, data] of embeds.entries()) {
    const what = `image ${i + 1} embedded in the SVG as a data: URL`;
    if (sniffImageType(data.subarray(0, SNIFF_BYTES))?.format === "svg")
      throw new ImageEditError("UNSUPPORTED_FORMAT", `${what} is an SVG; an SVG may embed only raster images`);
    let h: Header;
    try {
      h = await readHeader(data, { ...limits, allowSvg: false });
    } catch (e) {
      const err = sharpError(e, "decode");
      throw new ImageEditError(err.code, `${what}: ${err.message}`, { details: err.details, cause: err });
    }
    total += h.storedWidth * h.storedHeight * framesDecoded(h.format, h.pages);
    if (total > limits.maxInputPixels)
      throw new ImageEditError(
        "PIXEL_LIMIT",
        `the images embedded in the SVG have ${int(total)} pixels together; the limit is ${int(limits.maxInputPixels)}`,
        { details: { pixels: total, limit: limits.maxInputPixels } },
      );
  }
}

/** Animations decode every frame, so the bomb guard counts them all. */
function framesDecoded(format: string, pages: number): number {
  return format === "gif" || format === "webp" ? pages : 1;
}

/** Reads the header (never the pixels) and enforces byte, dimension and pixel limits. */
export async function readHeader(input: Buffer, limits: Limits): Promise<Header> {
  checkBytes(input, limits);
  const sniffed = sniffFormat(input, limits);
  if (sniffed === "svg") await checkSvgEmbeds(input, limits);
  let meta: Metadata;
  try {
    // limitInputPixels off here: we want the real size to report it, not sharp's generic message.
    meta = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (e) {
    throw sharpError(e, "decode");
  }
  let format = meta.format as string | undefined;
  if (!format) throw new ImageEditError("UNSUPPORTED_FORMAT", "the input is not an image format imgedit reads");
  if (format === "heif") {
    if (meta.compression !== "av1")
      throw new ImageEditError(
        "UNSUPPORTED_FORMAT",
        "HEIC/HEIF (HEVC) images are not supported; convert them to JPEG or AVIF first",
      );
    format = "avif";
  }
  if (format === "jpg") format = "jpeg";
  // Defence in depth: sharp must agree with the sniff about SVG (gzipped SVG never sniffs as one).
  if ((format === "svg") !== (sniffed === "svg"))
    throw new ImageEditError("UNSUPPORTED_FORMAT", `the input's bytes say ${sniffed}, its decoder says ${format}`);
  if (!["jpeg", "png", "webp", "gif", "tiff", "avif", "svg"].includes(format))
    throw new ImageEditError(
      "UNSUPPORTED_FORMAT",
      `${format.toUpperCase()} input is not supported; use JPEG, PNG, WebP, GIF, TIFF or AVIF`,
    );
  const storedWidth = meta.width ?? 0;
  const pages = Math.max(1, meta.pages ?? 1);
  const storedHeight = meta.pageHeight && pages > 1 ? meta.pageHeight : (meta.height ?? 0);
  if (!(storedWidth > 0 && storedHeight > 0))
    throw new ImageEditError("CORRUPT_IMAGE", "the image header has no usable width and height");
  const orientation = meta.orientation;
  const swap = orientation !== undefined && orientation >= 5 && orientation <= 8;
  const width = swap ? storedHeight : storedWidth;
  const height = swap ? storedWidth : storedHeight;
  const max = limits.maxDimension;
  if (width > max || height > max)
    throw new ImageEditError("DIMENSIONS_TOO_LARGE", `image is ${width}x${height}; the limit is ${max} px per side`, {
      details: { width, height, limit: max },
    });
  if (format === "svg") checkSvgFilters(input, storedWidth, storedHeight);
  const frames = framesDecoded(format, pages);
  // Before the pixel count: a file of many tiny frames is within it, and per-frame steps are not.
  if (frames > limits.maxFrames)
    throw new ImageEditError(
      "PIXEL_LIMIT",
      `the animation has ${int(frames)} frames; the limit is ${int(limits.maxFrames)}`,
      { details: { frames, limit: limits.maxFrames } },
    );
  const pixels = storedWidth * storedHeight * frames;
  if (pixels > limits.maxInputPixels)
    throw new ImageEditError(
      "PIXEL_LIMIT",
      `image has ${int(pixels)} pixels (${storedWidth}x${storedHeight}${frames > 1 ? ` x ${frames} frames` : ""}); the limit is ${int(limits.maxInputPixels)}`,
      { details: { pixels, limit: limits.maxInputPixels } },
    );
  return {
    format,
    width,
    height,
    pages,
    bytes: input.length,
    hasAlpha: meta.hasAlpha ?? false,
    orientation,
    space: meta.space,
    channels: meta.channels ?? 3,
    storedWidth,
    storedHeight,
    delay: meta.delay,
    loop: meta.loop,
    hasIcc: meta.icc !== undefined,
    depth: meta.depth,
    density: meta.density,
    compression: meta.compression,
  };
}

/**
 * Samples wider than 8 bits (16-bit PNG/TIFF, 10/12-bit AVIF, 32-bit integer or float TIFF):
 * sharp keeps them through a chain, so absolute levels mean something else there (contrast's
 * offset is 256x too small in 16 bits; brightness and contrast turn a float image black), and the
 * pipeline decodes such an input once to 8-bit sRGB before its first step.
 */
export function isDeep(h: Pick<Header, "depth">): boolean {
  return h.depth !== undefined && h.depth !== "uchar";
}

/**
 * sharp (0.35, pipeline.cc) works on a 16-bit RGB input with an ICC profile in Display P3, and
 * converts back to sRGB only when an output profile is asked for: otherwise the P3 numbers come
 * out read as sRGB (dull colours). This asks for sRGB without attaching it. An untagged 16-bit
 * input is sRGB already and must not get it: sharp would convert it from P3 all the same.
 */
export function decodeToSrgb(image: Sharp, h: Pick<Header, "space" | "hasIcc">): Sharp {
  return h.space === "rgb16" && h.hasIcc ? image.withIccProfile("srgb", { attach: false }) : image;
}

/** Header-only probe for callers (API upload previews, the CLI's info). */
export async function probeImage(input: Buffer, limits: Limits): Promise<ProbeResult> {
  const h = await readHeader(input, limits);
  return {
    format: h.format,
    width: h.width,
    height: h.height,
    pages: h.pages,
    bytes: h.bytes,
    hasAlpha: h.hasAlpha,
    orientation: h.orientation,
    space: h.space,
  };
}
