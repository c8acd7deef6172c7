// Every real-world file in the corpus folder goes through a resize + format change: it either
// succeeds with correct output or fails with a clear, typed error. Folder: IMGEDIT_CORPUS_DIR,
// default ../shared/fixtures relative to the repository; skipped (loudly) when it is missing.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { ERROR_STATUS, ImageEditError } from "../../src/core/errors.js";
import { DEFAULT_LIMITS } from "../../src/core/limits.js";
import { probeImage, processImage } from "../../src/core/pipeline.js";
import { validatePlan } from "../../src/core/plan.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const DIR = path.resolve(ROOT, process.env.IMGEDIT_CORPUS_DIR ?? "../shared/fixtures");
const present = existsSync(DIR) && statSync(DIR).isDirectory();
if (!present) console.warn(`corpus: ${DIR} does not exist; set IMGEDIT_CORPUS_DIR to run the corpus tests`);

const files = present
  ? readdirSync(DIR)
      .filter((f) => !f.startsWith(".") && statSync(path.join(DIR, f)).isFile())
      .sort()
  : [];
const limits = DEFAULT_LIMITS;
const plan = validatePlan(
  [
    { op: "resize", width: 200 },
    { op: "format", format: "webp" },
  ],
  limits,
);

// What we know about some of the fixtures; any other file only has to succeed or fail cleanly.
const EXPECTED_ERRORS: Record<string, { code: string; message?: string }> = {
  "giant-image.jpg": { code: "DIMENSIONS_TOO_LARGE", message: "image is 20000x14000; the limit is 10000 px per side" },
  "truncated.jpg": { code: "CORRUPT_IMAGE" },
  "corrupt-header.jpg": { code: "CORRUPT_IMAGE" },
  "check.svg": { code: "UNSUPPORTED_FORMAT", message: "SVG input is disabled on this server (ALLOW_SVG=false)" },
  "SOURCES.md": { code: "UNSUPPORTED_FORMAT" },
};
const EXPECTED_FRAMES: Record<string, number> = { "rotating-squares.gif": 30, "rotating-squares.webp": 9 };

/** Animated inputs stay animated with the same total duration; still inputs stay still.
 * (Encoders merge identical consecutive frames and add up their delays, so frame counts may drop.) */
async function expectSameAnimation(input: Buffer, output: Buffer, file: string) {
  const a = await sharp(input).metadata();
  const b = await sharp(output).metadata();
  if (!EXPECTED_FRAMES[file]) {
    expect(b.pages ?? 1, file).toBe(1);
    return;
  }
  expect(a.pages, file).toBe(EXPECTED_FRAMES[file]);
  expect(b.pages ?? 1, file).toBeGreaterThan(1);
  const total = (d?: number[]) => (d ?? []).reduce((x, y) => x + y, 0);
  expect(total(b.delay), file).toBe(total(a.delay));
  expect(b.loop).toBe(a.loop);
}

