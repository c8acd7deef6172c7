// Each geometry operation, asserted by its effect on images the tests make.
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../src/core/limits.js";
import { getOperation } from "../../src/core/operations.js";
import { processImage } from "../../src/core/pipeline.js";
import { validatePlan } from "../../src/core/plan.js";
import {
  describeColor,
  makeImage,
  makeOrientedImage,
  near,
  pixelAt,
  QUADRANT_COLORS,
  readPixels,
} from "../helpers/images.js";

const RED = [255, 0, 0];
const LIME = [0, 255, 0];
const BLUE = [0, 0, 255];
const YELLOW = [255, 255, 0];
const WHITE = [255, 255, 255];

async function run(input: Buffer, plan: unknown) {
  const result = await processImage(input, validatePlan(plan, DEFAULT_LIMITS), { limits: DEFAULT_LIMITS });
  return { result, px: await readPixels(result.data) };
}

function expectColor(actual: number[], expected: readonly number[], tolerance = 24) {
  expect(near(actual, expected, tolerance), `${describeColor(actual)} should be near ${describeColor(expected)}`).toBe(
    true,
  );
}

// 40x30 quadrants: red top-left, lime top-right, blue bottom-left, yellow bottom-right.
const quadrants = () => makeImage({ width: 40, height: 30, quadrants: true });

describe("resize", () => {
  it("fits inside a width, keeping the aspect ratio", async () => {
    const { result } = await run(await makeImage({ width: 64, height: 48 }), [{ op: "resize", width: 32 }]);
    expect([result.width, result.height]).toEqual([32, 24]);
  });
  it("fits inside a box", async () => {
    const { result } = await run(await makeImage({ width: 64, height: 48 }), [{ op: "resize", width: 30, height: 30 }]);
    expect([result.width, result.height]).toEqual([30, 23]);
  });
  it("cover fills the box exactly", async () => {
    const { result } = await run(await makeImage({ width: 64, height: 48 }), [
      { op: "resize", width: 30, height: 30, fit: "cover" },
    ]);
    expect([result.width, result.height]).toEqual([30, 30]);
  });
  it("contain letterboxes with the background colour", async () => {
    const { result, px } = await run(await makeImage({ width: 60, height: 30, color: "red" }), [
      { op: "resize", width: 30, height: 30, fit: "contain", background: "blue" },
    ]);
    expect([result.width, result.height]).toEqual([30, 30]);
    expectColor(pixelAt(px, 15, 0), BLUE);
    expectColor(pixelAt(px, 15, 15), RED);
  });
  it("fill stretches to the exact size", async () => {
    const { result } = await run(await makeImage({ width: 64, height: 48 }), [
      { op: "resize", width: 50, height: 10, fit: "fill" },
    ]);
    expect([result.width, result.height]).toEqual([50, 10]);
  });
  it("outside covers the box while keeping the aspect ratio", async () => {
    const { result } = await run(await makeImage({ width: 64, height: 48 }), [
      { op: "resize", width: 30, height: 30, fit: "outside" },
    ]);
    expect([result.width, result.height]).toEqual([40, 30]);
  });
  it("withoutEnlargement never makes the image bigger", async () => {
    const { result } = await run(await makeImage({ width: 64, height: 48 }), [
      { op: "resize", width: 200, withoutEnlargement: true },
    ]);
    expect([result.width, result.height]).toEqual([64, 48]);
  });
  it("keeps the picture: quadrant colours stay in their corners", async () => {
    const { px } = await run(await quadrants(), [{ op: "resize", width: 80 }]);
    expect([px.width, px.height]).toEqual([80, 60]);
    expectColor(pixelAt(px, 5, 5), RED);
    expectColor(pixelAt(px, 75, 55), YELLOW);
  });
});

describe("scale", () => {
  it("halves and doubles both sides", async () => {
    const input = await makeImage({ width: 64, height: 48 });
    expect((await run(input, [{ op: "scale", factor: 0.5 }])).px).toMatchObject({ width: 32, height: 24 });
    expect((await run(input, [{ op: "scale", factor: 2 }])).px).toMatchObject({ width: 128, height: 96 });
  });
});

