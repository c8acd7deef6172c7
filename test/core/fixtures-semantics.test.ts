// The real-world fixtures (/work/shared/fixtures, read-only) through the pipeline: EXIF
// orientations 1-8, animations and a CMYK JPEG must come out as a viewer would expect. Skipped,
// with a message, where the folder does not exist (a fresh clone): the synthetic tests in
// orientation-semantics.test.ts and pipeline.test.ts cover the same rules without it.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../src/core/limits.js";
import { processImage } from "../../src/core/pipeline.js";
import { validatePlan } from "../../src/core/plan.js";
import { maxAlphaWeightedDiff } from "../helpers/images.js";

const DIR = path.resolve(import.meta.dirname, "../../../shared/fixtures");
const present = existsSync(path.join(DIR, "Landscape_1.jpg"));
if (!present) console.warn(`fixtures-semantics: ${DIR} does not exist; skipped`);
const fixture = (name: string) => readFileSync(path.join(DIR, name));

const WATERMARK = sharp({ create: { width: 40, height: 20, channels: 4, background: "#ff00ff" } })
  .png()
  .toBuffer();

async function run(input: Buffer, plan: unknown) {
  const watermark = await WATERMARK;
  return processImage(input, validatePlan(plan, DEFAULT_LIMITS), {
    limits: DEFAULT_LIMITS,
    loadAsset: async () => watermark,
  });
}

