// Fusing plan steps into one sharp chain (src/core/fusion.ts) must never change a pixel: every
// rule runs the fused pipeline and the step-by-step path (one processImage call per step, with
// lossless PNG / lossless WebP between steps) and asserts EXACT equality of the decoded pixels.
// The number of progress events shows how many chains ran, so a rule that stops fusing fails too.
import sharp from "sharp";
import { describe, expect, it, vi } from "vitest";
import { DEFAULT_LIMITS } from "../../src/core/limits.js";
import { processImage } from "../../src/core/pipeline.js";
import { validatePlan } from "../../src/core/plan.js";

const limits = DEFAULT_LIMITS;

/** A noisy RGB(A) picture: every channel varies pixel to pixel, so rounding differences show. */
function pixels(width: number, height: number, channels: 3 | 4, seed = 7): Buffer {
  const data = Buffer.alloc(width * height * channels);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const x = (i / channels) % width;
    const y = Math.floor(i / channels / width);
    const c = i % channels;
    data[i] = c === 3 ? 255 : ((x * (c + 2) + y * (3 - c) * 2 + (s >> 16)) & 0xff) % 256;
  }
  return data;
}

async function png(width: number, height: number, channels: 3 | 4 = 3): Promise<Buffer> {
  return sharp(pixels(width, height, channels), { raw: { width, height, channels } })
    .png()
    .toBuffer();
}

async function decoded(data: Buffer, animated = false): Promise<{ data: Buffer; width: number; height: number }> {
  const { data: px, info } = await sharp(data, { animated }).raw().toBuffer({ resolveWithObject: true });
  return { data: px, width: info.width, height: info.height };
}

const PNG = { op: "format", format: "png" };
const WEBP_LOSSLESS = { op: "format", format: "webp", lossless: true };

// Every sharp pipeline the processing runs ends in toBuffer (materialised steps and the encode).
const sharpProto = Object.getPrototypeOf(sharp()) as { toBuffer: (...a: unknown[]) => Promise<unknown> };

/** The whole plan in one processImage call; returns the output and how many chains ran. */
async function fused(input: Buffer, ops: unknown[], out: unknown = PNG) {
  const spy = vi.spyOn(sharpProto, "toBuffer");
  try {
    const result = await processImage(input, validatePlan([...ops, out], limits), { limits });
    return { result, chains: spy.mock.calls.length };
  } finally {
    spy.mockRestore();
  }
}

/** One processImage call per step, written losslessly in between: nothing can be fused. */
async function stepwise(input: Buffer, ops: unknown[], out: unknown = PNG): Promise<Buffer> {
  let data = input;
  for (const op of ops) data = (await processImage(data, validatePlan([op, out], limits), { limits })).data;
  return data;
}

async function expectSame(input: Buffer, ops: unknown[], chains: number): Promise<void> {
  const a = await fused(input, ops);
  const b = await decoded(await stepwise(input, ops));
  const f = await decoded(a.result.data);
  expect({ width: f.width, height: f.height }).toEqual({ width: b.width, height: b.height });
  expect(maxDiff(f.data, b.data)).toBe(0);
  expect(a.chains).toBe(chains);
}

