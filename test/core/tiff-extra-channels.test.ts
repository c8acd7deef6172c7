// TIFFs with channels past colour and alpha (SamplesPerPixel 5 with ExtraSamples [2, 0], as
// Photoshop saves extra channels; grey + alpha + extra): libvips keeps every band, and sharp's
// steps and encoders disagreed on which one is the alpha (or failed on 5-band raw pixels). The
// pipeline drops the bands past colour and the first extra sample (the alpha, as libtiff reads
// it) when it decodes, so every step and output sees RGBA.
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../src/core/limits.js";
import { type ProcessOptions, probeImage, processImage } from "../../src/core/pipeline.js";
import { validatePlan } from "../../src/core/plan.js";
import { failure } from "../helpers/errors.js";
import { pixelAt, readPixels } from "../helpers/images.js";

const limits = { ...DEFAULT_LIMITS, processTimeoutMs: 20_000 };
const run = (input: Buffer, ops: unknown[], opts: Partial<ProcessOptions> = {}) =>
  processImage(input, validatePlan(ops, limits), { limits, ...opts });

const W = 8;
const H = 4;

/**
 * An uncompressed little-endian TIFF, chunky, one strip. `sample(x, y)` gives a pixel's samples
 * (8 or 16 bits each).
 */
function tiff(o: {
  samples: number;
  bits?: 8 | 16;
  photometric: number;
  extraSamples?: number[];
  sample: (x: number, y: number) => number[];
}): Buffer {
  const bits = o.bits ?? 8;
  const pixels = Buffer.alloc(W * H * o.samples * (bits / 8));
  let p = 0;
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      for (const v of o.sample(x, y)) p = bits === 8 ? pixels.writeUInt8(v, p) : pixels.writeUInt16LE(v, p);
  const tags: [number, number, number[]][] = [
    // tag, type (3 SHORT, 4 LONG), values
    [256, 4, [W]],
    [257, 4, [H]],
    [258, 3, Array(o.samples).fill(bits)],
    [259, 3, [1]],
    [262, 3, [o.photometric]],
    [273, 4, [8]],
    [277, 3, [o.samples]],
    [278, 4, [H]],
    [279, 4, [pixels.length]],
    [284, 3, [1]],
    ...(o.extraSamples ? [[338, 3, o.extraSamples] as [number, number, number[]]] : []),
  ];
  const ifdAt = 8 + pixels.length + (pixels.length % 2);
  let valuesAt = ifdAt + 2 + tags.length * 12 + 4;
  const ifd = Buffer.alloc(2 + tags.length * 12 + 4);
  const values: Buffer[] = [];
  ifd.writeUInt16LE(tags.length, 0);
  tags.forEach(([tag, type, vals], i) => {
    const size = type === 3 ? 2 : 4;
    const bytes = Buffer.alloc(vals.length * size);
    for (const [k, v] of vals.entries()) {
      if (size === 2) bytes.writeUInt16LE(v, k * 2);
      else bytes.writeUInt32LE(v, k * 4);
    }
    const at = 2 + i * 12;
    ifd.writeUInt16LE(tag, at);
    ifd.writeUInt16LE(type, at + 2);
    ifd.writeUInt32LE(vals.length, at + 4);
    if (bytes.length <= 4) bytes.copy(ifd, at + 8);
    else {
      ifd.writeUInt32LE(valuesAt, at + 8);
      values.push(bytes);
      valuesAt += bytes.length;
    }
  });
  const head = Buffer.from([0x49, 0x49, 0x2a, 0, 0, 0, 0, 0]);
  head.writeUInt32LE(ifdAt, 4);
  return Buffer.concat([head, pixels, Buffer.alloc(pixels.length % 2), ifd, ...values]);
}

/** Opaque on the left half, half transparent on the right: a flip shows which band is the alpha. */
const alphaAt = (x: number) => (x < W / 2 ? 255 : 128);
const EXTRA = 7;

const rgbExtra = () =>
  tiff({ samples: 5, photometric: 2, extraSamples: [2, 0], sample: (x) => [10, 200, 30, alphaAt(x), EXTRA] });
const greyExtra = () =>
  tiff({ samples: 3, photometric: 1, extraSamples: [2, 0], sample: (x) => [90, alphaAt(x), EXTRA] });
const rgb16Extra = () =>
  tiff({
    samples: 5,
    bits: 16,
    photometric: 2,
    extraSamples: [2, 0],
    sample: (x) => [10 * 257, 200 * 257, 30 * 257, alphaAt(x) * 257, EXTRA * 257],
  });

