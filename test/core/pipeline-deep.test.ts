// 16-bit inputs (16-bit PNG/TIFF, 10/12-bit AVIF): sharp runs a chain on them in 16 bits and, when
// they carry an ICC profile, in Display P3 (converting back only when it writes a profile). The
// pipeline decodes them once to 8-bit sRGB, so every step and every output sees what an 8-bit copy
// of the same picture gives. The inputs mimic PngSuite's tbgn2c16.png (16-bit RGBA) from the
// corpus, plus an ICC-tagged and an EXIF-rotated one.
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../src/core/limits.js";
import { type ProcessOptions, processImage } from "../../src/core/pipeline.js";
import { validatePlan } from "../../src/core/plan.js";
import { describeColor, makeImage, maxAlphaWeightedDiff, near, pixelAt, readPixels } from "../helpers/images.js";

const limits = DEFAULT_LIMITS;
const PNG = { op: "format", format: "png" };
const KEEP = { op: "metadata", keep: true };
const run = (input: Buffer, ops: unknown[], opts: Partial<ProcessOptions> = {}) =>
  processImage(input, validatePlan(ops, limits), { limits, ...opts });

/** 40x30 RGBA gradient with alpha 0-255 across, written as a 16-bit PNG (no ICC), and its 8-bit twin. */
async function deepRgba(): Promise<{ deep: Buffer; eight: Buffer }> {
  const width = 40;
  const height = 30;
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      data.set(
        [40 + x * 5, 200 - y * 5, 60 + ((x * y) % 150), Math.round((x / (width - 1)) * 255)],
        (y * width + x) * 4,
      );
  const eight = await sharp(data, { raw: { width, height, channels: 4 } })
    .withExif({ IFD0: { Copyright: "imgedit-deep" } })
    .png()
    .toBuffer();
  const deep = await sharp(eight).keepMetadata().toColourspace("rgb16").png().toBuffer();
  return { deep, eight };
}

/** A 16-bit RGB PNG whose pixels are stored in Display P3 numbers, the P3 profile attached. */
async function deepP3(colour: string): Promise<Buffer> {
  return sharp(await makeImage({ width: 24, height: 16, color: colour }))
    .withIccProfile("p3")
    .toColourspace("rgb16")
    .png()
    .toBuffer();
}

const rgba = async (data: Buffer) => (await sharp(data).ensureAlpha().raw().toBuffer({ resolveWithObject: true })).data;

