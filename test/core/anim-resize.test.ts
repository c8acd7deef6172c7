// Resizing an animation resizes each frame on its own pixels: sharp's resize of the strip of
// frames reads the neighbouring frames across every frame edge (enlarging four solid frames gave
// frame 1 a top row of half frame 0's colour; halving them bled 14 levels). The shrink that runs
// on the whole strip (frames padded with their own edge rows) must equal frame by frame exactly.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import sharp, { type Sharp } from "sharp";
import { describe, expect, it, vi } from "vitest";
import { DEFAULT_LIMITS } from "../../src/core/limits.js";
import { getOperation } from "../../src/core/operations.js";
import type { StepContext } from "../../src/core/ops/define.js";
import { processImage } from "../../src/core/pipeline.js";
import { validatePlan } from "../../src/core/plan.js";
import { eachFrameOf } from "../helpers/run-op.js";

const COLOURS = [
  [255, 0, 0],
  [0, 255, 0],
  [0, 0, 255],
  [255, 255, 0],
];

/** Four solid 80x80 frames: red, green, blue, yellow (lossless either way). */
function fourColours(format: "gif" | "webp"): Promise<Buffer> {
  const raw = Buffer.alloc(80 * 80 * 4 * 3);
  COLOURS.forEach((c, k) => {
    for (let i = 0; i < 80 * 80; i++) raw.set(c, (k * 80 * 80 + i) * 3);
  });
  const frames = sharp(raw, { raw: { width: 80, height: 320, channels: 3, pageHeight: 80 } });
  const animation = { loop: 0, delay: [100, 100, 100, 100] };
  return (format === "gif" ? frames.gif(animation) : frames.webp({ lossless: true, ...animation })).toBuffer();
}

/** The largest difference of any pixel of frame k (x in [x0, x1)) from COLOURS[k]. */
function worstOff(data: Buffer, width: number, height: number, x0 = 0, x1 = width): number {
  let worst = 0;
  for (let k = 0; k < 4; k++)
    for (let y = 0; y < height; y++)
      for (let x = x0; x < x1; x++)
        for (let c = 0; c < 3; c++)
          worst = Math.max(worst, Math.abs(data[((k * height + y) * width + x) * 3 + c] - COLOURS[k][c]));
  return worst;
}

const sharpProto = Object.getPrototypeOf(sharp()) as { toBuffer: (...a: unknown[]) => Promise<unknown> };

/** How many sharp pipelines `f` runs (every one ends in toBuffer). */
async function countRuns<T>(f: () => Promise<T>): Promise<{ result: T; runs: number }> {
  const spy = vi.spyOn(sharpProto, "toBuffer");
  try {
    const result = await f();
    return { result, runs: spy.mock.calls.length };
  } finally {
    spy.mockRestore();
  }
}

async function run(input: Buffer, ops: unknown[]) {
  const out = await processImage(
    input,
    validatePlan([...ops, { op: "format", format: "webp", lossless: true }], DEFAULT_LIMITS),
    { limits: DEFAULT_LIMITS },
  );
  const { data, info } = await sharp(out.data, { animated: true })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { out, data, width: info.width, frameHeight: info.height / out.pages };
}

describe.each(["gif", "webp"] as const)("resizing an animated %s keeps each frame's pixels its own", (format) => {
  it.each([
    [{ op: "scale", factor: 2.5 }, 200, 200],
    [{ op: "resize", width: 200 }, 200, 200],
    [{ op: "resize", width: 81 }, 81, 81],
    [{ op: "resize", width: 40 }, 40, 40],
    [{ op: "resize", width: 50 }, 50, 50],
    [{ op: "resize", width: 27 }, 27, 27],
    [{ op: "resize", width: 10 }, 10, 10],
    [{ op: "resize", width: 1 }, 1, 1],
    [{ op: "resize", width: 40, height: 1, fit: "fill" }, 40, 1],
    [{ op: "resize", width: 30, height: 60, fit: "cover" }, 30, 60],
    [{ op: "scale", factor: 0.5 }, 40, 40],
  ])("%j: every pixel of every frame has the frame's colour, edges included", async (op, width, height) => {
    const { out, data, frameHeight } = await run(await fourColours(format), [op]);
    expect([out.width, out.height, out.pages]).toEqual([width, height, 4]);
    expect(frameHeight).toBe(height);
    expect(worstOff(data, width, height)).toBeLessThanOrEqual(1);
  });

  it("after a crop in the same chain (a crop first turns off WebP's scaled decoding)", async () => {
    const { out, data } = await run(await fourColours(format), [
      { op: "crop", left: 0, top: 0, width: 80, height: 78 },
      { op: "resize", width: 40 },
    ]);
    expect([out.width, out.height, out.pages]).toEqual([40, 39, 4]);
    expect(worstOff(data, 40, 39)).toBeLessThanOrEqual(1);
  });

  it("contain: the picture keeps its colour and the background is the one asked for", async () => {
    const { data } = await run(await fourColours(format), [
      { op: "resize", width: 100, height: 60, fit: "contain", background: "black" },
    ]);
    // 80x80 into 100x60: a 60x60 picture at x 20-79, black bars left and right
    for (let k = 0; k < 4; k++)
      for (let y = 0; y < 60; y++)
        for (let x = 0; x < 100; x++) {
          const i = (k * 6000 + y * 100 + x) * 3;
          const want = x >= 20 && x < 80 ? COLOURS[k] : [0, 0, 0];
          expect([data[i], data[i + 1], data[i + 2]]).toEqual(want);
        }
  });
});