describe("crop", () => {
  it("keeps a region (left, top, width, height)", async () => {
    const { px } = await run(await quadrants(), [{ op: "crop", left: 20, top: 0, width: 20, height: 15 }]);
    expect([px.width, px.height]).toEqual([20, 15]);
    for (const [x, y] of [
      [0, 0],
      [19, 14],
      [10, 7],
    ])
      expectColor(pixelAt(px, x, y), LIME, 2);
  });
  it("clips a region reaching past the edge to the image", async () => {
    const { px } = await run(await quadrants(), [{ op: "crop", left: 30, top: 20, width: 100, height: 100 }]);
    expect([px.width, px.height]).toEqual([10, 10]);
    expectColor(pixelAt(px, 5, 5), YELLOW, 2);
  });
  it("refuses a region that starts outside the image", async () => {
    await expect(run(await quadrants(), [{ op: "crop", left: 50, top: 0, width: 5, height: 5 }])).rejects.toMatchObject(
      {
        code: "INVALID_OPERATION",
        message: expect.stringContaining("outside the 40x30 image"),
      },
    );
  });
  it("refuses steps too big for a tiny image as the plan's fault, not a processing failure", async () => {
    const tiny = await sharp({ create: { width: 2, height: 2, channels: 3, background: "#f00" } })
      .png()
      .toBuffer();
    await expect(run(tiny, [{ op: "trim" }])).rejects.toMatchObject({
      code: "INVALID_OPERATION",
      message: expect.stringContaining("at least 3x3 pixels, not 2x2"),
    });
    await expect(run(tiny, [{ op: "median", size: 3 }])).rejects.toMatchObject({
      code: "INVALID_OPERATION",
      message: expect.stringContaining("median 3x3 is larger than the 2x2 image"),
    });
    // just big enough: both run
    const three = await sharp({ create: { width: 3, height: 3, channels: 3, background: "#f00" } })
      .png()
      .toBuffer();
    const { px } = await run(three, [{ op: "median", size: 3 }]);
    expect([px.width, px.height]).toEqual([3, 3]);
  });
  it("crops a size at a gravity", async () => {
    const { px } = await run(await quadrants(), [{ op: "crop", width: 10, height: 10, gravity: "bottom-right" }]);
    expect([px.width, px.height]).toEqual([10, 10]);
    expectColor(pixelAt(px, 0, 0), YELLOW, 2);
    const centre = await run(await quadrants(), [{ op: "crop", width: 10, height: 10, gravity: "top-left" }]);
    expectColor(pixelAt(centre.px, 9, 9), RED, 2);
  });
  it("cuts an inset off each edge, in px or percent of the step's input", async () => {
    const { px } = await run(await quadrants(), [{ op: "crop", inset: { top: 5, right: 10, bottom: 5, left: 10 } }]);
    expect([px.width, px.height]).toEqual([20, 20]);
    expectColor(pixelAt(px, 0, 0), RED, 2);
    expectColor(pixelAt(px, 19, 19), YELLOW, 2);
    const pct = await run(await quadrants(), [{ op: "crop", inset: { top: 10, bottom: 10, unit: "%" } }]);
    expect([pct.px.width, pct.px.height]).toEqual([40, 24]);
    // against the resized image (80x60), not the original
    const after = await run(await quadrants(), [
      { op: "resize", width: 80 },
      { op: "crop", inset: { top: 10, right: 10, bottom: 10, left: 10 } },
    ]);
    expect([after.px.width, after.px.height]).toEqual([60, 40]);
  });
  it("cuts the inset off every frame of an animation", async () => {
    const gif = await makeImage({ width: 20, height: 16, pages: 3, format: "gif", color: "#4080c0" });
    const { result } = await run(gif, [{ op: "crop", inset: { top: 2, right: 3, bottom: 2, left: 3 } }]);
    const meta = await sharp(result.data, { animated: true }).metadata();
    expect([meta.width, meta.pageHeight, meta.pages]).toEqual([14, 12, 3]);
  });
  it("refuses an inset that leaves nothing, or one given with a size", async () => {
    await expect(run(await quadrants(), [{ op: "crop", inset: { left: 20, right: 20 } }])).rejects.toMatchObject({
      code: "INVALID_OPERATION",
      message: expect.stringContaining("leaves nothing"),
    });
    expect(() => validatePlan([{ op: "crop", inset: { top: 50, bottom: 50, unit: "%" } }], DEFAULT_LIMITS)).toThrow(
      /100% or more/,
    );
    expect(() => validatePlan([{ op: "crop", width: 5, height: 5, inset: { top: 1 } }], DEFAULT_LIMITS)).toThrow(
      /inset or a size/,
    );
  });
  it("crops to an aspect ratio", async () => {
    const { px } = await run(await quadrants(), [{ op: "crop", aspectRatio: "1:1" }]);
    expect([px.width, px.height]).toEqual([30, 30]);
    const wide = await run(await quadrants(), [{ op: "crop", aspectRatio: "16:9", gravity: "top" }]);
    expect([wide.px.width, wide.px.height]).toEqual([40, 23]);
  });
  it("attention and entropy return the requested size and find the interesting part", async () => {
    // A grey field with one saturated, detailed patch on the right.
    const base = await makeImage({ width: 200, height: 100, color: "#808080" });
    const patch = await makeImage({ width: 40, height: 40, gradient: true });
    const input = await sharp(base)
      .composite([{ input: patch, left: 150, top: 30 }])
      .png()
      .toBuffer();
    for (const gravity of ["attention", "entropy"]) {
      const { px } = await run(input, [{ op: "crop", aspectRatio: "1:1", gravity }]);
      expect([px.width, px.height]).toEqual([100, 100]);
      // The patch (not plain grey) is inside the chosen square.
      expect(near(pixelAt(px, 75, 50), [128, 128, 128], 6)).toBe(false);
      const sized = await run(input, [{ op: "crop", width: 60, height: 50, gravity }]);
      expect([sized.px.width, sized.px.height]).toEqual([60, 50]);
    }
  });
});

