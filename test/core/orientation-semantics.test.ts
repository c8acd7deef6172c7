// EXIF orientation meets the steps sharp runs before its own EXIF turn (trim) and animations:
// every step must see the picture as a viewer shows it, frames in their order.
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../src/core/limits.js";
import { processImage } from "../../src/core/pipeline.js";
import { validatePlan } from "../../src/core/plan.js";

type Rgb = readonly [number, number, number];

const RED: Rgb = [255, 0, 0];
const LIME: Rgb = [0, 255, 0];
const BLUE: Rgb = [0, 0, 255];
const YELLOW: Rgb = [255, 255, 0];
const WHITE: Rgb = [255, 255, 255];

/** Raw RGB pixels painted by `paint(x, y)`. */
function paint(width: number, height: number, colour: (x: number, y: number) => Rgb): Buffer {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(colour(x, y), (y * width + x) * 3);
  return data;
}

/** Quadrants (red, lime / blue, yellow) on the upright picture. */
const quadrant = (width: number, height: number) => (x: number, y: number) =>
  y < height / 2 ? (x < width / 2 ? RED : LIME) : x < width / 2 ? BLUE : YELLOW;

/**
 * The raw pixels stored so that a reader applying EXIF `orientation` shows `upright`: the
 * inverse of the turn/mirror the tag asks for (transpose and transverse are their own inverses).
 */
async function storedPixels(upright: Buffer, width: number, height: number, orientation: number) {
  const png = await sharp(upright, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
  const turned = async (angle: number) => sharp(await sharp(png).rotate(angle).png().toBuffer());
  const image = {
    1: async () => sharp(png),
    2: async () => sharp(png).flop(),
    3: async () => sharp(png).rotate(180),
    4: async () => sharp(png).flip(),
    5: async () => (await turned(90)).flop(),
    6: async () => sharp(png).rotate(270),
    7: async () => (await turned(90)).flip(),
    8: async () => sharp(png).rotate(90),
  }[orientation];
  if (!image) throw new Error(`no orientation ${orientation}`);
  return (await image()).raw().toBuffer({ resolveWithObject: true });
}

/** A PNG whose pixels show `upright` once its EXIF orientation tag is applied. */
async function orientedPng(upright: Buffer, width: number, height: number, orientation: number): Promise<Buffer> {
  const { data, info } = await storedPixels(upright, width, height, orientation);
  return sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } })
    .withMetadata({ orientation })
    .png()
    .toBuffer();
}

async function run(input: Buffer, plan: unknown) {
  return processImage(input, validatePlan(plan, DEFAULT_LIMITS), { limits: DEFAULT_LIMITS });
}

/** Pixel (x, y) of frame `page` of an encoded (possibly animated) image. */
async function framePixels(data: Buffer) {
  const meta = await sharp(data).metadata();
  const { data: px, info } = await sharp(data, { animated: true }).raw().toBuffer({ resolveWithObject: true });
  const pages = meta.pages ?? 1;
  const height = info.height / pages;
  return {
    pages,
    width: info.width,
    height,
    delay: meta.delay,
    loop: meta.loop,
    at: (page: number, x: number, y: number) => {
      const i = ((page * height + y) * info.width + x) * info.channels;
      return [px[i], px[i + 1], px[i + 2]];
    },
  };
}

const near = (actual: number[], expected: Rgb, tolerance = 8) =>
  actual.every((v, i) => Math.abs(v - expected[i]) <= tolerance);