describe("16-bit inputs", () => {
  it("are what they say: 16-bit, and the P3 one is stored in other numbers", async () => {
    const { deep } = await deepRgba();
    expect(await sharp(deep).metadata()).toMatchObject({ depth: "ushort", space: "rgb16", channels: 4 });
    const p3 = await sharp(await deepP3("#c86432")).metadata();
    expect(p3).toMatchObject({ depth: "ushort", space: "rgb16" });
    expect(p3.icc).toBeDefined();
    const stored = await sharp(await deepP3("#c86432"), { ignoreIcc: true })
      .raw()
      .toBuffer();
    expect(near([...stored.subarray(0, 3)], [200, 100, 50], 8)).toBe(false);
  });

  it("kept metadata changes no colour (sharp converted untagged 16-bit RGB from P3 when writing the sRGB profile)", async () => {
    const { deep } = await deepRgba();
    for (const ops of [[{ op: "flip" }], [{ op: "flip" }, { op: "blur", sigma: 0.5 }], [{ op: "resize", width: 20 }]]) {
      const stripped = await run(deep, [...ops, PNG]);
      const kept = await run(deep, [...ops, KEEP, PNG]);
      expect(
        maxAlphaWeightedDiff(await rgba(stripped.data), await rgba(kept.data)),
        JSON.stringify(ops),
      ).toBeLessThanOrEqual(1);
      const meta = await sharp(kept.data).metadata();
      expect(meta.icc, "an sRGB profile is attached").toBeDefined();
      expect(meta.exif?.toString("latin1")).toContain("imgedit-deep");
    }
  });

  it("an ICC-tagged 16-bit input is converted to sRGB, whatever the plan, metadata kept or not", async () => {
    const input = await deepP3("#c86432");
    const plans = [
      [PNG],
      [{ op: "flip" }, PNG],
      [{ op: "resize", width: 12 }, { op: "flip" }, PNG],
      [{ op: "flip" }, KEEP, PNG],
      [{ op: "flip" }, { op: "blur", sigma: 0.5 }, KEEP, PNG],
      [{ op: "format", format: "jpeg", quality: 100 }],
    ];
    for (const ops of plans) {
      const out = await run(input, ops);
      const c = pixelAt(await readPixels(out.data), 6, 6);
      expect(near(c, [200, 100, 50], 4), `${JSON.stringify(ops)}: ${describeColor(c)}`).toBe(true);
    }
  });

  it("an ICC-tagged 16-bit watermark is drawn in sRGB", async () => {
    const base = await makeImage({ width: 48, height: 32, color: "#ffffff" });
    const mark = await deepP3("#c86432");
    const out = await run(
      base,
      [{ op: "watermark", url: "https://example.com/mark.png", position: "center", opacity: 1, scale: 0.5 }, PNG],
      {
        loadAsset: async () => mark,
      },
    );
    const c = pixelAt(await readPixels(out.data), 24, 16);
    expect(near(c, [200, 100, 50], 4), describeColor(c)).toBe(true);
  });

  it("contrast gives what it gives on the 8-bit copy (its offset was 256x too small in 16 bits)", async () => {
    const { deep, eight } = await deepRgba();
    for (const factor of [0.5, 1.5]) {
      const a = await run(deep, [{ op: "contrast", factor }, PNG]);
      const b = await run(eight, [{ op: "contrast", factor }, PNG]);
      expect(maxAlphaWeightedDiff(await rgba(a.data), await rgba(b.data)), `contrast ${factor}`).toBeLessThanOrEqual(1);
    }
  });

  it("fused chains equal the step-by-step result exactly (no 16-bit precision in one, 8-bit in the other)", async () => {
    const rgb = await sharp((await deepRgba()).eight)
      .removeAlpha()
      .resize(80, 60)
      .toColourspace("rgb16")
      .png()
      .toBuffer();
    expect((await sharp(rgb).metadata()).space).toBe("rgb16");
    for (const ops of [
      [
        { op: "resize", width: 37 },
        { op: "saturation", factor: 1.4 },
      ],
      [
        { op: "crop", left: 3, top: 2, width: 50, height: 40 },
        { op: "resize", width: 31 },
      ],
      [{ op: "flip" }, { op: "sepia" }, { op: "sharpen" }],
    ]) {
      const fused = await run(rgb, [...ops, PNG]);
      let data: Buffer = rgb;
      for (const op of ops) data = (await run(data, [op, PNG])).data;
      const [a, b] = await Promise.all([sharp(fused.data).raw().toBuffer(), sharp(data).raw().toBuffer()]);
      expect(a.equals(b), JSON.stringify(ops)).toBe(true);
    }
  });

  it("EXIF-rotated 16-bit input: upright once, orientation 1 and its EXIF kept", async () => {
    const upright = await makeImage({ width: 40, height: 30, quadrants: true });
    const input = await sharp(await sharp(upright).rotate(270).toBuffer())
      .withMetadata({ orientation: 6 })
      .toColourspace("rgb16")
      .png()
      .toBuffer();
    expect(await sharp(input).metadata()).toMatchObject({ orientation: 6, depth: "ushort", width: 30, height: 40 });
    for (const ops of [[PNG], [{ op: "blur", sigma: 0.3 }, KEEP, PNG], [KEEP, PNG]]) {
      const out = await run(input, ops);
      expect([out.width, out.height], JSON.stringify(ops)).toEqual([40, 30]);
      const px = await readPixels(out.data);
      expect(near(pixelAt(px, 5, 5), [255, 0, 0], 30), describeColor(pixelAt(px, 5, 5))).toBe(true);
      expect(near(pixelAt(px, 34, 25), [255, 255, 0], 30), describeColor(pixelAt(px, 34, 25))).toBe(true);
      expect((await sharp(out.data).metadata()).orientation ?? 1).toBe(1);
    }
  });
});