function maxDiff(a: Buffer, b: Buffer): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe("pipeline fusion: fused chains equal the step-by-step result exactly", () => {
  it("resize then crop (post-resize extract) in the chain that reads the input", async () => {
    await expectSame(
      await png(301, 233),
      [
        { op: "resize", width: 200 },
        { op: "crop", left: 10, top: 7, width: 150, height: 100 },
      ],
      1,
    );
  });

  it("a crop reaching the predicted edge is not fused (the resize may round either way)", async () => {
    await expectSame(
      await png(301, 233),
      [
        { op: "resize", width: 200 },
        { op: "crop", left: 50, top: 0, width: 150, height: 100 },
      ],
      2,
    );
  });

  for (const [angle, direction] of [
    [90, "horizontal"],
    [90, "vertical"],
    [270, "horizontal"],
    [-90, "vertical"],
    [180, "horizontal"],
  ] as const)
    it(`rotate ${angle} then flip ${direction} (sharp mirrors first: the mirror is swapped for odd quarter turns)`, async () => {
      await expectSame(
        await png(64, 41),
        [
          { op: "rotate", angle },
          { op: "flip", direction },
        ],
        1,
      );
    });

  // sharp crops (cover, smart crops) or embeds (contain) to the resize box after it mirrors and
  // rotates: fused, an odd margin moved the picture by a pixel, an off-centre gravity to the other side.
  for (const boxed of [
    { op: "resize", width: 200, height: 150, fit: "cover" }, // 201x155 margins: odd
    { op: "resize", width: 200, height: 160, fit: "contain" }, // 200x155 in 200x160: odd
    { op: "crop", width: 150, height: 120, gravity: "left" }, // a smart crop is resize(cover) at a gravity
    { op: "crop", aspectRatio: "1:1", gravity: "attention" },
  ])
    for (const turn of [
      { op: "flip" },
      { op: "flip", direction: "vertical" },
      { op: "rotate", angle: 180 },
      { op: "rotate", angle: -90 },
    ])
      it(`${JSON.stringify(boxed)} then ${JSON.stringify(turn)} is not fused (sharp crops/embeds last)`, async () => {
        await expectSame(await png(301, 233), [boxed, turn], 2);
      });

  it("a cover resize still fuses what sharp runs after its crop (border)", async () => {
    await expectSame(
      await png(301, 233),
      [
        { op: "resize", width: 200, height: 150, fit: "cover" },
        { op: "border", width: 3, color: "red" },
      ],
      1,
    );
  });

  it("flip then rotate 90", async () => {
    await expectSame(
      await png(64, 41),
      [
        { op: "flip", direction: "vertical" },
        { op: "rotate", angle: 90 },
      ],
      1,
    );
  });

  it("resize, rotate 90, flip, border, then point operations after geometry", async () => {
    await expectSame(
      await png(120, 90),
      [
        { op: "resize", width: 100 },
        { op: "rotate", angle: 90 },
        { op: "flip", direction: "horizontal" },
        { op: "border", width: 4, color: "red" },
        { op: "median", size: 3 },
        { op: "saturation", factor: 1.3 },
        { op: "brightness", factor: 1.1 },
      ],
      1,
    );
  });

  it("point operations in sharp's order: sepia (recomb), hue (modulate), sharpen, gamma, contrast (linear)", async () => {
    await expectSame(
      await png(80, 60),
      [
        { op: "median", size: 3 },
        { op: "sepia" },
        { op: "hue", degrees: 40 },
        { op: "gamma", value: 1.8 },
        { op: "contrast", factor: 1.2 },
      ],
      // gamma never joins a chain that reads the encoded input (it turns off shrink-on-load)
      2,
    );
    await expectSame(
      await png(80, 60),
      [{ op: "rotate", angle: 180 }, { op: "grayscale" }, { op: "sharpen", sigma: 1.5 }],
      1,
    );
  });

  it("nothing joins out of sharp's order, twice in one slot, after linear, or two window filters", async () => {
    await expectSame(
      await png(80, 60),
      [
        { op: "saturation", factor: 1.2 }, // modulate
        { op: "hue", degrees: 30 }, // modulate again: new chain
        { op: "brightness", factor: 1.1 }, // linear joins the hue chain
        { op: "gamma", value: 2 }, // nothing joins after linear
        { op: "median", size: 3 }, // earlier in sharp's order than gamma: new chain
        { op: "sharpen", sigma: 1 }, // a second window filter: new chain
        { op: "border", width: 3 }, // earlier than sharpen: new chain
      ],
      6,
    );
  });

  it("the benchmark's 12-operation plan", async () => {
    const ops = [
      { op: "resize", width: 400 },
      { op: "crop", left: 25, top: 25, width: 300, height: 225 },
      { op: "rotate", angle: 90 },
      { op: "flip", direction: "horizontal" },
      { op: "brightness", factor: 1.1 },
      { op: "saturation", factor: 1.2 },
      { op: "hue", degrees: 30 },
      { op: "gamma", value: 2.2 },
      { op: "median", size: 3 },
      { op: "sharpen", sigma: 1 },
      { op: "border", width: 10, color: "black" },
    ];
    // [resize crop] [rotate flip brightness] [saturation] [hue gamma] [median] [sharpen] [border]
    await expectSame(await png(680, 555), ops, 7);
  });

  it("an image with alpha fuses only pure rearrangements (premultiplied alpha spans a resize chain)", async () => {
    await expectSame(
      await png(120, 90, 4),
      [
        { op: "resize", width: 100 },
        { op: "crop", left: 5, top: 5, width: 60, height: 40 },
        { op: "border", width: 3, color: "blue" },
        { op: "flip", direction: "vertical" },
        { op: "rotate", angle: 90 },
      ],
      3,
    );
  });

  it("a grey image fuses only pure rearrangements (while it is grey)", async () => {
    const grey = await sharp(pixels(90, 70, 3), { raw: { width: 90, height: 70, channels: 3 } })
      .toColourspace("b-w")
      .png()
      .toBuffer();
    expect((await sharp(grey).metadata()).channels).toBe(1);
    await expectSame(
      grey,
      [
        { op: "resize", width: 80 },
        { op: "crop", left: 4, top: 3, width: 60, height: 50 },
        { op: "saturation", factor: 1.5 },
        { op: "rotate", angle: 270 },
        { op: "flip", direction: "horizontal" },
        { op: "gamma", value: 2 },
      ],
      // [resize crop] [saturation] [rotate flip gamma]: sharp's modulate gives 3 sRGB channels,
      // so the grey rule no longer applies after it
      3,
    );
  });

  it("an EXIF-rotated JPEG: the chain reading it is not fused, later ones are", async () => {
    const jpeg = await sharp(pixels(90, 60, 3), { raw: { width: 90, height: 60, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    await expectSame(
      jpeg,
      [
        { op: "resize", width: 50 },
        { op: "crop", left: 2, top: 2, width: 40, height: 40 },
        { op: "rotate", angle: 90 },
        { op: "saturation", factor: 0.7 },
      ],
      2, // [resize] [crop rotate saturation]
    );
  });

  it("an animation: resize, crop and border run as one chain over all frames and stay animated", async () => {
    const width = 48;
    const height = 40;
    const pages = 5;
    const frames = Buffer.concat(Array.from({ length: pages }, (_, k) => pixels(width, height, 4, k + 1)));
    const input = await sharp(frames, { raw: { width, height: height * pages, channels: 4, pageHeight: height } })
      .webp({ lossless: true, loop: 0, delay: Array(pages).fill(100) })
      .toBuffer();
    const ops = [
      { op: "resize", width: 40 },
      { op: "crop", left: 3, top: 2, width: 30, height: 25 },
    ];
    const a = await fused(input, ops, WEBP_LOSSLESS);
    expect(a.chains).toBe(1);
    expect(a.result.pages).toBe(pages);
    expect({ width: a.result.width, height: a.result.height }).toEqual({ width: 30, height: 25 });
    const b = await decoded(await stepwise(input, ops, WEBP_LOSSLESS), true);
    const f = await decoded(a.result.data, true);
    expect({ width: f.width, height: f.height }).toEqual({ width: b.width, height: b.height });
    expect(f.height).toBe(25 * pages);
    expect(maxDiff(f.data, b.data)).toBe(0);
  });

  it("an animation: per-frame steps (rotate, median) are never fused", async () => {
    const width = 32;
    const height = 24;
    const pages = 3;
    const frames = Buffer.concat(Array.from({ length: pages }, (_, k) => pixels(width, height, 4, k + 11)));
    const input = await sharp(frames, { raw: { width, height: height * pages, channels: 4, pageHeight: height } })
      .webp({ lossless: true, loop: 0, delay: Array(pages).fill(80) })
      .toBuffer();
    const ops = [
      { op: "resize", width: 30 },
      { op: "rotate", angle: 90 },
      { op: "median", size: 3 },
    ];
    const a = await fused(input, ops, WEBP_LOSSLESS);
    // decode, then resize frame by frame (22.5 px tall is a tie: no WebP scaled decode, ops/geometry.ts),
    // the resized frames, rotate and median frame by frame (3 + 3 sharp runs), the encode
    expect(a.chains).toBe(1 + pages + 1 + pages + pages + 1);
    expect(a.result.pages).toBe(pages);
    const b = await decoded(await stepwise(input, ops, WEBP_LOSSLESS), true);
    expect(maxDiff((await decoded(a.result.data, true)).data, b.data)).toBe(0);
  });
});