/** Noise in every band (alpha 1-255 with four bands), frame after frame. */
function noise(width: number, height: number, pages: number, channels: 3 | 4, seed: number): Buffer {
  const data = Buffer.alloc(width * height * pages * channels);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    data[i] = channels === 4 && i % 4 === 3 ? 1 + ((s >> 16) % 255) : (s >> 16) & 255;
  }
  return data;
}

/** An operation's apply on raw frames, as the pipeline runs a step on raw pixels. */
async function applyOn(data: Buffer, width: number, height: number, pages: number, channels: 3 | 4, op: object) {
  const def = getOperation((op as { op: string }).op);
  if (!def?.apply) throw new Error("no apply");
  const image: Sharp = sharp(data, {
    raw: { width, height: height * pages, channels, ...(pages > 1 ? { pageHeight: height } : {}) },
    ...(pages > 1 ? { pages: -1 } : {}),
  });
  const meta = { width, height, pages, channels, hasAlpha: channels === 4, sourceFormat: "webp" };
  const ctx: StepContext = {
    limits: DEFAULT_LIMITS,
    loadAsset: () => Promise.reject(new Error("no assets")),
    meta,
    eachFrame: eachFrameOf(meta),
  };
  const out = await (await def.apply(image, def.schema.parse(op), ctx)).raw().toBuffer({ resolveWithObject: true });
  return { data: out.data, width: out.info.width, height: out.info.height };
}

