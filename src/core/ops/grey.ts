// Grey images in steps that paint a colour (pad, border, rotate, contain, tint, text, watermark).
import type { Sharp } from "sharp";
import type { ImageMeta } from "./define.js";

/**
 * The image in sRGB for a step that paints a colour: libvips paints a grey image (1-2 bands: a
 * greyscale JPEG, a 1-bit fax TIFF) with the colour's grey level, so a red border came out dark
 * grey. An embedded grey ICC profile gets it there already (sharp converts through the profile
 * before any step, as for every other step); pipelineColourspace("srgb") would convert first and
 * leave that profile unused (it no longer fits the 3 bands), shifting every pixel.
 */
export async function paintable(image: Sharp, meta: ImageMeta): Promise<Sharp> {
  if (meta.channels > 2) return image;
  // the header of the chain's input (encoded or raw), whatever steps the chain already holds
  const { icc } = await image.metadata();
  return icc && isGreyProfile(icc) ? image : image.pipelineColourspace("srgb");
}

/** An ICC profile for grey data (header bytes 16-19: the data colour space). */
function isGreyProfile(icc: Buffer): boolean {
  return icc.length >= 128 && icc.toString("latin1", 16, 20) === "GRAY";
}
