// Every input kind against the output formats and options: what is written must be what a person
// expects (transparency onto white where the format has none) and what the result reports.
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, type Limits } from "../../src/core/limits.js";
import { type ProcessOptions, processImage } from "../../src/core/pipeline.js";
import { validatePlan } from "../../src/core/plan.js";
import { describeColor, near, pixelAt, readPixels } from "../helpers/images.js";

const limits: Limits = DEFAULT_LIMITS;
const run = (input: Buffer, plan: unknown, opts: Partial<ProcessOptions> = {}) =>
  processImage(input, validatePlan(plan, limits), { limits, ...opts });

const WHITE = [255, 255, 255];

/**
 * 60x40, in vertical thirds: transparent, half-transparent red, opaque red. With `opaque`, the
 * same picture already flattened onto blue (a JPEG), so only steps can bring transparency.
 */
async function thirds(o: { opaque?: boolean; sixteenBit?: boolean } = {}): Promise<Buffer> {
  const width = 60;
  const height = 40;
  const raw = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const x = i % width;
    raw.set([200, 40, 40, x < 20 ? 0 : x < 40 ? 128 : 255], i * 4);
  }
  const image = sharp(raw, { raw: { width, height, channels: 4 } });
  if (o.opaque) return image.flatten({ background: "#3070c0" }).jpeg({ quality: 95 }).toBuffer();
  if (o.sixteenBit) return image.toColourspace("rgb16").png().toBuffer();
  return image.png().toBuffer();
}

/** The colour at the middle of a region, where JPEG's chroma blur of edges does not reach. */
async function colourAt(data: Buffer, x: number, y: number): Promise<number[]> {
  return pixelAt(await readPixels(data), x, y).slice(0, 3);
}

function expectNear(actual: number[], expected: readonly number[], tolerance = 8): void {
  expect(near(actual, expected, tolerance), `${describeColor(actual)} is not ${describeColor(expected)}`).toBe(true);
}

describe("JPEG output flattens onto white after every step, not before it", () => {
  // sharp flattens before every other operation of a chain: these steps ran on white, or the
  // transparency they made was flattened by libvips onto black when it wrote the JPEG.
  it.each([
    ["negate", [{ op: "negate" }], [55, 215, 215]],
    ["threshold", [{ op: "threshold", value: 100 }], [255, 255, 255]],
    ["brightness", [{ op: "brightness", factor: 0.5 }], [100, 20, 20]],
    ["resize then negate", [{ op: "resize", width: 30 }, { op: "negate" }], [55, 215, 215]],
    // resampling commutes with flattening: this one keeps the single-pass path
    ["resize", [{ op: "resize", width: 30 }], [200, 40, 40]],
  ])("%s on a transparent PNG: the transparent third is white", async (_name, steps, opaqueThird) => {
    const out = await run(await thirds(), [...steps, { op: "format", format: "jpeg" }]);
    expect(out.format).toBe("jpeg");
    const scale = out.width / 60;
    expectNear(await colourAt(out.data, Math.round(8 * scale), Math.round(20 * scale)), WHITE);
    expectNear(await colourAt(out.data, Math.round(52 * scale), Math.round(20 * scale)), opaqueThird);
  });

  it.each([
    ["pad", { op: "pad", top: 10, left: 10, color: "transparent" }],
    ["border", { op: "border", width: 10, color: "#00000000" }],
    ["rotate", { op: "rotate", angle: 30, background: "transparent" }],
    ["contain resize", { op: "resize", width: 100, height: 100, fit: "contain", background: "rgba(0,0,0,0)" }],
  ])("a transparent %s on an opaque JPEG comes out white, not black", async (_name, step) => {
    const out = await run(await thirds({ opaque: true }), [step]);
    expect(out.format).toBe("jpeg");
    expectNear(await colourAt(out.data, 2, 2), WHITE);
  });

  it("the same with a quality for TIFF (JPEG-compressed, no alpha)", async () => {
    const out = await run(await thirds(), [{ op: "negate" }, { op: "format", format: "tiff", quality: 90 }]);
    expect(out.format).toBe("tiff");
    expectNear(await colourAt(out.data, 8, 20), WHITE);
  });
});

describe("JPEG output with kept metadata flattens onto white too", () => {
  // The pixels are painted over the input to carry its metadata; sharp flattened the input
  // under them, and libvips then flattened the painted (transparent) pixels onto black.
  it.each([
    ["two steps on a PNG", { sixteenBit: false }, [{ op: "flip" }, { op: "blur", sigma: 0.5 }]],
    ["one step on a 16-bit PNG", { sixteenBit: true }, [{ op: "blur", sigma: 0.5 }]],
    ["no step on a 16-bit PNG", { sixteenBit: true }, []],
  ])("%s", async (_name, kind, steps) => {
    const input = await thirds(kind);
    for (const format of [
      { op: "format", format: "jpeg" },
      { op: "format", format: "tiff", quality: 90 },
    ]) {
      const plan = [...steps, format, { op: "metadata", keep: true }];
      const kept = await run(input, plan);
      const stripped = await run(input, [...steps, format]);
      expect((await sharp(kept.data).metadata()).icc).toBeDefined();
      const flipped = steps.some((s) => s.op === "flip");
      for (const [x, expected] of [
        [8, WHITE],
        [30, [227, 147, 147]],
        [52, [200, 40, 40]],
      ] as const) {
        const at = flipped ? 59 - x : x;
        expectNear(await colourAt(kept.data, at, 20), expected);
        expectNear(await colourAt(kept.data, at, 20), await colourAt(stripped.data, at, 20), 3);
      }
    }
  });
});

