// Alpha between steps: the raw pixels a step hands to the next are never premultiplied (sharp's
// info.premultiplied only says it premultiplied internally; its raw output is unpremultiplied).
// Every two-step chain on a semi-transparent image (and an animated GIF with transparency) must
// equal running the steps one at a time, written losslessly in between.
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../src/core/limits.js";
import { processImage } from "../../src/core/pipeline.js";
import { validatePlan } from "../../src/core/plan.js";
import { maxAlphaWeightedDiff } from "../helpers/images.js";

const limits = DEFAULT_LIMITS;
const PNG = { op: "format", format: "png" };
const WEBP_LOSSLESS = { op: "format", format: "webp", lossless: true };

const run = (input: Buffer, ops: unknown[]) => processImage(input, validatePlan(ops, limits), { limits });

/** 48x40 RGBA: colour noise over gradients, alpha sweeping 0-255 (a transparent and an opaque band). */
async function semiTransparent(): Promise<Buffer> {
  const width = 48;
  const height = 40;
  const data = Buffer.alloc(width * height * 4);
  let s = 11;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      s = (s * 1103515245 + 12345) & 0x7fffffff;
      const i = (y * width + x) * 4;
      data[i] = (x * 5 + (s >> 20)) & 0xff;
      data[i + 1] = (y * 6 + (s >> 12)) & 0xff;
      data[i + 2] = 255 - x * 4;
      data[i + 3] = y < 4 ? 0 : y >= 36 ? 255 : Math.min(255, x * 6 + y * 2);
    }
  return sharp(data, { raw: { width, height, channels: 4 } })
    .png()
    .toBuffer();
}

/** 3-frame 40x30 GIF: a transparent background with an opaque coloured square that moves. */
async function transparentGif(): Promise<Buffer> {
  const w = 40;
  const h = 30;
  const frames = [0, 1, 2].map((k) => {
    const f = Buffer.alloc(w * h * 4);
    for (let y = 6; y < 22; y++)
      for (let x = 4 + k * 8; x < 20 + k * 8; x++) f.set([200, 40 + k * 60, 90, 255], (y * w + x) * 4);
    return f;
  });
  return sharp(Buffer.concat(frames), { raw: { width: w, height: h * 3, channels: 4, pageHeight: h }, pages: -1 })
    .gif({ delay: [100, 100, 100], loop: 0 })
    .toBuffer();
}

async function decoded(data: Buffer, animated = false) {
  const { data: px, info } = await sharp(data, { animated }).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: px, width: info.width, height: info.height };
}

async function chainVsStepwise(input: Buffer, ops: unknown[], out: unknown, animated = false) {
  const whole = await run(input, [...ops, out]);
  let data = input;
  for (const op of ops) data = (await run(data, [op, out])).data;
  const [a, b] = await Promise.all([decoded(whole.data, animated), decoded(data, animated)]);
  expect({ width: a.width, height: a.height }).toEqual({ width: b.width, height: b.height });
  return { whole, diff: maxAlphaWeightedDiff(a.data, b.data) };
}

// The steps whose sharp chain premultiplies (info.premultiplied is true after them).
const FIRST = [
  { op: "resize", width: 30 },
  { op: "scale", factor: 0.5 },
  { op: "resize", width: 24, height: 24, fit: "cover" },
  { op: "blur", sigma: 2 },
  { op: "sharpen", sigma: 1.5 },
];
const SECOND = [
  { op: "negate" },
  { op: "flip" },
  { op: "flip", direction: "vertical" },
  { op: "rotate", angle: 90 },
  { op: "rotate", angle: 30 },
  { op: "grayscale" },
  { op: "sepia" },
  { op: "tint", color: "#3080ff" },
  { op: "brightness", factor: 1.3 },
  { op: "contrast", factor: 1.3 },
  { op: "saturation", factor: 1.5 },
  { op: "hue", degrees: 90 },
  { op: "gamma", value: 2 },
  { op: "threshold" },
  { op: "normalize" },
  { op: "blur", sigma: 1 },
  { op: "sharpen", sigma: 1 },
  { op: "median", size: 3 },
  { op: "resize", width: 20 },
  { op: "scale", factor: 0.5 },
  { op: "crop", left: 2, top: 2, width: 10, height: 10 },
  { op: "pad", top: 3, left: 2, color: "#ff000080" },
  { op: "border", width: 2, color: "blue" },
];

describe("alpha after a step whose chain premultiplies: two steps equal the steps one at a time", () => {
  for (const first of FIRST)
    it(`${JSON.stringify(first)} then each of ${SECOND.length} steps, on a semi-transparent PNG`, async () => {
      const input = await semiTransparent();
      for (const second of SECOND) {
        const { diff } = await chainVsStepwise(input, [first, second], PNG);
        expect(diff, `${JSON.stringify(first)} -> ${JSON.stringify(second)}`).toBeLessThanOrEqual(2);
      }
    });

  it("a negate after a resize inverts the colour of semi-transparent pixels, not their premultiplied value", async () => {
    const input = await semiTransparent();
    const out = await decoded((await run(input, [{ op: "scale", factor: 0.5 }, { op: "negate" }, PNG])).data);
    const ref = await decoded(await sharp(input).resize(24, 20).negate({ alpha: false }).png().toBuffer());
    expect(maxAlphaWeightedDiff(out.data, ref.data)).toBeLessThanOrEqual(1);
  });

  it.each([
    [{ op: "resize", width: 20 }, { op: "negate" }],
    [{ op: "scale", factor: 0.5 }, { op: "grayscale" }],
    [{ op: "blur", sigma: 1.5 }, { op: "flip" }],
    [
      { op: "sharpen", sigma: 1 },
      { op: "rotate", angle: 90 },
    ],
    [
      { op: "resize", width: 20, height: 20, fit: "cover" },
      { op: "tint", color: "red" },
    ],
  ])("an animated GIF with transparency keeps its frames and colours: %j then %j", async (first, second) => {
    const input = await transparentGif();
    const { whole, diff } = await chainVsStepwise(input, [first, second], WEBP_LOSSLESS, true);
    expect(whole.pages).toBe(3);
    expect(diff).toBeLessThanOrEqual(2);
    // the opaque squares are still coloured (the bug turned them black)
    const px = await decoded(whole.data, true);
    let brightest = 0;
    for (let i = 0; i < px.data.length; i += 4)
      if (px.data[i + 3] === 255) brightest = Math.max(brightest, px.data[i], px.data[i + 1], px.data[i + 2]);
    expect(brightest).toBeGreaterThan(150);
  });
});