describe("the whole strip and frame by frame give the same pixels", () => {
  const sizes: [number, number][] = [
    [80, 80],
    [64, 48],
    [33, 120],
    [7, 9],
  ];
  const ops = (w: number, h: number) => [
    // shrinks the whole strip can take (under 4x, no enlarging)
    { op: "resize", width: Math.round(w / 2) },
    { op: "resize", width: Math.round(w / 3) },
    { op: "resize", height: Math.round(h / 1.5) },
    { op: "resize", width: 27 },
    { op: "scale", factor: 0.75 },
    { op: "scale", factor: 0.4 },
    { op: "resize", width: Math.round(w / 2), height: h, fit: "fill" },
    { op: "resize", width: Math.round(w / 2), height: Math.round(h / 3) },
    { op: "resize", width: Math.round(w / 2), height: Math.round(h / 3), fit: "outside" },
    { op: "resize", width: 2 * w, withoutEnlargement: true },
    // frame by frame
    { op: "scale", factor: 2.5 },
    { op: "resize", width: Math.max(1, Math.round(w / 5)) },
    { op: "resize", width: w + 3, height: Math.round(h / 2), fit: "fill" },
    { op: "resize", width: w, height: h + 6, fit: "contain" },
    { op: "resize", width: Math.round(w / 2), height: Math.round(h / 3), fit: "cover" },
  ];
  it.each(sizes.flatMap(([w, h]) => [3, 4].map((c) => [w, h, c as 3 | 4] as const)))(
    "%dx%d frames, %d bands",
    async (w, h, channels) => {
      const pages = 3;
      const frames = noise(w, h, pages, channels, w * 31 + h + channels);
      const bytes = w * h * channels;
      for (const op of ops(w, h)) {
        const whole = await applyOn(frames, w, h, pages, channels, op);
        const each = await Promise.all(
          [0, 1, 2].map((k) => applyOn(frames.subarray(k * bytes, (k + 1) * bytes), w, h, 1, channels, op)),
        );
        expect([whole.width, whole.height], JSON.stringify(op)).toEqual([each[0].width, each[0].height * pages]);
        expect(whole.data.equals(Buffer.concat(each.map((e) => e.data))), JSON.stringify(op)).toBe(true);
      }
    },
  );

  /** Noise frames inside a plain border of `margin` rows top and bottom, one colour for all frames. */
  function plainEdged(w: number, h: number, pages: number, margin: number): Buffer {
    const data = noise(w, h, pages, 3, w + h);
    for (let k = 0; k < pages; k++)
      for (const y of [...Array(margin).keys()].flatMap((m) => [m, h - 1 - m]))
        data.fill(90, (k * h + y) * w * 3, (k * h + y + 1) * w * 3);
    return data;
  }

  it.each([
    // the plain rows are exactly the rows checked: noise starts where the kernel's reach ends
    [80, 80, { op: "resize", width: 40 }, 8],
    [64, 48, { op: "resize", width: 32, height: 16, fit: "fill" }, 12],
    [33, 120, { op: "scale", factor: 0.4 }, 10],
  ])("%dx%d frames with plain edges, %j: the strip's resize is each frame's", async (w, h, op, margin) => {
    const pages = 4;
    const bytes = w * h * 3;
    // one changed pixel at each edge row in turn must still give each frame's own pixels
    for (const row of [undefined, h - 1, h, h - 2, h + 1]) {
      const frames = plainEdged(w, h, pages, margin);
      if (row !== undefined) frames[row * w * 3 + 5] ^= 0xff;
      const whole = await applyOn(frames, w, h, pages, 3, op);
      const each = await Promise.all(
        [...Array(pages).keys()].map((k) => applyOn(frames.subarray(k * bytes, (k + 1) * bytes), w, h, 1, 3, op)),
      );
      expect(whole.data.equals(Buffer.concat(each.map((e) => e.data))), `${JSON.stringify(op)} row ${row}`).toBe(true);
    }
  });

  it("a GIF whose frames have plain edges is resized in the chain that encodes it", async () => {
    const pages = 6;
    const input = await sharp(plainEdged(80, 80, pages, 12), {
      raw: { width: 80, height: 80 * pages, channels: 3, pageHeight: 80 },
    })
      .gif({ loop: 0, delay: Array(pages).fill(50) })
      .toBuffer();
    const { result, runs } = await countRuns(() => run(input, [{ op: "resize", width: 40 }]));
    expect(result.out.pages).toBe(pages);
    expect(runs).toBe(2 + 1); // decode, resize and encode (and the test's decode of the output)
    // and each frame is its own: the same as resizing the decoded frames one by one
    const decoded = await sharp(input, { animated: true }).removeAlpha().raw().toBuffer();
    const each = await Promise.all(
      [...Array(pages).keys()].map((k) =>
        sharp(decoded.subarray(k * 80 * 80 * 3, (k + 1) * 80 * 80 * 3), { raw: { width: 80, height: 80, channels: 3 } })
          .resize({ width: 40 })
          .raw()
          .toBuffer(),
      ),
    );
    expect(result.data.equals(Buffer.concat(each))).toBe(true);
  });

  it("halving a GIF runs the strip through one resize, not one per frame", async () => {
    const pages = 6;
    const input = await sharp(noise(80, 80, pages, 3, 3), {
      raw: { width: 80, height: 80 * pages, channels: 3, pageHeight: 80 },
    })
      .gif({ loop: 0, delay: Array(pages).fill(50) })
      .toBuffer();
    const { result, runs } = await countRuns(() => run(input, [{ op: "resize", width: 40 }]));
    expect(result.out.pages).toBe(pages);
    expect(runs).toBe(3 + 1); // decode, resize, encode (and the test's decode of the output)
  });

  it("an animated WebP shrunk to whole pixels is decoded at that size by libwebp, frame by frame, in one run", async () => {
    const pages = 3;
    const input = await sharp(noise(120, 90, pages, 3, 5), {
      raw: { width: 120, height: 90 * pages, channels: 3, pageHeight: 90 },
    })
      .webp({ lossless: true, loop: 0, delay: Array(pages).fill(50) })
      .toBuffer();
    for (const width of [60, 40, 27]) {
      const { result, runs } = await countRuns(() => run(input, [{ op: "resize", width }]));
      expect(runs).toBe(1 + 1);
      const each = await Promise.all(
        [0, 1, 2].map((page) => sharp(input, { page }).resize({ width }).removeAlpha().raw().toBuffer()),
      );
      expect(result.data.equals(Buffer.concat(each))).toBe(true);
    }
  });
});

const GIF = path.resolve(import.meta.dirname, "../../../shared/fixtures/rotating-squares.gif");

describe.skipIf(!existsSync(GIF))("the benchmark's animated GIF (80x80, 30 frames -> 40 px)", () => {
  it("comes out as sharp's own resize of the strip (its frames have plain edges)", async () => {
    const input = readFileSync(GIF);
    const out = await processImage(input, validatePlan([{ op: "resize", width: 40 }], DEFAULT_LIMITS), {
      limits: DEFAULT_LIMITS,
    });
    const ours = await sharp(out.data, { animated: true }).raw().toBuffer();
    const bare = await sharp(await sharp(input, { animated: true }).resize({ width: 40 }).gif({ loop: 0 }).toBuffer(), {
      animated: true,
    })
      .raw()
      .toBuffer();
    expect(ours.equals(bare)).toBe(true);
  });
});
