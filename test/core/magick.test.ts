// The ImageMagick loader: lazy (the common path never loads it), initialised once, and the
// wasm location can be set explicitly for bundles. Tests run in order in a fresh module graph.
import { createRequire } from "node:module";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../src/core/limits.js";
import { isMagickLoaded, loadMagick, setMagickWasmPath, withMagickImage } from "../../src/core/magick.js";
import { processImage } from "../../src/core/pipeline.js";
import { makeImage } from "../helpers/images.js";

describe("ImageMagick loader", () => {
  it("is not loaded by plans without an ImageMagick effect", async () => {
    const input = await makeImage({ width: 120, height: 80, gradient: true, format: "jpeg" });
    await processImage(input, [{ op: "resize", width: 60 }], { limits: DEFAULT_LIMITS });
    await processImage(
      input,
      [
        { op: "grayscale" },
        { op: "blur", sigma: 1 },
        { op: "text", text: "hi", position: "bottom-right", color: "white", opacity: 0.8 },
        { op: "format", format: "webp" },
      ] as never,
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
    const out = await processImage(input, [{ op: "swirl", degrees: 180 }] as never, { limits: DEFAULT_LIMITS });
    expect([out.width, out.height, out.format]).toEqual([60, 40, "png"]);
  });

  it("turns ImageMagick failures into a typed error", async () => {
    await expect(withMagickImage(Buffer.from("not an image"), () => {})).rejects.toMatchObject({
      code: "PROCESSING_FAILED",
    });
  });

  it("round-trips pixels losslessly as PNG", async () => {
    const png = await makeImage({ width: 8, height: 6, quadrants: true, alpha: 200 });
    const back = await withMagickImage(png, () => {});
    const a = await sharp(png).raw().toBuffer();
    const b = await sharp(back).ensureAlpha().raw().toBuffer();
    expect(b.equals(a)).toBe(true);
  });
});
