// ImageMagick effects: each changes the image the way it should and keeps (or, for polaroid,
// grows) its size.
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../src/core/limits.js";
import { withMagickImage } from "../../src/core/magick.js";
import { processImage } from "../../src/core/pipeline.js";
import { validatePlan } from "../../src/core/plan.js";
import { makeImage } from "../helpers/images.js";
import { bandStats, countChanged, decode, type RawResult, rgbAt, runOp } from "../helpers/run-op.js";

const W = 80;
const H = 60;
const light = () => makeImage({ width: W, height: H, color: "#d0d0d0" });
const quadrants = () => makeImage({ width: W, height: H, quadrants: true });

describe("vignette", () => {
  it("darkens the corners, leaves the centre, keeps size and adds no alpha", async () => {
    const out = await runOp(await light(), { op: "vignette", sigma: 5 });
    expect([out.width, out.height, out.channels]).toEqual([W, H, 3]);
    expect(rgbAt(out, 0, 0)[0]).toBeLessThan(60);
    expect(rgbAt(out, W - 1, H - 1)[0]).toBeLessThan(60);
    expect(Math.abs(rgbAt(out, W / 2, H / 2)[0] - 0xd0)).toBeLessThanOrEqual(3);
  });

  it("matches ImageMagick's own vignette", async () => {
    const input = await makeImage({ width: W, height: H, gradient: true });
    const out = await runOp(input, { op: "vignette", sigma: 5 });
    const { data, info } = await sharp(input).raw().toBuffer({ resolveWithObject: true });
    const direct = await withMagickImage({ data, width: info.width, height: info.height, channels: 3 }, (img, m) => {
      img.backgroundColor = new m.MagickColor(0, 0, 0, 255);
      img.vignette(0, 5, Math.round(W * 0.1), Math.round(H * 0.1));
    });
    let worst = 0;
    for (let p = 0; p < W * H; p++)
      for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(out.data[p * 3 + c] - direct.data[p * 4 + c]));
    expect(worst).toBeLessThanOrEqual(2);
  });

  it("works the same way on a large image (mask drawn small and scaled up) and keeps alpha", async () => {
    const big = await makeImage({ width: 1100, height: 800, color: "#d0d0d0", alpha: 200 });
    const out = await runOp(big, { op: "vignette" });
    expect([out.width, out.height, out.channels]).toEqual([1100, 800, 4]);
    expect(rgbAt(out, 0, 0)[0]).toBeLessThan(20);
    expect(rgbAt(out, 0, 0)[3]).toBe(200);
    expect(Math.abs(rgbAt(out, 550, 400)[0] - 0xd0)).toBeLessThanOrEqual(2);
    // a smooth falloff: along the diagonal brightness only grows towards the centre
    const diag = Array.from({ length: 20 }, (_, i) => rgbAt(out, i * 27, Math.round(i * 19.6))[0]);
    for (let i = 1; i < diag.length; i++) expect(diag[i]).toBeGreaterThanOrEqual(diag[i - 1] - 1);
  });
});

describe("oilPaint", () => {
  it("smears fine detail into flat strokes", async () => {
    const input = await makeImage({ width: W, height: H, gradient: true });
    const before = await decode(input);
    const out = await runOp(input, { op: "oilPaint", radius: 4 });
    expect([out.width, out.height]).toEqual([W, H]);
    const changed = countChanged(before, out, () => true);
    expect(changed.inside).toBeGreaterThan((W * H) / 4);
    // fewer distinct red levels: the gradient became bands
    const levels = (img: RawResult) => new Set(Array.from({ length: img.width }, (_, x) => rgbAt(img, x, 30)[0])).size;
    expect(levels(out)).toBeLessThan(levels(before) * 0.6);
  });
});

describe("charcoal", () => {
  it("turns a flat image white and draws its edges dark", async () => {
    const out = await runOp(await quadrants(), { op: "charcoal" });
    expect([out.width, out.height]).toEqual([W, H]);
    const [r, g, b] = rgbAt(out, 10, 10);
    expect(Math.min(r, g, b)).toBeGreaterThan(200); // inside a flat quadrant
    expect(r === g && g === b).toBe(true);
    // the vertical edge between quadrants is darker than the flat parts
    const edge = Math.min(...[W / 2 - 2, W / 2 - 1, W / 2, W / 2 + 1].map((x) => rgbAt(out, x, 10)[0]));
    expect(edge).toBeLessThan(200);
  });
});

describe("swirl", () => {
  it("moves pixels around the centre and keeps the corners and the size", async () => {
    const input = await quadrants();
    const before = await decode(input);
    const out = await runOp(input, { op: "swirl", degrees: 180 });
    expect([out.width, out.height, out.channels]).toEqual([W, H, 3]);
    const centre = (x: number, y: number) => (x - W / 2) ** 2 + (y - H / 2) ** 2 < (H / 3) ** 2;
    const changed = countChanged(before, out, centre);
    expect(changed.inside).toBeGreaterThan(200);
    expect(rgbAt(out, 0, 0).slice(0, 3)).toEqual([255, 0, 0]);
    expect(rgbAt(out, W - 1, H - 1).slice(0, 3)).toEqual([255, 255, 0]);
  });
});

describe("polaroid", () => {
  it("frames the picture in white with a shadow, so it grows and gains transparency", async () => {
    const out = await runOp(await makeImage({ width: W, height: H, color: "#2040a0" }), { op: "polaroid" });
    expect(out.width).toBeGreaterThan(W);
    expect(out.height).toBeGreaterThan(H);
    expect(out.channels).toBe(4);
    // the photo is still there in the middle, a white frame around it, transparent corners
    const [r, g, b, a] = rgbAt(out, Math.round(out.width / 2), Math.round(out.height / 2));
    expect([Math.abs(r - 0x20) < 12, Math.abs(g - 0x40) < 12, Math.abs(b - 0xa0) < 12, a]).toEqual([
      true,
      true,
      true,
      255,
    ]);
    const frameTop = rgbAt(out, Math.round(out.width / 2), 4);
    expect(frameTop[0]).toBeGreaterThan(200);
    expect(rgbAt(out, 0, out.height - 1)[3]).toBeLessThan(255);
  });

  it("predicts at least its frame, so an image that cannot fit the limit fails before ImageMagick runs", async () => {
    const input = await makeImage({ width: 500, height: 100 });
    const result = processImage(input, validatePlan([{ op: "polaroid" }], DEFAULT_LIMITS), {
      limits: { ...DEFAULT_LIMITS, maxDimension: 530 },
    });
    await expect(result).rejects.toMatchObject({
      code: "DIMENSIONS_TOO_LARGE",
      message: "operations[0] (polaroid) would make the image 540x140; the limit is 530 px per side",
    });
    const out = await runOp(input, { op: "polaroid" });
    expect(out.width).toBeGreaterThanOrEqual(540);
    expect(out.height).toBeGreaterThanOrEqual(140);
  });

  it("tilts by the angle", async () => {
    const input = await makeImage({ width: W, height: H, color: "#2040a0" });
    const flat = await runOp(input, { op: "polaroid", angle: 0 });
    const tilted = await runOp(input, { op: "polaroid", angle: 20 });
    expect(tilted.height).toBeGreaterThan(flat.height + 10);
    expect(bandStats(tilted, 3).mean).toBeLessThan(bandStats(flat, 3).mean);
  });
});