describe("trim", () => {
  it("removes a uniform border", async () => {
    const red = await makeImage({ width: 40, height: 30, color: "red" });
    const framed = await sharp(red)
      .extend({ top: 10, bottom: 10, left: 12, right: 12, background: "#ffffff" })
      .png()
      .toBuffer();
    const { px } = await run(framed, [{ op: "trim" }]);
    expect([px.width, px.height]).toEqual([40, 30]);
    expectColor(pixelAt(px, 0, 0), RED, 2);
  });
});

describe("pad and border", () => {
  it("pad adds space per side in the colour", async () => {
    const { px } = await run(await makeImage({ width: 20, height: 10, color: "red" }), [
      { op: "pad", left: 5, top: 2, color: "blue" },
    ]);
    expect([px.width, px.height]).toEqual([25, 12]);
    expectColor(pixelAt(px, 0, 5), BLUE, 2);
    expectColor(pixelAt(px, 10, 0), BLUE, 2);
    expectColor(pixelAt(px, 24, 11), RED, 2);
  });
  it("border surrounds the image", async () => {
    const { px } = await run(await makeImage({ width: 20, height: 10, color: "blue" }), [
      { op: "border", width: 4, color: "red" },
    ]);
    expect([px.width, px.height]).toEqual([28, 18]);
    for (const [x, y] of [
      [0, 0],
      [27, 17],
      [3, 9],
      [14, 15],
    ])
      expectColor(pixelAt(px, x, y), RED, 2);
    expectColor(pixelAt(px, 4, 4), BLUE, 2);
  });
});

// libvips paints a background on a 1-2 band image with the colour's grey level: a red border on a
// greyscale photo or a fax TIFF (the corpus' G31D.TIF) came out dark grey.
describe("coloured backgrounds on greyscale inputs", () => {
  const grey = async (format: "png" | "tiff" | "jpeg", alpha = false) => {
    const width = 40;
    const height = 30;
    const bands = alpha ? 2 : 1;
    const data = Buffer.alloc(width * height * bands);
    for (let i = 0; i < width * height; i++) {
      data[i * bands] = (i % width) * 6;
      if (alpha) data[i * bands + 1] = 255;
    }
    const img = sharp(data, { raw: { width, height, channels: bands } }).toColourspace("b-w");
    return format === "tiff" ? img.tiff({ bitdepth: 1 }).toBuffer() : img.toFormat(format).toBuffer();
  };
  const cases = [
    { ops: [{ op: "pad", top: 4, left: 4, color: "red" }], at: [0, 0], want: RED },
    { ops: [{ op: "border", width: 3, color: "blue" }], at: [0, 0], want: BLUE },
    { ops: [{ op: "resize", width: 40, height: 60, fit: "contain", background: "lime" }], at: [20, 1], want: LIME },
    { ops: [{ op: "rotate", angle: 30, background: "red" }], at: [0, 0], want: RED },
  ];
  for (const [format, alpha] of [
    ["png", false],
    ["png", true],
    ["tiff", false],
    ["jpeg", false],
  ] as const)
    it(`${format}${alpha ? " with alpha" : ""}: pad, border, contain and rotate paint the colour asked for`, async () => {
      const input = await grey(format, alpha);
      expect((await sharp(input).metadata()).channels).toBe(alpha ? 2 : 1);
      for (const { ops, at, want } of cases) {
        const { px } = await run(input, ops);
        expectColor(pixelAt(px, at[0], at[1]), want, 8);
      }
    });
});