async function rgb(data: Buffer, animated = false) {
  return sharp(data, { animated }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
}

function meanDiff(a: Buffer, b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

describe.skipIf(!present)("Landscape_1..8.jpg (EXIF orientations 1-8, one upright picture)", () => {
  // Each file stores the same 600x450 picture turned or mirrored, tagged to show it upright:
  // every step must act on that upright picture. The files are separate JPEG encodings, so
  // equal pictures differ by ~5 levels on average; a step acting on the stored layout (a crop
  // of another corner, text on the wrong side) differs by several times that.
  const plans: Record<string, unknown[]> = {
    "crop region": [{ op: "crop", left: 40, top: 30, width: 200, height: 120 }],
    "crop at bottom-right": [{ op: "crop", width: 200, height: 120, gravity: "bottom-right" }],
    "crop 1:2 at left": [{ op: "crop", aspectRatio: "1:2", gravity: "left" }],
    "pad left and top": [{ op: "pad", left: 40, top: 10, color: "red" }],
    "rotate 90 then crop": [
      { op: "rotate", angle: 90 },
      { op: "crop", left: 0, top: 0, width: 100, height: 300 },
    ],
    "crop then rotate 30": [
      { op: "crop", left: 0, top: 0, width: 300, height: 200 },
      { op: "rotate", angle: 30, background: "black" },
    ],
    "flip vertical": [{ op: "flip", direction: "vertical" }],
    "resize 200x200 cover": [{ op: "resize", width: 200, height: 200, fit: "cover" }],
    "resize 300x300 contain": [{ op: "resize", width: 300, height: 300, fit: "contain", background: "blue" }],
    "text top-left": [{ op: "text", text: "imgedit", position: "top-left", size: 40, color: "red", opacity: 1 }],
    "watermark top-right": [
      { op: "watermark", url: "https://assets.test/logo.png", position: "top-right", opacity: 1 },
    ],
    "kept metadata": [
      { op: "resize", width: 300 },
      { op: "metadata", keep: true },
    ],
  };
  for (const [name, plan] of Object.entries(plans)) {
    it(`${name}: all eight give the upright result, tagged upright`, async () => {
      const reference = await run(fixture("Landscape_1.jpg"), plan);
      const ref = await rgb(reference.data);
      for (let o = 2; o <= 8; o++) {
        const input = fixture(`Landscape_${o}.jpg`);
        expect((await sharp(input).metadata()).orientation).toBe(o);
        const out = await run(input, plan);
        expect([out.width, out.height], `Landscape_${o}`).toEqual([reference.width, reference.height]);
        const px = await rgb(out.data);
        expect(meanDiff(px.data, ref.data), `Landscape_${o} differs from Landscape_1`).toBeLessThan(9);
        expect((await sharp(out.data).metadata()).orientation ?? 1, `Landscape_${o}`).toBe(1);
      }
    });
  }
});

describe.skipIf(!present)("rotating-squares.gif / .webp (animations)", () => {
  const total = (delays?: number[]) => delays?.reduce((a, b) => a + b, 0);

  it.each(["rotating-squares.gif", "rotating-squares.webp"])(
    "%s: timing and loop kept through crop, rotate, flip, colour and a format change",
    async (file) => {
      const input = fixture(file);
      const source = await sharp(input).metadata();
      const other = file.endsWith(".gif") ? "webp" : "gif";
      for (const plan of [
        [{ op: "crop", width: 60, height: 40, gravity: "top-left" }],
        [
          { op: "rotate", angle: 90 },
          { op: "resize", width: 50 },
        ],
        [{ op: "rotate", angle: 180 }, { op: "flip" }],
        [{ op: "rotate", angle: 45 }],
        [
          { op: "hue", degrees: 120 },
          { op: "border", width: 4, color: "red" },
        ],
        [{ op: "format", format: other }],
      ]) {
        const out = await run(input, plan);
        const meta = await sharp(out.data).metadata();
        expect(out.pages, JSON.stringify(plan)).toBeGreaterThan(1);
        expect(total(meta.delay), JSON.stringify(plan)).toBe(total(source.delay));
        expect(meta.loop, JSON.stringify(plan)).toBe(source.loop);
      }
    },
  );

  it("rotate 90 turns every frame on its own, in order", async () => {
    const input = fixture("rotating-squares.webp");
    const out = await run(input, [
      { op: "rotate", angle: 90 },
      { op: "format", format: "webp", lossless: true },
    ]);
    const expected = await sharp(input, { animated: true }).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    const pages = expected.info.pages ?? 1;
    const got = await sharp(out.data, { animated: true }).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    expect(got.info.pages).toBe(pages);
    const frame = expected.data.length / pages;
    const w = expected.info.width;
    const h = expected.info.height / pages;
    for (let k = 0; k < pages; k++) {
      const turned = await sharp(expected.data.subarray(k * frame, (k + 1) * frame), {
        raw: { width: w, height: h, channels: 4 },
      })
        .rotate(90)
        .raw()
        .toBuffer();
      // lossless throughout: equal but for the colour of transparent pixels
      expect(maxAlphaWeightedDiff(got.data.subarray(k * frame, (k + 1) * frame), turned), `frame ${k}`).toBeLessThan(2);
    }
  });

  it("an EXIF orientation tag on the animated WebP turns each frame, in order", async () => {
    const input = fixture("rotating-squares.webp");
    const source = await sharp(input).metadata();
    const tagged = await sharp(input, { animated: true })
      .withMetadata({ orientation: 6 })
      .webp({ lossless: true, delay: source.delay, loop: source.loop })
      .toBuffer();
    const turned = await run(tagged, [{ op: "format", format: "webp", lossless: true }]);
    const explicit = await run(input, [
      { op: "rotate", angle: 90 },
      { op: "format", format: "webp", lossless: true },
    ]);
    expect(turned.pages).toBe(explicit.pages);
    expect((await sharp(turned.data).metadata()).delay).toEqual((await sharp(explicit.data).metadata()).delay);
    const a = await sharp(turned.data, { animated: true }).ensureAlpha().raw().toBuffer();
    const b = await sharp(explicit.data, { animated: true }).ensureAlpha().raw().toBuffer();
    expect(maxAlphaWeightedDiff(a, b)).toBeLessThan(2);
  });

  it("to PNG: the first frame, a still image", async () => {
    const input = fixture("rotating-squares.gif");
    const out = await run(input, [{ op: "format", format: "png" }]);
    expect([out.pages, out.source.pages]).toEqual([1, 30]);
    const first = await sharp(input).png().toBuffer(); // sharp reads page 0 unless told otherwise
    expect(meanDiff((await rgb(out.data)).data, (await rgb(first)).data)).toBeLessThan(1);
  });
});

describe.skipIf(!present)("Channel_digital_image_CMYK_color.jpg (CMYK with an ICC profile)", () => {
  const input = () => fixture("Channel_digital_image_CMYK_color.jpg");

  it("comes out sRGB with the colours of a conversion through its own profile", async () => {
    expect((await sharp(input()).metadata()).space).toBe("cmyk");
    const reference = await sharp(input()).toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
    for (const plan of [
      [{ op: "format", format: "png" }],
      [
        { op: "crop", left: 0, top: 0, width: 500, height: 333 },
        { op: "flip" },
        { op: "flip" },
        { op: "format", format: "png" },
      ],
    ]) {
      const out = await run(input(), plan);
      const meta = await sharp(out.data).metadata();
      expect([meta.space, meta.channels]).toEqual(["srgb", 3]);
      const px = await rgb(out.data);
      // lossless output: rounding only; reading the CMYK numbers as RGB would be ~50 off
      expect(meanDiff(px.data, reference.data), JSON.stringify(plan)).toBeLessThan(2);
    }
  });

  it("kept metadata: sRGB pixels tagged with an sRGB profile, not the CMYK one", async () => {
    const out = await run(input(), [{ op: "resize", width: 250 }, { op: "sharpen" }, { op: "metadata", keep: true }]);
    const meta = await sharp(out.data).metadata();
    expect([meta.space, meta.channels]).toEqual(["srgb", 3]);
    expect(meta.icc).toBeDefined();
    expect(meta.icc?.toString("latin1", 16, 20)).toBe("RGB ");
  });
});