const cases = [
  { name: "RGB + alpha + extra", input: rgbExtra, colour: [10, 200, 30] },
  { name: "grey + alpha + extra", input: greyExtra, colour: [90, 90, 90] },
  { name: "16-bit RGB + alpha + extra", input: rgb16Extra, colour: [10, 200, 30] },
];

describe.each(cases)("a TIFF with $name", ({ input, colour }) => {
  it("is what it says: more bands than colour and alpha", async () => {
    const meta = await sharp(input()).metadata();
    expect(meta.channels).toBe(meta.space === "b-w" ? 3 : 5);
    expect(meta.hasAlpha).toBe(true);
  });

  /** Every pixel must be the input's colour with its own alpha, `mirrored` or not. */
  async function expectRgba(data: Buffer, mirrored = false) {
    const px = await readPixels(data);
    expect(px.channels).toBe(4);
    expect([px.width, px.height]).toEqual([W, H]);
    for (let x = 0; x < W; x++) {
      const alpha = alphaAt(mirrored ? W - 1 - x : x);
      expect(pixelAt(px, x, 1), `x ${x}`).toEqual([...colour, alpha]);
    }
  }

  it.each([
    ["no step", [], false],
    ["a no-op brightness (used to take the extra channel for the alpha)", [{ op: "brightness", factor: 1 }], false],
    ["two mirrors (used to fail: 5-band raw pixels)", [{ op: "flip" }, { op: "flip" }], false],
    ["one mirror", [{ op: "flip" }], true],
    ["a mirror and a turn upside down", [{ op: "flip" }, { op: "rotate", angle: 180 }], false],
  ])("%s, PNG out: colour and alpha kept, the extra channel gone", async (_name, ops, mirrored) => {
    const out = await run(input(), [...ops, { op: "format", format: "png" }]);
    await expectRgba(out.data, mirrored);
  });

  it("two steps, keeping metadata (painted over a stand-in: the input has too many bands)", async () => {
    const ops = [{ op: "flip" }, { op: "flip", direction: "vertical" }, { op: "format", format: "png" }];
    const out = await run(input(), ops, { keepMetadata: true });
    await expectRgba(out.data, true);
  });

  it.each(["jpeg", "webp", "avif", "gif", "tiff"] as const)(
    "%s output works, with colour and alpha only (JPEG failed: 'linear: vector must have 1 or 4 elements')",
    async (format) => {
      for (const ops of [[], [{ op: "flip" }, { op: "flip" }]]) {
        const out = await run(input(), [...ops, { op: "format", format }]);
        expect(out.format).toBe(format);
        const px = await readPixels(out.data);
        expect(px.channels, `${format} ${ops.length} steps`).toBe(format === "jpeg" ? 3 : 4);
        if (format === "jpeg") {
          // the half-transparent right half is flattened onto white, the opaque left half is not
          const left = pixelAt(px, 0, 1);
          const right = pixelAt(px, W - 1, 1);
          colour.forEach((c, i) => {
            expect(Math.abs(left[i] - c)).toBeLessThanOrEqual(8);
            expect(Math.abs(right[i] - Math.round((c * 128 + 255 * 127) / 255))).toBeLessThanOrEqual(8);
          });
        }
      }
    },
  );
});

describe("channels past what imgedit reads", () => {
  it("6 channels (RGB + alpha + 2 extra) is UNSUPPORTED_FORMAT naming the count, not a 500", async () => {
    const six = tiff({ samples: 6, photometric: 2, extraSamples: [2, 0, 0], sample: () => [10, 200, 30, 255, 7, 9] });
    // Started one at a time: a second promise made up front would reject before it is awaited.
    for (const start of [() => probeImage(six, limits), () => run(six, [{ op: "flip" }])]) {
      const e = await failure(start());
      expect(e.code).toBe("UNSUPPORTED_FORMAT");
      expect(e.message).toBe(
        "the image has 6 channels; imgedit reads at most 5 (colour, alpha and extra channels together): save it without its extra channels",
      );
    }
  });

  it("CMYK + alpha (5 channels, none extra) keeps its alpha", async () => {
    const cmyka = tiff({
      samples: 5,
      photometric: 5,
      extraSamples: [2],
      sample: (x) => [0, 0, 0, 0, x < W / 2 ? 255 : 0],
    });
    const out = await run(cmyka, [{ op: "flip" }, { op: "flip" }, { op: "format", format: "png" }]);
    const px = await readPixels(out.data);
    expect(px.channels).toBe(4);
    expect(pixelAt(px, 0, 0)[3]).toBe(255);
    expect(pixelAt(px, W - 1, 0)[3]).toBe(0);
  });
});