describe("rotate", () => {
  it("90° clockwise swaps the sides and moves top-left to top-right", async () => {
    const { px } = await run(await quadrants(), [{ op: "rotate", angle: 90 }]);
    expect([px.width, px.height]).toEqual([30, 40]);
    expectColor(pixelAt(px, 25, 5), RED, 2);
    expectColor(pixelAt(px, 5, 5), BLUE, 2);
  });
  it("-90° (counter-clockwise) moves top-left to bottom-left", async () => {
    const { px } = await run(await quadrants(), [{ op: "rotate", angle: -90 }]);
    expect([px.width, px.height]).toEqual([30, 40]);
    expectColor(pixelAt(px, 5, 35), RED, 2);
  });
  it("180° puts yellow at the top-left", async () => {
    const { px } = await run(await quadrants(), [{ op: "rotate", angle: 180 }]);
    expectColor(pixelAt(px, 2, 2), YELLOW, 2);
  });
  it("any angle grows the canvas and fills the corners with the background", async () => {
    const { px } = await run(await makeImage({ width: 40, height: 30, color: "red" }), [
      { op: "rotate", angle: 45, background: "blue" },
    ]);
    // 40x30 at 45° needs about (40+30)/sqrt(2) = 49.5 px each way.
    expect(px.width).toBeGreaterThanOrEqual(49);
    expect(px.width).toBeLessThanOrEqual(51);
    expect(px.height).toBe(px.width);
    expectColor(pixelAt(px, 0, 0), BLUE, 10);
    expectColor(pixelAt(px, Math.floor(px.width / 2), Math.floor(px.height / 2)), RED, 10);
  });
});

describe("flip", () => {
  it("horizontal mirrors left-right", async () => {
    const { px } = await run(await quadrants(), [{ op: "flip", direction: "horizontal" }]);
    expectColor(pixelAt(px, 35, 5), RED, 2);
    expectColor(pixelAt(px, 5, 5), LIME, 2);
  });
  it("vertical turns upside down", async () => {
    const { px } = await run(await quadrants(), [{ op: "flip", direction: "vertical" }]);
    expectColor(pixelAt(px, 5, 25), RED, 2);
    expectColor(pixelAt(px, 5, 5), BLUE, 2);
  });
});

describe("auto-orient", () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])("EXIF orientation %i comes out upright", async (orientation) => {
    const input = await makeOrientedImage(orientation);
    expect((await sharp(input).metadata()).orientation).toBe(orientation);
    // Any plan: the pipeline orients first.
    const { result, px } = await run(input, [{ op: "format", format: "png" }]);
    expect([result.width, result.height]).toEqual([40, 30]);
    expectColor(pixelAt(px, 5, 5), QUADRANT_COLORS.topLeft, 40);
    expectColor(pixelAt(px, 35, 5), QUADRANT_COLORS.topRight, 40);
    expectColor(pixelAt(px, 5, 25), QUADRANT_COLORS.bottomLeft, 40);
    expectColor(pixelAt(px, 35, 25), QUADRANT_COLORS.bottomRight, 40);
    // Steps see the upright image: a crop of the top-left corner is red.
    const crop = await run(input, [{ op: "crop", left: 0, top: 0, width: 10, height: 10 }]);
    expectColor(pixelAt(crop.px, 5, 5), QUADRANT_COLORS.topLeft, 40);
    const explicit = await run(input, [{ op: "autoOrient" }, { op: "rotate", angle: 90 }]);
    expect([explicit.px.width, explicit.px.height]).toEqual([30, 40]);
    expectColor(pixelAt(explicit.px, 25, 5), QUADRANT_COLORS.topLeft, 40);
    expect((await sharp(explicit.result.data).metadata()).orientation ?? 1).toBe(1);
    // Fused in the first chain with the orientation: flip and resize act on the upright image.
    const flipped = await run(input, [{ op: "flip", direction: "horizontal" }]);
    expectColor(pixelAt(flipped.px, 35, 5), QUADRANT_COLORS.topLeft, 40);
    const flippedV = await run(input, [{ op: "flip", direction: "vertical" }]);
    expectColor(pixelAt(flippedV.px, 5, 25), QUADRANT_COLORS.topLeft, 40);
    const resized = await run(input, [{ op: "resize", width: 20 }]);
    expect([resized.px.width, resized.px.height]).toEqual([20, 15]);
    expectColor(pixelAt(resized.px, 2, 2), QUADRANT_COLORS.topLeft, 40);
  });
});

