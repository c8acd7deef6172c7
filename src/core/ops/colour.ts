// Colour and tone: grayscale, sepia, negate, normalize, tint, brightness, contrast, saturation, hue, gamma,
// threshold, posterize, temperature.

import type { Matrix3x3, Sharp } from "sharp";
import { z } from "zod";
import { parseColor } from "../color.js";
import { colorSchema, defineOperation, opSchema, type StepContext } from "./define.js";
import { paintable } from "./grey.js";
import { band, fromRaw, toRaw } from "./raster.js";

const factor = z.number().min(0).max(10);
const pct = (f: number) => `${Math.round(f * 100)}%`;

// The classic sepia matrix (Microsoft's), applied to R, G, B; alpha passes through.
const SEPIA: Matrix3x3 = [
  [0.393, 0.769, 0.189],
  [0.349, 0.686, 0.168],
  [0.272, 0.534, 0.131],
];

function rgb(color: string): { r: number; g: number; b: number } {
  const c = parseColor(color);
  if (!c) throw new Error(`not a colour: ${color}`); // the schema already refused it
  return { r: c.r, g: c.g, b: c.b };
}

/**
 * sharp's threshold works on the greyscale luminance and drops alpha; put the alpha band back.
 * sharp takes 0 for "no threshold", but every luminance is at least 0: all white.
 */
async function applyThreshold(image: Sharp, o: { value: number }, ctx: StepContext): Promise<Sharp> {
  const binarise = (img: Sharp) => (o.value === 0 ? img.threshold(1).linear(0, 255) : img.threshold(o.value));
  if (!ctx.meta.hasAlpha) return binarise(image);
  const raw = await toRaw(image);
  const alpha = await band(raw, (raw.channels - 1) as 1 | 3);
  const bw = await toRaw(binarise(fromRaw(raw).removeAlpha()));
  return fromRaw(bw, ctx.meta.pages).joinChannel(alpha.data, {
    raw: { width: alpha.width, height: alpha.height, channels: 1 },
  });
}

export const grayscale = defineOperation({
  name: "grayscale",
  family: "colour",
  summary: "Convert to shades of grey.",
  schema: opSchema("grayscale", {}),
  describe: () => "Convert to greyscale",
  words: ["grayscale", "greyscale", "gray", "grey", "monochrome", "mono", "black and white", "b&w", "bw", "desaturate"],
  keepsAnimation: true,
  frames: "whole", // pixel-wise: one pass over all frames
  apply: (image) => image.modulate({ saturation: 0 }),
});

export const sepia = defineOperation({
  name: "sepia",
  family: "colour",
  summary: "Warm brown old-photo tone.",
  schema: opSchema("sepia", {}),
  describe: () => "Apply a sepia tone",
  words: ["sepia", "vintage", "old", "antique"],
  keepsAnimation: true,
  frames: "whole", // pixel-wise: one pass over all frames
  apply: (image) => image.recomb(SEPIA),
});

export const negate = defineOperation({
  name: "negate",
  family: "colour",
  summary: "Invert the colours (a photographic negative).",
  schema: opSchema("negate", {}),
  describe: () => "Invert colours",
  words: ["negate", "invert", "negative", "inverse"],
  keepsAnimation: true,
  frames: "whole", // pixel-wise: one pass over all frames
  apply: (image) => image.negate({ alpha: false }),
});

export const normalize = defineOperation({
  name: "normalize",
  family: "colour",
  summary: "Stretch the contrast so the darkest pixels become black and the lightest white.",
  schema: opSchema("normalize", {}),
  describe: () => "Normalize (auto-level) contrast",
  words: ["normalize", "normalise", "auto-level", "autolevel", "auto-contrast", "enhance", "fix", "levels"],
  keepsAnimation: true,
  frames: "whole", // pixel-wise: one pass over all frames
  apply: (image) => image.normalise(),
});

export const tint = defineOperation({
  name: "tint",
  family: "colour",
  summary: "Tint the image with a colour, keeping its lightness.",
  schema: opSchema("tint", { color: colorSchema }),
  describe: (o) => `Tint ${o.color}`,
  words: ["tint", "colorize", "colourise", "colourize", "wash"],
  keepsAnimation: true,
  frames: "whole", // pixel-wise: one pass over all frames
  // grey images have no chroma to tint: paintable works in sRGB
  apply: async (image, o, ctx) => (await paintable(image, ctx.meta)).tint(rgb(o.color)),
});

export const brightness = defineOperation({
  name: "brightness",
  family: "colour",
  summary: "Multiply brightness (1 = unchanged, 1.2 = 20% brighter, 0.8 = darker).",
  schema: opSchema("brightness", { factor }),
  describe: (o) => `Brightness ${pct(o.factor)}`,
  words: [
    "brightness",
    "brighten",
    "brighter",
    "bright",
    "lighten",
    "lighter",
    "darken",
    "darker",
    "dark",
    "dim",
    "dimmer",
    "exposure",
  ],
  keepsAnimation: true,
  frames: "whole", // pixel-wise: one pass over all frames
  apply: (image, o) => image.linear(o.factor, 0),
});

