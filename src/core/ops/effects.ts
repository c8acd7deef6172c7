// ImageMagick-only effects (magick-wasm, loaded on first use).

import sharp, { type Sharp } from "sharp";
import { z } from "zod";
import { polaroidImage, swirlImage, withMagickImage } from "../magick.js";
import { defineOperation, opSchema, type StepContext } from "./define.js";

type MagickEdit = Parameters<typeof withMagickImage>[1];

/**
 * Hand the pixels to ImageMagick as PNG and continue with its PNG output. These effects do not
 * keep animation (the pipeline then works on the first frame only). Alpha that ImageMagick adds
 * (vignette's mask) is dropped when the input had none, unless the effect draws with it (polaroid).
 */
async function magickStep(
  image: Sharp,
  ctx: StepContext,
  edit: MagickEdit,
  opts: { keepAlpha?: boolean } = {},
): Promise<Sharp> {
  const png = await image.png({ compressionLevel: 1 }).toBuffer();
  const out = sharp(await withMagickImage(png, edit));
  return ctx.meta.hasAlpha || opts.keepAlpha ? out : out.removeAlpha();
}

export const vignette = defineOperation({
  name: "vignette",
  family: "effect",
  summary: "Darken the corners (ImageMagick); sigma softens the edge (default 10).",
  schema: opSchema("vignette", { sigma: z.number().min(0.1).max(100).default(10) }),
  describe: (o) => `Vignette (sigma ${o.sigma})`,
  words: ["vignette", "corners"],
  keepsAnimation: false,
  magick: true,
  apply: (image, o, ctx) =>
    magickStep(image, ctx, (img, m) => {
      // Fade to black (ImageMagick's default background is white), inset like `-vignette 0xS+10%+10%`.
      img.backgroundColor = new m.MagickColor(0, 0, 0, 255);
      img.vignette(0, o.sigma, Math.round(img.width * 0.1), Math.round(img.height * 0.1));
    }),
});

export const oilPaint = defineOperation({
  name: "oilPaint",
  family: "effect",
  summary: "Oil-painting effect (ImageMagick); radius 1-20 (default 3).",
  schema: opSchema("oilPaint", { radius: z.number().min(1).max(20).default(3) }),
  describe: (o) => `Oil paint (radius ${o.radius})`,
  words: ["oil", "paint", "painting", "oilpaint", "painterly"],
  keepsAnimation: false,
  magick: true,
  apply: (image, o, ctx) => magickStep(image, ctx, (img) => img.oilPaint(o.radius)),
});

export const charcoal = defineOperation({
  name: "charcoal",
  family: "effect",
  summary: "Charcoal drawing effect (ImageMagick); radius and sigma of the strokes.",
  schema: opSchema("charcoal", {
    radius: z.number().min(0).max(20).default(1),
    sigma: z.number().min(0.1).max(20).default(0.5),
  }),
  describe: (o) => `Charcoal sketch (radius ${o.radius})`,
  words: ["charcoal", "sketch", "drawing", "pencil"],
  keepsAnimation: false,
  magick: true,
  apply: (image, o, ctx) => magickStep(image, ctx, (img) => img.charcoal(o.radius, o.sigma)),
});

export const swirl = defineOperation({
  name: "swirl",
  family: "effect",
  summary: "Swirl the centre of the image (ImageMagick) by degrees (default 90).",
  schema: opSchema("swirl", { degrees: z.number().min(-720).max(720).default(90) }),
  describe: (o) => `Swirl ${o.degrees}°`,
  words: ["swirl", "twirl", "twist", "whirl"],
  keepsAnimation: false,
  magick: true,
  apply: (image, o, ctx) => magickStep(image, ctx, (img, m) => swirlImage(img, m, o.degrees)),
});

export const polaroid = defineOperation({
  name: "polaroid",
  family: "effect",
  summary: "Polaroid print with a white frame and shadow (ImageMagick), tilted by angle degrees.",
  schema: opSchema("polaroid", { angle: z.number().min(-45).max(45).default(0) }),
  describe: (o) => `Polaroid frame${o.angle ? ` tilted ${o.angle}°` : ""}`,
  words: ["polaroid", "instant", "snapshot"],
  keepsAnimation: false,
  magick: true,
  apply: (image, o, ctx) => magickStep(image, ctx, (img, m) => polaroidImage(img, m, o.angle), { keepAlpha: true }),
});