describe("steps run on the previous step's output", () => {
  it("crop after resize crops the resized image", async () => {
    const { px } = await run(await quadrants(), [
      { op: "resize", width: 20 },
      { op: "crop", left: 10, top: 0, width: 10, height: 7 },
    ]);
    expect([px.width, px.height]).toEqual([10, 7]);
    expectColor(pixelAt(px, 5, 3), LIME, 10);
  });
  it("two resizes both apply (a later one never replaces an earlier one)", async () => {
    const input = await makeImage({ width: 64, height: 48, gradient: true });
    const { px } = await run(input, [
      { op: "resize", width: 4 },
      { op: "resize", width: 64 },
    ]);
    expect([px.width, px.height]).toEqual([64, 48]);
    // Detail is gone after the 4-px step: neighbouring pixels are nearly equal.
    const direct = await readPixels(input);
    const a = pixelAt(px, 1, 1);
    expect(Math.abs(a[0] - pixelAt(direct, 1, 1)[0])).toBeGreaterThan(8);
  });
  it("rotate then resize sizes the rotated image", async () => {
    const { px } = await run(await quadrants(), [
      { op: "rotate", angle: 90 },
      { op: "resize", width: 15 },
    ]);
    expect([px.width, px.height]).toEqual([15, 20]);
    expectColor(pixelAt(px, 12, 2), RED, 30);
  });
  it("resize, pad, border, flip, rotate in sequence", async () => {
    const { px } = await run(await quadrants(), [
      { op: "resize", width: 20 },
      { op: "pad", right: 10, color: "white" },
      { op: "border", width: 1, color: "black" },
      { op: "flip", direction: "horizontal" },
      { op: "rotate", angle: 180 },
    ]);
    // 20x15 -> 30x15 -> 32x17; flip puts the padding left, rotate 180 puts it right again, upside down.
    expect([px.width, px.height]).toEqual([32, 17]);
    expectColor(pixelAt(px, 0, 0), [0, 0, 0], 2);
    expectColor(pixelAt(px, 26, 8), WHITE, 2);
    // Top-left red ended at the bottom-left after flip + 180.
    expectColor(pixelAt(px, 3, 13), RED, 30);
  });
});

describe("the size a resize is predicted to make (checked against the limits before it runs) is sharp's", () => {
  const def = getOperation("resize");
  const boxes: [number | undefined, number | undefined][] = [
    [100, undefined],
    [undefined, 77],
    [800, 100],
    [100, 800],
    [600, undefined],
    [undefined, 900],
    [200, 150],
    [1000, 1000],
    [30, 20],
  ];
  it.each([
    [400, 300],
    [401, 299],
    [50, 40],
    [20, 50],
  ])("%dx%d: every fit, with and without enlarging, one side or both", async (W, H) => {
    // fill with one side keeps the other; contain letterboxes into the box even when not enlarging
    const img = await sharp({ create: { width: W, height: H, channels: 3, background: "red" } })
      .png()
      .toBuffer();
    const wrong: string[] = [];
    for (const fit of ["inside", "outside", "cover", "contain", "fill"] as const)
      for (const withoutEnlargement of [false, true])
        for (const [width, height] of boxes) {
          const o = def?.schema.parse({ op: "resize", width, height, fit, withoutEnlargement });
          const meta = { width: W, height: H, pages: 1, channels: 3 as const, hasAlpha: false, sourceFormat: "png" };
          const p = def?.outputSize?.(meta, o as never);
          const { info } = await sharp(img)
            .resize({ width, height, fit, withoutEnlargement })
            .raw()
            .toBuffer({ resolveWithObject: true });
          if (p?.width !== info.width || p?.height !== info.height)
            wrong.push(
              `${fit} ${withoutEnlargement} ${width}x${height}: ${p?.width}x${p?.height} not ${info.width}x${info.height}`,
            );
        }
    expect(wrong).toEqual([]);
  });

  it("a one-sided fill inside the limits is not refused for the size it would have had with the aspect kept", async () => {
    // 400x300 to 9000 tall, fill: 400x9000 (was refused as 12000x9000, over MAX_DIMENSIONS)
    const { result } = await run(await makeImage({ width: 400, height: 300 }), [
      { op: "resize", height: 9000, fit: "fill" },
    ]);
    expect([result.width, result.height]).toEqual([400, 9000]);
  });
});
