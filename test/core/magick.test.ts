// The ImageMagick loader: lazy (the common path never loads it), initialised once, and the
// wasm location can be set explicitly for bundles. Tests run in order in a fresh module graph.
import { createRequire } from "node:module";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../src/core/limits.js";
import { isMagickLoaded, loadMagick, setMagickWasmPath, withMagickImage } from "../../src/core/magick.js";
import { processImage } from "../../src/core/pipeline.js";
import { validatePlan } from "../../src/core/plan.js";
import { makeImage } from "../helpers/images.js";

describe("ImageMagick loader", () => {
  it("is not loaded by plans without an ImageMagick effect", async () => {
    const input = await makeImage({ width: 120, height: 80, gradient: true, format: "jpeg" });
    await processImage(input, validatePlan([{ op: "resize", width: 60 }], DEFAULT_LIMITS), { limits: DEFAULT_LIMITS });
    await processImage(
      input,
      validatePlan(
        [
          { op: "grayscale" },
          { op: "blur", sigma: 1 },
          { op: "text", text: "hi", position: "bottom-right", color: "white", opacity: 0.8 },
          { op: "format", format: "webp" },
        ],
        DEFAULT_LIMITS,
      ),
      { limits: DEFAULT_LIMITS },
    );
    expect(isMagickLoaded()).toBe(false);
  });

  it("an explicit wasm path that does not exist fails with a clear error, and a later call can retry", async () => {
    setMagickWasmPath("/nonexistent/magick.wasm");
    await expect(loadMagick()).rejects.toMatchObject({
      code: "INTERNAL",
      message: expect.stringContaining("/nonexistent/magick.wasm"),
    });
    expect(isMagickLoaded()).toBe(false);
    setMagickWasmPath(createRequire(import.meta.url).resolve("@imagemagick/magick-wasm/magick.wasm"));
  });

  it("loads on first use; concurrent first calls share one initialisation", async () => {
    const a = loadMagick();
    const b = loadMagick();
    expect(a).toBe(b);
    const [ma, mb] = await Promise.all([a, b]);
    expect(ma).toBe(mb);
    expect(isMagickLoaded()).toBe(true);
    setMagickWasmPath(undefined);
  });

  it("an effect in a plan runs through ImageMagick", async () => {
    const input = await makeImage({ width: 60, height: 40, quadrants: true });
    const out = await processImage(input, validatePlan([{ op: "swirl", degrees: 180 }], DEFAULT_LIMITS), {
      limits: DEFAULT_LIMITS,
    });
    expect([out.width, out.height, out.format]).toEqual([60, 40, "png"]);
  });

  it("turns ImageMagick failures into a typed error", async () => {
    const tooShort = { data: Buffer.alloc(5), width: 10, height: 10, channels: 3 as const };
    await expect(withMagickImage(tooShort, () => {})).rejects.toMatchObject({ code: "PROCESSING_FAILED" });
  });

  it("refuses images too large for ImageMagick's 32-bit memory before touching them", async () => {
    const huge = { data: Buffer.alloc(0), width: 10_000, height: 5_000, channels: 3 as const };
    await expect(withMagickImage(huge, () => {})).rejects.toMatchObject({
      code: "PIXEL_LIMIT",
      message: expect.stringContaining("10000x5000"),
    });
  });

  it("round-trips pixels losslessly (RGB in, RGBA out)", async () => {
    const { data, info } = await sharp(await makeImage({ width: 8, height: 6, quadrants: true }))
      .raw()
      .toBuffer({ resolveWithObject: true });
    const back = await withMagickImage({ data, width: info.width, height: info.height, channels: 3 }, () => {});
    expect([back.width, back.height, back.channels]).toEqual([8, 6, 4]);
    const rgba = await sharp(data, { raw: { width: 8, height: 6, channels: 3 } })
      .ensureAlpha()
      .raw()
      .toBuffer();
    expect(back.data.equals(rgba)).toBe(true);
  });
});
