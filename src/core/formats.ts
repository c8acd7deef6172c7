// Input formats we read, the output format each maps to by default, and how outputs are named.
import type { OutputFormat } from "./ops/define.js";

export const CONTENT_TYPES: Readonly<Record<OutputFormat, string>> = {
  jpeg: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
  avif: "image/avif",
  gif: "image/gif",
  tiff: "image/tiff",
};

export const EXTENSIONS: Readonly<Record<OutputFormat, string>> = {
  jpeg: "jpg",
  png: "png",
  webp: "webp",
  avif: "avif",
  gif: "gif",
  tiff: "tiff",
};

/** Formats (as named by probeImage) the pipeline decodes. */
export const INPUT_FORMATS = ["jpeg", "png", "webp", "gif", "tiff", "avif", "svg"] as const;

/**
 * The output format when the plan does not choose one: the input's own format when we can write
 * it; SVG (vector) becomes PNG (keeps transparency); anything else readable becomes PNG too.
 */
export function defaultOutputFormat(inputFormat: string): OutputFormat {
  switch (inputFormat) {
    case "jpeg":
    case "png":
    case "webp":
    case "gif":
    case "tiff":
    case "avif":
      return inputFormat;
    case "heif":
      return "avif";
    default:
      return "png";
  }
}

/**
 * The largest AVIF the pipeline writes: the encoder (libheif + aom) holds ~23 bytes per pixel
 * (measured: 0.6 GB at 25 Mpx, 1.2 GB at 49 Mpx, 2.3 GB at 100 Mpx), and a processor Lambda has
 * 2048 MB for everything. 40 Mpx (~1 GB) is about 6300x6300.
 */
export const MAX_AVIF_PIXELS = 40_000_000;

/** Formats whose files can hold several frames that play as an animation. */
export function isAnimatedFormat(format: string): boolean {
  return format === "gif" || format === "webp";
}

/** Formats where a quality setting changes the encoding. */
export function isLossy(format: OutputFormat): boolean {
  return format === "jpeg" || format === "webp" || format === "avif";
}

/**
 * Outputs without an alpha channel: transparent areas are flattened onto white. JPEG, and TIFF
 * with a quality (written JPEG-compressed, which cannot hold alpha: libvips drops the band).
 */
export function lacksAlpha(format: OutputFormat, quality?: number): boolean {
  return format === "jpeg" || (format === "tiff" && quality !== undefined);
}