describe("an output format's own size limit", () => {
  // MAX_DIMENSIONS may be set above what WebP (16383 px) and AVIF (16384 px) can hold: that is the
  // request's fault, told as such (it was PROCESSING_FAILED, a 500).
  it.each(["webp", "avif"] as const)("a 17000 px wide result for %s is DIMENSIONS_TOO_LARGE (422)", async (format) => {
    const wide: Limits = { ...limits, maxDimension: 20_000 };
    const input = await sharp({ create: { width: 17_000, height: 1, channels: 3, background: "#336699" } })
      .png()
      .toBuffer();
    const out = processImage(input, validatePlan([{ op: "format", format }], wide), { limits: wide });
    await expect(out).rejects.toMatchObject({
      code: "DIMENSIONS_TOO_LARGE",
      status: 422,
      message: expect.stringMatching(/too large for (WebP|AVIF) output \(at most 1638[34] px per side\)/),
    });
    // PNG holds it
    const png = await processImage(input, validatePlan([{ op: "format", format: "png" }], wide), { limits: wide });
    expect([png.width, png.height]).toEqual([17_000, 1]);
  });
});

describe("a float TIFF (linear scRGB, as HDR and scientific tools write it)", () => {
  /** 16x8 of one colour: sRGB (231, 124, 89), stored as 32-bit float linear light. */
  async function floatTiff(): Promise<Buffer> {
    const pixels = new Float32Array(16 * 8 * 3);
    // sharp reads raw float input on a 16-bit scale
    for (let i = 0; i < 16 * 8; i++) pixels.set([231 * 257, 124 * 257, 89 * 257], i * 3);
    return sharp(pixels, { raw: { width: 16, height: 8, channels: 3 } })
      .toColourspace("scrgb")
      .tiff({ compression: "lzw", predictor: "float" })
      .toBuffer();
  }

  it("is decoded to 8-bit sRGB before its steps: brightness and contrast do not turn it black", async () => {
    const input = await floatTiff();
    expect(await sharp(input).metadata()).toMatchObject({ depth: "float", space: "scrgb" });
    const eightBit = await sharp(input).png().toBuffer();
    for (const steps of [
      [{ op: "brightness", factor: 1.2 }],
      [{ op: "contrast", factor: 1.2 }],
      [
        { op: "resize", width: 8 },
        { op: "brightness", factor: 1.2 },
      ],
    ]) {
      for (const format of ["png", "tiff"] as const) {
        const out = await run(input, [...steps, { op: "format", format }]);
        const same = await run(eightBit, [...steps, { op: "format", format }]);
        expect(out).toMatchObject({ format, width: same.width, height: same.height });
        const got = await colourAt(out.data, 2, 2);
        expectNear(got, await colourAt(same.data, 2, 2), 1);
        expect(got[0]).toBeGreaterThan(200);
      }
    }
  });
});

describe("kept metadata changes no pixel of a transparent image", () => {
  // The pixels are painted over the input to carry its metadata; libvips' composite premultiplies,
  // which put semi-transparent colours a level off and dropped the colour of transparent pixels.
  it("two steps on an RGBA PNG to PNG and lossless WebP: the same pixels as without metadata", async () => {
    const width = 64;
    const height = 32;
    const raw = Buffer.alloc(width * height * 4);
    for (let i = 0; i < width * height; i++) raw.set([(i * 37) % 256, (i * 101) % 256, (i * 7) % 256, i % 256], i * 4);
    const input = await sharp(raw, { raw: { width, height, channels: 4 } })
      .withExif({ IFD0: { Copyright: "kept" } })
      .png()
      .toBuffer();
    for (const format of [
      { op: "format", format: "png" },
      { op: "format", format: "webp", lossless: true },
    ]) {
      const plan = [{ op: "negate" }, { op: "flip" }, format];
      const stripped = await readPixels((await run(input, plan)).data);
      const kept = await run(input, [...plan, { op: "metadata", keep: true }]);
      expect((await sharp(kept.data).metadata()).exif?.toString("latin1")).toContain("kept");
      const pixels = await readPixels(kept.data);
      expect(pixels.channels).toBe(4);
      let differing = 0;
      for (let i = 0; i < pixels.data.length; i++) if (pixels.data[i] !== stripped.data[i]) differing++;
      expect(differing).toBe(0);
    }
  });
});