export const contrast = defineOperation({
  name: "contrast",
  family: "colour",
  summary: "Scale contrast around mid-grey (1 = unchanged, above 1 = more).",
  schema: opSchema("contrast", { factor }),
  describe: (o) => `Contrast ${pct(o.factor)}`,
  words: ["contrast", "punchy", "punchier", "flat", "flatter"],
  keepsAnimation: true,
  frames: "whole", // pixel-wise: one pass over all frames
  apply: (image, o) => image.linear(o.factor, 128 * (1 - o.factor)),
});

export const saturation = defineOperation({
  name: "saturation",
  family: "colour",
  summary: "Scale colour saturation (1 = unchanged, 0 = grey, 2 = vivid).",
  schema: opSchema("saturation", { factor }),
  describe: (o) => `Saturation ${pct(o.factor)}`,
  words: [
    "saturation",
    "saturate",
    "saturated",
    "vivid",
    "vibrant",
    "colorful",
    "colourful",
    "pop",
    "muted",
    "desaturated",
    "dull",
  ],
  keepsAnimation: true,
  frames: "whole", // pixel-wise: one pass over all frames
  apply: (image, o) => image.modulate({ saturation: o.factor }),
});

export const hue = defineOperation({
  name: "hue",
  family: "colour",
  summary: "Rotate the hue by degrees.",
  schema: opSchema("hue", { degrees: z.number().min(-360).max(360) }),
  describe: (o) => `Shift hue by ${o.degrees}°`,
  words: ["hue", "shift"],
  keepsAnimation: true,
  frames: "whole", // pixel-wise: one pass over all frames
  apply: (image, o) => image.modulate({ hue: Math.round(o.degrees) }),
});

export const gamma = defineOperation({
  name: "gamma",
  family: "colour",
  summary: "Gamma correction (1.0-3.0; 2.2 is typical): above 1 lifts the midtones, as ImageMagick's -gamma does.",
  schema: opSchema("gamma", { value: z.number().min(1).max(3) }),
  describe: (o) => `Gamma ${o.value}`,
  words: ["gamma"],
  keepsAnimation: true,
  frames: "whole", // pixel-wise: one pass over all frames
  apply: (image, o) => image.gamma(1, o.value),
});

export const threshold = defineOperation({
  name: "threshold",
  family: "colour",
  summary: "Pure black and white: pixels at or above the value (0-255) become white, the rest black.",
  schema: opSchema("threshold", { value: z.number().int().min(0).max(255).default(128) }),
  describe: (o) => `Threshold at ${o.value}`,
  words: ["threshold", "binarize", "binarise"],
  keepsAnimation: true,
  frames: "whole", // pixel-wise: one pass over all frames
  apply: applyThreshold,
});

/**
 * `levels` evenly spaced values per colour channel, black and full among them (ImageMagick's
 * -posterize); alpha passes through. libvips has no per-value lookup, so the pixels are mapped here.
 */
async function applyPosterize(image: Sharp, o: { levels: number }, ctx: StepContext): Promise<Sharp> {
  const raw = await toRaw(image);
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = Math.round((Math.floor((v * o.levels) / 256) * 255) / (o.levels - 1));
  const { data, channels } = raw;
  const colours = channels === 2 || channels === 4 ? channels - 1 : channels;
  for (let i = 0; i < data.length; i += channels) for (let c = 0; c < colours; c++) data[i + c] = lut[data[i + c]];
  return fromRaw(raw, ctx.meta.pages);
}

export const posterize = defineOperation({
  name: "posterize",
  family: "colour",
  summary: "Fewer tones, a poster look: each colour channel keeps only `levels` (2-32) evenly spaced values.",
  schema: opSchema("posterize", { levels: z.number().int().min(2).max(32).default(4) }),
  describe: (o) => `Posterize to ${o.levels} levels`,
  words: ["posterize", "posterise"],
  keepsAnimation: true,
  frames: "whole", // pixel-wise: one pass over all frames
  apply: applyPosterize,
});

/** At amount 100 red is multiplied by 1.25 and blue by 0.75 (the reverse at -100); green is kept. */
const TEMPERATURE_SPAN = 0.25;
function temperatureMatrix(amount: number): Matrix3x3 {
  const k = (amount / 100) * TEMPERATURE_SPAN;
  return [
    [1 + k, 0, 0],
    [0, 1, 0],
    [0, 0, 1 - k],
  ];
}

export const temperature = defineOperation({
  name: "temperature",
  family: "colour",
  summary:
    "Colour temperature, -100 to 100: above 0 warmer (more red, less blue), below 0 cooler (the reverse); alpha is kept.",
  schema: opSchema("temperature", { amount: z.number().min(-100).max(100) }),
  describe: (o) => (o.amount >= 0 ? `Warmer by ${o.amount}` : `Cooler by ${-o.amount}`),
  words: ["temperature", "warm", "warmer", "warmth", "warmed", "cool", "cooler", "cooled"],
  keepsAnimation: true,
  frames: "whole", // pixel-wise: one pass over all frames
  // recomb works on the colour bands (grey inputs become sRGB) and passes alpha through, as sepia's
  apply: (image, o) => image.recomb(temperatureMatrix(o.amount)),
});
