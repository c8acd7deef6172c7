// Materialising a step's pixels, for operations that need them in hand (ImageMagick, alpha
// handling, per-frame overlays) rather than as one lazy sharp chain.
import sharp, { type Sharp } from "sharp";

export interface RawImage {
  data: Buffer;
  width: number;
  /** Full height: all frames stacked for animations. */
  height: number;
  channels: 1 | 2 | 3 | 4;
}

export async function toRaw(image: Sharp): Promise<RawImage> {
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels as RawImage["channels"] };
}

/**
 * A sharp instance over raw pixels; `pages` > 1 keeps the frames of an animation (sharp stacks
 * them vertically and needs the page height to write them back as frames). Pixels in hand were
 * decoded within the limits already: sharp's own input-pixel limit is no guard here (a padded
 * strip of frames may pass it).
 */
export function fromRaw(raw: RawImage, pages = 1): Sharp {
  const pageHeight = pages > 1 && raw.height % pages === 0 ? raw.height / pages : undefined;
  return sharp(raw.data, {
    raw: { width: raw.width, height: raw.height, channels: raw.channels, ...(pageHeight ? { pageHeight } : {}) },
    // every page: without it sharp takes the strip as one tall page (a resize would scale it whole)
    ...(pageHeight ? { pages: -1 } : {}),
    limitInputPixels: false,
  });
}

/** One band of a raw image as its own 1-channel raw image (e.g. the alpha band). */
export async function band(raw: RawImage, index: 0 | 1 | 2 | 3): Promise<RawImage> {
  const data = await fromRaw(raw).extractChannel(index).raw().toBuffer();
  return { data, width: raw.width, height: raw.height, channels: 1 };
}
