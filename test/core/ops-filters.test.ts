// Convolution filters: blur, sharpen, median.

import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../src/core/limits.js";
import { getOperation } from "../../src/core/operations.js";
import { processImage } from "../../src/core/pipeline.js";
import { bandStats, rawPng, rgbAt, runOp } from "../helpers/run-op.js";

/** A w x h checkerboard of `cell`-pixel squares, black and white. */
function checkerboard(w: number, h: number, cell: number): Buffer {
  const data = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = (Math.floor(x / cell) + Math.floor(y / cell)) % 2 ? 255 : 0;
      data.fill(v, (y * w + x) * 3, (y * w + x) * 3 + 3);
    }
  }
  return data;
}

/** Left half dark grey, right half light grey: one vertical edge. */
function edge(w: number, h: number): Buffer {
  const data = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) data.fill(x < w / 2 ? 80 : 170, (y * w + x) * 3, (y * w + x) * 3 + 3);
  return data;
}

describe("blur", () => {
  it("lowers the standard deviation of a checkerboard, more with a larger sigma", async () => {
    const input = await rawPng(checkerboard(48, 48, 4), 48, 48, 3);
    const before = bandStats(await runOp(input, { op: "grayscale" }), 0).stdev;
    const soft = bandStats(await runOp(input, { op: "blur", sigma: 1 }), 0).stdev;
    const softer = bandStats(await runOp(input, { op: "blur" }), 0).stdev; // default sigma 3
    expect(soft).toBeLessThan(before * 0.8);
    expect(softer).toBeLessThan(soft * 0.5);
  });

  it("blurs each frame of an animation on its own through the pipeline (no bleeding across frames)", async () => {
    // two 8x8 frames: black, then white
    const frames = Buffer.concat([Buffer.alloc(8 * 8 * 3, 0), Buffer.alloc(8 * 8 * 3, 255)]);
    const gif = await sharp(frames, { raw: { width: 8, height: 16, channels: 3, pageHeight: 8 } })
      .gif({ delay: [100, 100], loop: 0 })
      .toBuffer();
    const result = await processImage(gif, [{ op: "blur", sigma: 2 }], { limits: DEFAULT_LIMITS });
    expect([result.width, result.height, result.pages]).toEqual([8, 8, 2]);
    const { data, info } = await sharp(result.data, { animated: true }).raw().toBuffer({ resolveWithObject: true });
    const out = { data, width: info.width, height: info.height, channels: info.channels };
    expect(rgbAt(out, 4, 7)[0]).toBeLessThan(5); // bottom row of the black frame stays black
    expect(rgbAt(out, 4, 8)[0]).toBeGreaterThan(250); // top row of the white frame stays white
  });
});

describe("sharpen", () => {
  it("raises contrast across an edge", async () => {
    const input = await rawPng(edge(32, 8), 32, 8, 3);
    const region = { left: 12, top: 0, width: 8, height: 8 };
    const before = bandStats(await runOp(input, { op: "grayscale" }), 0, region).stdev;
    const after = bandStats(await runOp(input, { op: "sharpen", sigma: 2 }), 0, region).stdev;
    expect(after).toBeGreaterThan(before * 1.05);
    // overshoot: the dark side next to the edge gets darker, the light side lighter
    const out = await runOp(input, { op: "sharpen", sigma: 2 });
    expect(rgbAt(out, 15, 4)[0]).toBeLessThan(80);
    expect(rgbAt(out, 16, 4)[0]).toBeGreaterThan(170);
  });
});

describe("median", () => {
  it("removes isolated speckles", async () => {
    const data = Buffer.alloc(20 * 20 * 3, 128);
    const specks = [
      [5, 5],
      [12, 7],
      [8, 15],
    ];
    for (const [x, y] of specks) data.fill(255, (y * 20 + x) * 3, (y * 20 + x) * 3 + 3);
    const input = await rawPng(data, 20, 20, 3);
    const out = await runOp(input, { op: "median" });
    for (const [x, y] of specks) expect(rgbAt(out, x, y)[0]).toBe(128);
    // a 5x5 window removes a 3x3 clump whose centre a 3x3 window keeps
    const clump = Buffer.alloc(20 * 20 * 3, 128);
    for (let y = 9; y <= 11; y++) for (let x = 9; x <= 11; x++) clump.fill(255, (y * 20 + x) * 3, (y * 20 + x) * 3 + 3);
    const clumpPng = await rawPng(clump, 20, 20, 3);
    expect(rgbAt(await runOp(clumpPng, { op: "median", size: 3 }), 10, 10)[0]).toBe(255);
    expect(rgbAt(await runOp(clumpPng, { op: "median", size: 5 }), 10, 10)[0]).toBe(128);
  });

  it("refuses even window sizes", () => {
    expect(() => getOperation("median")!.schema.parse({ op: "median", size: 4 })).toThrow(/odd/);
  });
});
