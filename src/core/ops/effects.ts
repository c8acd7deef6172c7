// ImageMagick-only effects (magick-wasm, loaded on first use).

import sharp, { type Sharp } from "sharp";
import { z } from "zod";
import { ImageEditError } from "../errors.js";
import { polaroidImage, swirlImage, withMagickImage } from "../magick.js";
import { defineOperation, opSchema, type StepContext } from "./define.js";
import { fromRaw, toRaw } from "./raster.js";

type MagickEdit = Parameters<typeof withMagickImage>[1];

/**
 * Hand the pixels to ImageMagick as raw sRGB and continue with its RGBA result. These effects do
 * not keep animation (the pipeline then works on the first frame only). Alpha that ImageMagick
 * adds (vignette's mask) is dropped when the input had none, unless the effect draws with it
 * (polaroid's transparent surround).
 */
async function magickStep(
  image: Sharp,
  ctx: StepContext,
  edit: MagickEdit,
  opts: { keepAlpha?: boolean } = {},
): Promise<Sharp> {
  const alpha = ctx.meta.hasAlpha;
  const srgb = image.toColourspace("srgb");
  const { data, info } = await (alpha ? srgb.ensureAlpha() : srgb.removeAlpha())
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 && info.channels !== 4) throw new Error(`expected RGB(A) pixels, got ${info.channels} bands`);
  const out = await withMagickImage({ data, width: info.width, height: info.height, channels: info.channels }, edit);
  const result = sharp(out.data, { raw: { width: out.width, height: out.height, channels: 4 } });
  return alpha || opts.keepAlpha ? result : result.removeAlpha();
}

/** Below this the time limit itself is enough: the estimates are rough (see checkEffort). */
const EFFORT_FLOOR_S = 60;

/**
 * magick-wasm is synchronous: once an effect starts nothing interrupts it, so where it runs on
 * the calling thread (a processor Lambda, the CLI) the time limit cannot stop it. oilPaint and
 * charcoal grow with the square of their radius (radius 20 on a 40-megapixel image: 6-9 minutes,
 * past the Lambda's 300 s, retried twice). Their time is estimated from the pixels before any
 * ImageMagick work (per pixel, measured on one core of a 2026 x86 server) and an effect clearly
 * past the time limit is refused, saying what would fit.
 */
function checkEffort(ctx: StepContext, what: string, nsPerPixel: number, smaller: string): void {
  const { width, height } = ctx.meta;
  const seconds = (width * height * nsPerPixel) / 1e9;
  const limit = ctx.limits.processTimeoutMs / 1000;
  if (seconds <= Math.max(limit, EFFORT_FLOOR_S)) return;
  const fit = Math.sqrt(limit / seconds);
  const about = seconds >= 120 ? `${Math.round(seconds / 60)} minutes` : `${Math.round(seconds)} s`;
  throw new ImageEditError(
    "PIXEL_LIMIT",
    `${what} on this ${width}x${height} image would take about ${about}; the time limit is ${limit} s: resize it to at most ${Math.max(1, Math.floor(width * fit))}x${Math.max(1, Math.floor(height * fit))} first, or use ${smaller}`,
    { details: { width, height, estimatedSeconds: Math.round(seconds), limitSeconds: limit } },
  );
}

// ImageMagick's vignette blurs an image-sized ellipse mask: seconds per photo in wasm. The mask is
// smooth, so ImageMagick draws it at most MASK_SIDE px on a side, libvips scales it up, and the
// pixels are multiplied by it: the same result, since ImageMagick composes image x mask over the
// (black) background. Alpha is left as it was.
const MASK_SIDE = 512;

async function applyVignette(image: Sharp, o: { sigma: number }, _ctx: StepContext): Promise<Sharp> {
  const raw = await toRaw(image.toColourspace("srgb"));
  const k = Math.max(1, Math.max(raw.width, raw.height) / MASK_SIDE);
  const mw = Math.max(1, Math.round(raw.width / k));
  const mh = Math.max(1, Math.round(raw.height / k));
  const drawn = await withMagickImage(
    { data: Buffer.alloc(mw * mh * 3, 255), width: mw, height: mh, channels: 3 },
    (img, m) => {
      img.backgroundColor = new m.MagickColor(0, 0, 0, 255);
      // inset like `-vignette 0xS+10%+10%`
      img.vignette(0, Math.max(0.1, o.sigma / k), Math.round(mw * 0.1), Math.round(mh * 0.1));
    },
  );
  const mask = await sharp(drawn.data, { raw: { width: mw, height: mh, channels: 4 } })
    .extractChannel(0)
    .resize(raw.width, raw.height, { fit: "fill" })
    .raw()
    .toBuffer();
  const colours = raw.channels === 2 || raw.channels === 4 ? raw.channels - 1 : raw.channels;
  for (let p = 0, i = 0; p < mask.length; p++, i += raw.channels) {
    const f = mask[p] / 255;
    for (let c = 0; c < colours; c++) raw.data[i + c] = Math.round(raw.data[i + c] * f);
  }
  return fromRaw(raw);
}

export const vignette = defineOperation({
  name: "vignette",
  family: "effect",
  summary: "Darken the corners (ImageMagick); sigma softens the edge (default 10).",
  schema: opSchema("vignette", { sigma: z.number().min(0.1).max(100).default(10) }),
  describe: (o) => `Vignette (sigma ${o.sigma})`,
  words: ["vignette", "dark corners", "darken the corners", "darker corners"],
  keepsAnimation: false,
  magick: true,
  apply: applyVignette,
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
  apply: (image, o, ctx) => {
    checkEffort(ctx, `oilPaint radius ${o.radius}`, 32 * (o.radius + 1) ** 2, "a smaller radius");
    return magickStep(image, ctx, (img) => img.oilPaint(o.radius));
  },
});

export const charcoal = defineOperation({
  name: "charcoal",
  family: "effect",
  summary:
    "Charcoal drawing effect (ImageMagick); radius and sigma of the strokes. The drawing is opaque, on white (transparency is not kept).",
  schema: opSchema("charcoal", {
    radius: z.number().min(0).max(20).default(1),
    sigma: z.number().min(0.1).max(20).default(0.5),
  }),
  describe: (o) => `Charcoal sketch (radius ${o.radius})`,
  words: ["charcoal", "sketch", "drawing", "pencil"],
  keepsAnimation: false,
  magick: true,
  apply: (image, o, ctx) => {
    checkEffort(ctx, `charcoal radius ${o.radius}`, 700 + 5 * (2 * o.radius + 1) ** 2, "a smaller radius");
    return magickStep(image, ctx, (img) => img.charcoal(o.radius, o.sigma));
  },
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
  // At least the image plus ImageMagick's frame (the shadow and the tilt add more): enough to
  // refuse an image that cannot fit the limit before seconds of ImageMagick work.
  outputSize: (meta) => {
    const frame = 2 * Math.max(Math.max(meta.width, meta.height) / 25, 10);
    return { width: Math.ceil(meta.width + frame), height: Math.ceil(meta.height + frame) };
  },
  apply: (image, o, ctx) => magickStep(image, ctx, (img, m) => polaroidImage(img, m, o.angle), { keepAlpha: true }),
});