describe.skipIf(!present)(`corpus ${DIR}`, () => {
  it("has files", () => {
    expect(files.length).toBeGreaterThan(0);
  });

  for (const file of files) {
    it(`${file}: resize to 200 px wide + WebP, or a typed error`, async () => {
      const input = readFileSync(path.join(DIR, file));
      let result: Awaited<ReturnType<typeof processImage>> | undefined;
      let error: unknown;
      try {
        result = await processImage(input, plan, { limits });
      } catch (e) {
        error = e;
      }
      const expected = EXPECTED_ERRORS[file];
      if (error !== undefined || expected) {
        expect(error, `${file} should fail with ${expected?.code}`).toBeInstanceOf(ImageEditError);
        const e = error as ImageEditError;
        expect(Object.keys(ERROR_STATUS)).toContain(e.code);
        expect(e.message.length).toBeGreaterThan(10);
        expect(e.message).not.toMatch(/undefined|\[object/);
        if (expected) expect(e.code).toBe(expected.code);
        if (expected?.message) expect(e.message).toBe(expected.message);
        return;
      }
      if (!result) throw new Error("no result");
      const meta = await sharp(result.data, { animated: true }).metadata();
      expect(meta.format).toBe("webp");
      expect(result.format).toBe("webp");
      expect(result.width).toBe(200);
      expect(meta.width).toBe(200);
      const probe = await probeImage(input, limits);
      // Upright aspect ratio kept (EXIF orientation applied).
      expect(Math.abs(result.height - (probe.height * 200) / probe.width)).toBeLessThanOrEqual(1);
      await expectSameAnimation(input, result.data, file);
      expect(result.pages).toBe(meta.pages ?? 1);
      expect(["srgb", "b-w"]).toContain(meta.space);
    });
  }

  it("SVG renders when allowed (librsvg, no external resources)", async () => {
    const svg = files.find((f) => f.endsWith(".svg"));
    if (!svg) return;
    const out = await processImage(readFileSync(path.join(DIR, svg)), plan, {
      limits: { ...limits, allowSvg: true },
    });
    expect(out).toMatchObject({ format: "webp", width: 200 });
  });

  it("Landscape_1..8 all come out upright and alike", async () => {
    const names = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => `Landscape_${n}.jpg`).filter((f) => files.includes(f));
    if (names.length < 8) return;
    const small = validatePlan(
      [
        { op: "resize", width: 60, height: 45, fit: "fill" },
        { op: "format", format: "png" },
      ],
      limits,
    );
    const pixels = await Promise.all(
      names.map(async (f) => {
        const out = await processImage(readFileSync(path.join(DIR, f)), small, { limits });
        expect([out.width, out.height], f).toEqual([60, 45]);
        return sharp(out.data).removeAlpha().raw().toBuffer();
      }),
    );
    // Each orientation shows the same upright picture as orientation 1: small mean difference.
    for (let i = 1; i < pixels.length; i++) {
      let sum = 0;
      for (let j = 0; j < pixels[0].length; j++) sum += Math.abs(pixels[0][j] - pixels[i][j]);
      expect(sum / pixels[0].length, names[i]).toBeLessThan(12);
    }
  });

  it("the CMYK JPEG comes out as 3-channel sRGB", async () => {
    const file = "Channel_digital_image_CMYK_color.jpg";
    if (!files.includes(file)) return;
    const out = await processImage(readFileSync(path.join(DIR, file)), plan, { limits });
    const meta = await sharp(out.data).metadata();
    expect(meta.space).toBe("srgb");
    expect(meta.channels).toBe(3);
  });

  it("the 16-bit PNG gives what its 8-bit copy gives: contrast, kept metadata, several steps", async () => {
    const file = "tbgn2c16.png";
    if (!files.includes(file)) return;
    const deep = readFileSync(path.join(DIR, file));
    expect((await sharp(deep).metadata()).depth).toBe("ushort");
    const eight = await sharp(deep).png().toBuffer();
    const rgba = async (data: Buffer) =>
      (await sharp(data).ensureAlpha().raw().toBuffer({ resolveWithObject: true })).data;
    for (const ops of [
      [{ op: "contrast", factor: 1.5 }],
      [{ op: "contrast", factor: 0.5 }],
      [{ op: "flip" }, { op: "metadata", keep: true }],
      [
        { op: "resize", width: 64 },
        { op: "metadata", keep: true },
      ],
      [{ op: "flip" }, { op: "blur", sigma: 0.5 }, { op: "metadata", keep: true }],
      [{ op: "resize", width: 20 }, { op: "sepia" }, { op: "saturation", factor: 1.3 }],
    ]) {
      const p = validatePlan([...ops, { op: "format", format: "png" }], limits);
      const [a, b] = await Promise.all([
        processImage(deep, p, { limits }).then((r) => rgba(r.data)),
        processImage(eight, p, { limits }).then((r) => rgba(r.data)),
      ]);
      // alpha, and colour weighted by alpha (a transparent pixel's colour is moot)
      let max = 0;
      for (let i = 0; i < a.length; i += 4) {
        max = Math.max(max, Math.abs(a[i + 3] - b[i + 3]));
        for (let c = 0; c < 3; c++) max = Math.max(max, Math.abs(a[i + c] * a[i + 3] - b[i + c] * b[i + 3]) / 255);
      }
      expect(max, JSON.stringify(ops)).toBeLessThanOrEqual(1);
    }
  });

  it("the 1-bit fax TIFF gets the border, pad and background colours asked for (not their grey)", async () => {
    const file = "G31D.TIF";
    if (!files.includes(file)) return;
    const input = readFileSync(path.join(DIR, file));
    for (const op of [
      { op: "border", width: 8, color: "red" },
      { op: "pad", top: 8, left: 8, color: "red" },
      { op: "resize", width: 400, height: 400, fit: "contain", background: "red" },
      { op: "rotate", angle: 10, background: "red" },
    ]) {
      const out = await processImage(input, validatePlan([op, { op: "format", format: "png" }], limits), { limits });
      const corner = [...(await sharp(out.data).raw().toBuffer()).subarray(0, 3)];
      expect(corner, op.op).toEqual([255, 0, 0]);
    }
  });

  it("keeps the animations animated through resize, rotate 90 and crop", async () => {
    for (const file of Object.keys(EXPECTED_FRAMES).filter((f) => files.includes(f))) {
      const out = await processImage(
        readFileSync(path.join(DIR, file)),
        validatePlan(
          [
            { op: "resize", width: 60 },
            { op: "rotate", angle: 90 },
            { op: "crop", aspectRatio: "1:1" },
          ],
          limits,
        ),
        { limits },
      );
      await expectSameAnimation(readFileSync(path.join(DIR, file)), out.data, file);
    }
  });
});