describe("trim on an EXIF-oriented input", () => {
  // A white margin along ONE edge of the upright picture; the rest is quadrants touching the
  // other edges. sharp trims before it applies the EXIF turn, with the STORED top-left pixel as
  // the background: on most orientations that is another corner of the picture, not white.
  const W = 48;
  const H = 32;
  const M = 5;
  const margins = {
    top: (x: number, y: number) => (y < M ? WHITE : quadrant(W, H)(x, y)),
    left: (x: number, y: number) => (x < M ? WHITE : quadrant(W, H)(x, y)),
  };
  for (const [edge, colour] of Object.entries(margins)) {
    it.each([1, 2, 3, 4, 5, 6, 7, 8])(`removes a white ${edge} margin whatever the orientation (%i)`, async (o) => {
      const input = await orientedPng(paint(W, H, colour), W, H, o);
      const out = await run(input, [{ op: "trim" }, { op: "format", format: "png" }]);
      expect([out.width, out.height]).toEqual(edge === "top" ? [W, H - M] : [W - M, H]);
      const px = await framePixels(out.data);
      expect(near(px.at(0, 0, 0), RED), `top-left ${px.at(0, 0, 0)}`).toBe(true);
      expect(near(px.at(0, px.width - 1, px.height - 1), YELLOW)).toBe(true);
    });
  }
  it("after another step (raw pixels in between) too", async () => {
    const input = await orientedPng(paint(W, H, margins.top), W, H, 3);
    const out = await run(input, [{ op: "grayscale" }, { op: "trim" }, { op: "format", format: "png" }]);
    expect([out.width, out.height]).toEqual([W, H - M]);
  });
});

describe("animated WebP with an EXIF orientation", () => {
  // Two frames of quadrants; frame 0 has a black centre, frame 1 a grey one, with different
  // delays: the frames must come out upright, in their order, with their own delays.
  const W = 40;
  const H = 30;
  const centre = (frame: number) => (x: number, y: number) =>
    x >= W / 2 - 3 && x < W / 2 + 3 && y >= H / 2 - 3 && y < H / 2 + 3
      ? ((frame === 0 ? [0, 0, 0] : [128, 128, 128]) as unknown as Rgb)
      : quadrant(W, H)(x, y);

  async function orientedAnimation(orientation: number): Promise<Buffer> {
    const frames = await Promise.all([0, 1].map((f) => storedPixels(paint(W, H, centre(f)), W, H, orientation)));
    const { width, height } = frames[0].info;
    return sharp(Buffer.concat(frames.map((f) => f.data)), {
      raw: { width, height: height * 2, channels: 3, pageHeight: height },
      pages: -1,
    })
      .withMetadata({ orientation })
      .webp({ lossless: true, delay: [100, 300], loop: 2 })
      .toBuffer();
  }

  function expectUprightFrames(px: Awaited<ReturnType<typeof framePixels>>, width: number, height: number) {
    expect([px.width, px.height, px.pages]).toEqual([width, height, 2]);
    expect(px.delay).toEqual([100, 300]);
    expect(px.loop).toBe(2);
    for (const page of [0, 1]) {
      expect(near(px.at(page, 1, 1), RED), `frame ${page} top-left ${px.at(page, 1, 1)}`).toBe(true);
      expect(near(px.at(page, width - 2, 1), LIME), `frame ${page} top-right`).toBe(true);
      expect(near(px.at(page, 1, height - 2), BLUE), `frame ${page} bottom-left`).toBe(true);
      expect(near(px.at(page, width - 2, height - 2), YELLOW), `frame ${page} bottom-right`).toBe(true);
    }
    const mid = [Math.floor(width / 2), Math.floor(height / 2)] as const;
    expect(near(px.at(0, ...mid), [0, 0, 0]), `frame 0 centre ${px.at(0, ...mid)}`).toBe(true);
    expect(near(px.at(1, ...mid), [128, 128, 128]), `frame 1 centre ${px.at(1, ...mid)}`).toBe(true);
  }

  it.each([1, 2, 3, 4, 5, 6, 7, 8])("orientation %i: frames upright and in order", async (o) => {
    const input = await orientedAnimation(o);
    expect((await sharp(input).metadata()).orientation).toBe(o);
    const out = await run(input, [{ op: "format", format: "webp", lossless: true }]);
    expect([out.width, out.height, out.pages]).toEqual([W, H, 2]);
    expectUprightFrames(await framePixels(out.data), W, H);
    expect((await sharp(out.data).metadata()).orientation ?? 1).toBe(1);
  });

  it.each([3, 6])("orientation %i: steps see the upright frames (crop, resize, flip, gif)", async (o) => {
    const input = await orientedAnimation(o);
    const crop = await run(input, [
      { op: "crop", left: 0, top: 0, width: 10, height: 10 },
      { op: "format", format: "webp", lossless: true },
    ]);
    const cropped = await framePixels(crop.data);
    expect([cropped.width, cropped.height, cropped.pages]).toEqual([10, 10, 1]); // both frames all red: merged
    expect(near(cropped.at(0, 5, 5), RED)).toBe(true);
    const flipped = await run(input, [{ op: "flip" }, { op: "format", format: "webp", lossless: true }]);
    const f = await framePixels(flipped.data);
    expect(near(f.at(0, 1, 1), LIME) && near(f.at(1, W - 2, 1), RED)).toBe(true);
    const small = await run(input, [
      { op: "resize", width: 20 },
      { op: "format", format: "gif" },
    ]);
    expect([small.width, small.height, small.pages]).toEqual([20, 15, 2]);
    const g = await framePixels(small.data);
    expect(g.delay).toEqual([100, 300]);
    expect(near(g.at(0, 10, 7), [0, 0, 0], 40) && near(g.at(1, 10, 7), [128, 128, 128], 40)).toBe(true);
  });

  it("orientation 6 to a still format takes the first frame, upright", async () => {
    const out = await run(await orientedAnimation(6), [{ op: "format", format: "png" }]);
    expect([out.width, out.height, out.pages]).toEqual([W, H, 1]);
    const px = await framePixels(out.data);
    expect(near(px.at(0, 1, 1), RED) && near(px.at(0, W / 2, H / 2), [0, 0, 0])).toBe(true);
  });
});

