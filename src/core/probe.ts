// Header-only inspection of an input: format, size, frames, orientation, and the limits checked
// before a single pixel is decoded.
import sharp, { type Metadata } from "sharp";
import { ImageEditError } from "./errors.js";
import type { Limits } from "./limits.js";
import { sharpError } from "./sharp-errors.js";

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
const mb = (n: number) => `${(n / MB).toFixed(n < 10 * MB ? 2 : 1)} MB`;
const int = (n: number) => n.toLocaleString("en-US");

function checkBytes(input: Buffer, limits: Limits): void {
  if (input.length > limits.maxImageBytes)
    throw new ImageEditError(
      "IMAGE_TOO_LARGE",
      `image is ${mb(input.length)} (${int(input.length)} bytes); the limit is ${mb(limits.maxImageBytes)}`,
      { details: { bytes: input.length, limit: limits.maxImageBytes } },
    );
  if (input.length === 0) throw new ImageEditError("UNSUPPORTED_FORMAT", "the input is empty (0 bytes)");
}

/** Reads the header (never the pixels) and enforces byte, dimension and pixel limits. */
export async function readHeader(input: Buffer, limits: Limits): Promise<Header> {
  checkBytes(input, limits);
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
  if (format === "svg" && !limits.allowSvg)
    throw new ImageEditError("UNSUPPORTED_FORMAT", "SVG input is disabled on this server (ALLOW_SVG=false)");
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
  // Animations decode every frame, so the bomb guard counts them all.
  const framesDecoded = format === "gif" || format === "webp" ? pages : 1;
  const pixels = storedWidth * storedHeight * framesDecoded;
  if (pixels > limits.maxInputPixels)
    throw new ImageEditError(
      "PIXEL_LIMIT",
      `image has ${int(pixels)} pixels (${storedWidth}x${storedHeight}${framesDecoded > 1 ? ` x ${framesDecoded} frames` : ""}); the limit is ${int(limits.maxInputPixels)}`,
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
