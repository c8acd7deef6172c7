// Every colour, filter, overlay and effect step through the real pipeline: on a JPEG photo-like
// input, and on an animated GIF, where keepsAnimation must be the truth.
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../src/core/limits.js";
import { getOperation } from "../../src/core/operations.js";
import { processImage } from "../../src/core/pipeline.js";
import { validatePlan } from "../../src/core/plan.js";
import { makeImage } from "../helpers/images.js";

const logo = () =>
  sharp({ create: { width: 20, height: 20, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 1 } } })
    .png()
    .toBuffer();
const opts = { limits: DEFAULT_LIMITS, loadAsset: async () => logo() };

/** Detail everywhere, so neighbourhood filters have something to change. */
const noisyJpeg = () =>
  sharp({
    create: {
      width: 96,
      height: 64,
      channels: 3,
      background: "#806040",
      noise: { type: "gaussian", mean: 128, sigma: 40 },
    },
  })
    .jpeg({ quality: 95 })
    .toBuffer();

const steps = [
  { op: "grayscale" },
  { op: "sepia" },
  { op: "negate" },
  { op: "normalize" },
  { op: "tint", color: "#3366ff" },
  { op: "brightness", factor: 1.3 },
  { op: "contrast", factor: 1.4 },
  { op: "saturation", factor: 0.5 },
  { op: "hue", degrees: 45 },
  { op: "gamma", value: 1.8 },
  { op: "threshold", value: 90 },
  { op: "blur", sigma: 1.5 },
  { op: "sharpen", sigma: 1 },
  { op: "median", size: 3 },
  { op: "text", text: "imgedit" },
  { op: "watermark", url: "https://assets.example/logo.png" },
  { op: "vignette" },
  { op: "oilPaint", radius: 2 },
  { op: "charcoal" },
  { op: "swirl", degrees: 60 },
  { op: "polaroid", angle: 5 },
];

describe("colour, filter, overlay and effect steps in the pipeline", () => {
  it.each(steps)("$op changes a detailed JPEG and keeps its size (polaroid grows it)", async (step) => {
    const input = await noisyJpeg();
    const result = await processImage(input, validatePlan([step], DEFAULT_LIMITS), opts);
    const grows = step.op === "polaroid";
    expect(result.format).toBe("jpeg");
    if (grows) expect(result.width).toBeGreaterThan(96);
    else expect([result.width, result.height]).toEqual([96, 64]);
    const before = await sharp(input).resize(result.width, result.height, { fit: "fill" }).raw().toBuffer();
    const after = await sharp(result.data).removeAlpha().toColourspace("srgb").raw().toBuffer();
    let diff = 0;
    for (let i = 0; i < Math.min(before.length, after.length); i++) diff += Math.abs(before[i] - after[i]);
    expect(diff / before.length).toBeGreaterThan(1);
  });

  it.each(steps)("$op on an animated GIF keeps its frames exactly when the catalog says so", async (step) => {
    const gif = await makeImage({ width: 40, height: 30, pages: 3, format: "gif", gradient: true });
    const result = await processImage(gif, validatePlan([step], DEFAULT_LIMITS), opts);
    const keeps = getOperation(step.op)!.keepsAnimation;
    expect(result.pages).toBe(keeps ? 3 : 1);
    if (keeps) expect([result.width, result.height]).toEqual([40, 30]);
  });
});
