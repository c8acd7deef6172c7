// Header-only inspection of an input: format, size, frames, orientation, and the limits checked
// before a single pixel is decoded.
import sharp, { type Metadata, type Sharp } from "sharp";
import { tooLargeMessage } from "./bytes.js";
import { ImageEditError } from "./errors.js";
import type { Limits } from "./limits.js";
import { sharpError } from "./sharp-errors.js";
import { opensLikeXml, SVG_PROLOGUE_BYTES, sniffInput } from "./sniff.js";
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

/** At most colour (CMYK: 4 bands), alpha and extra channels together: sharp's own default limit. */
export const MAX_CHANNELS = 5;

const READABLE = ["jpeg", "png", "webp", "gif", "tiff", "avif", "heif", "svg"];
const svgDisabled = () =>
  new ImageEditError("UNSUPPORTED_FORMAT", "SVG input is disabled on this server (ALLOW_SVG=false)");

/**
 * The format by its magic bytes, before any decoder sees the input: only our formats reach sharp,
 * and SVG (text for librsvg/libxml2, or gzipped) never does when it is off.
 */
function sniffFormat(input: Buffer, limits: Limits): string {
  const format = sniffInput(input)?.format;
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
  const xml = opensLikeXml(input);
  if (xml && !limits.allowSvg) throw svgDisabled();
  throw new ImageEditError(
    "UNSUPPORTED_FORMAT",
    xml
      ? `the input is XML but not an SVG imgedit reads: it must open with an <svg> root element within its first ${SVG_PROLOGUE_BYTES / 1024} KB, and a DOCTYPE may not define entities`
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
    if (sniffInput(data)?.format === "svg")
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

/**
 * Reads the header (never the pixels) and enforces byte, dimension and pixel limits.
 * @param opts.partial `input` is only the start of the file (`imgedit info` on a file over
 *   MAX_IMAGE_SIZE): the checks that need the whole file are skipped.
 */
export async function readHeader(input: Buffer, limits: Limits, opts: { partial?: boolean } = {}): Promise<Header> {
  checkBytes(input, limits);
  const sniffed = sniffFormat(input, limits);
  if (sniffed === "svg") await checkSvgEmbeds(input, limits);
  let meta: Metadata;
  try {
    // Limits off here: we want the real size and channel count to report them, not sharp's
    // generic messages (metadata() decodes no pixels).
    meta = await sharp(input, { limitInputPixels: false, limitInputChannels: false }).metadata();
  } catch (e) {
    // The magic bytes say what it is, so the decoder's "unknown format" means a damaged file
    // (a TIFF cut before its directory, which libtiff writes at the end).
    if (/unsupported image format/i.test(String(e)) && sniffed !== "svg")
      throw new ImageEditError(
        "CORRUPT_IMAGE",
        `the input starts like a ${FORMAT_NAMES[sniffed] ?? sniffed} file but cannot be read as one: it is damaged or cut short`,
        { cause: e },
      );
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
  const channels = meta.channels ?? 3;
  if (channels > MAX_CHANNELS)
    throw new ImageEditError(
      "UNSUPPORTED_FORMAT",
      `the image has ${channels} channels; imgedit reads at most ${MAX_CHANNELS} (colour, alpha and extra channels together): save it without its extra channels`,
      { details: { channels, limit: MAX_CHANNELS } },
    );
  if (format === "gif" && !opts.partial) {
    const damage = gifDamage(input);
    if (damage) throw new ImageEditError("CORRUPT_IMAGE", `the GIF is damaged: ${damage}`);
  }
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
    channels,
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

const FORMAT_NAMES: Record<string, string> = {
  jpeg: "JPEG",
  png: "PNG",
  webp: "WebP",
  gif: "GIF",
  tiff: "TIFF",
  avif: "AVIF",
  heif: "HEIF",
};

/**
 * Why a GIF is not whole, or undefined. libvips (libnsgif) reads a GIF cut short without a
 * warning, as the frames before the cut, so the block structure is walked (lengths only, no LZW
 * decoding): it must reach the trailer (0x3B). What follows the trailer is ignored, as every
 * decoder does (files padded with zeros exist). A file that ends between two blocks without the
 * trailer is refused too: it cannot be told from one cut between frames, and encoders write it.
 */
export function gifDamage(gif: Buffer): string | undefined {
  const frames = (n: number) => `${n} whole frame${n === 1 ? "" : "s"} before it`;
  let i = 13;
  if (gif.length < i) return "it ends inside its header";
  if (gif[10] & 0x80) i += 3 << ((gif[10] & 7) + 1); // global colour table
  /** Skips data sub-blocks through their terminator; false when the file ends first. */
  const subBlocks = (): boolean => {
    while (i < gif.length) {
      const size = gif[i++];
      if (size === 0) return true;
      i += size;
    }
    return false;
  };
  for (let n = 0; ; ) {
    if (i >= gif.length)
      return n === 0
        ? "it ends before its first frame"
        : `it ends after frame ${n} without the GIF trailer: the file is cut short`;
    const block = gif[i++];
    if (block === 0x3b) return undefined;
    if (block === 0x21) {
      i++; // extension label
      if (!subBlocks()) return `it ends inside an extension block after frame ${n} (the file is cut short)`;
    } else if (block === 0x2c) {
      if (i + 9 <= gif.length && gif[i + 8] & 0x80) i += 3 << ((gif[i + 8] & 7) + 1); // local colour table
      i += 10; // image descriptor, LZW minimum code size
      if (!subBlocks()) return `it ends inside frame ${n + 1}, with ${frames(n)} (the file is cut short)`;
      n++;
    } else {
      const at = (i - 1).toLocaleString("en-US");
      return `byte ${at} (0x${block.toString(16).padStart(2, "0")}) after frame ${n} starts no GIF block`;
    }
  }
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
 * Bands past colour and one alpha (a TIFF's extra channels: ExtraSamples beyond the first, as
 * Photoshop writes spot or saved-selection channels). libvips keeps them, and sharp's steps and
 * encoders then disagree on which band is the alpha (the extra one, after brightness), or fail on
 * 5-band raw pixels: the pipeline decodes such an input once and keeps colour and alpha only.
 * The first extra sample is the alpha, as libtiff and libvips read it.
 */
export function hasExtraChannels(h: Pick<Header, "channels" | "space">): boolean {
  const colour = h.space === "b-w" || h.space === "grey16" ? 1 : h.space === "cmyk" ? 4 : 3;
  return h.channels > colour + 1;
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