describe("kept metadata on animations", () => {
  // EXIF (a copyright) and XMP on an animated WebP must survive steps that leave raw pixels
  // between them, as they do for still images; an orientation tag must not (pixels are upright).
  const W = 40;
  const H = 30;
  const XMP =
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' +
    '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>Ada Lovelace</dc:creator>' +
    "</rdf:Description></rdf:RDF></x:xmpmeta>";

  async function taggedAnimation(orientation: number): Promise<Buffer> {
    const frames = await Promise.all(
      [0, 1].map((f) =>
        storedPixels(
          paint(W, H, (x, y) => (f === 1 && x < 4 && y < 4 ? [0, 0, 0] : quadrant(W, H)(x, y))),
          W,
          H,
          orientation,
        ),
      ),
    );
    const { width, height } = frames[0].info;
    return sharp(Buffer.concat(frames.map((f) => f.data)), {
      raw: { width, height: height * 2, channels: 3, pageHeight: height },
      pages: -1,
    })
      .withMetadata({ orientation })
      .withExifMerge({ IFD0: { Copyright: "Ada Lovelace" } })
      .withXmp(XMP)
      .webp({ lossless: true, delay: [100, 300], loop: 0 })
      .toBuffer();
  }

  it.each([
    [1, [{ op: "resize", width: 20 }, { op: "flip" }]],
    [
      1,
      [{ op: "rotate", angle: 90 }, { op: "grayscale" }, { op: "crop", width: 10, height: 10, gravity: "top-right" }],
    ],
    [6, [{ op: "format", format: "webp", lossless: true }]],
    [
      6,
      [
        { op: "rotate", angle: 90 },
        { op: "resize", width: 20 },
      ],
    ],
  ])("orientation %i, plan %j: EXIF and XMP kept, frames and timing intact", async (o, plan) => {
    const input = await taggedAnimation(o);
    const meta = await sharp(input).metadata();
    expect([meta.orientation, meta.pages, meta.exif?.includes("Ada Lovelace")]).toEqual([o, 2, true]);
    const lossless = { op: "format", format: "webp", lossless: true };
    const out = await run(input, [...plan, { op: "metadata", keep: true }, lossless]);
    expect(out.pages).toBe(2);
    const kept = await sharp(out.data).metadata();
    expect(kept.exif?.includes("Ada Lovelace"), "EXIF copyright kept").toBe(true);
    expect(kept.xmp?.toString().includes("Ada Lovelace"), "XMP kept").toBe(true);
    expect(kept.orientation ?? 1).toBe(1);
    expect(kept.delay).toEqual([100, 300]);
    // the pixels are the plan's, not the input's the metadata was taken from
    const stripped = await run(input, [...plan, lossless]);
    const a = await sharp(out.data, { animated: true }).ensureAlpha().raw().toBuffer();
    const b = await sharp(stripped.data, { animated: true }).ensureAlpha().raw().toBuffer();
    expect(a.equals(b)).toBe(true);
  });
});
