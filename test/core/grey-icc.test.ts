// A greyscale input with an embedded grey ICC profile: sharp converts it through the profile
// before any step, and steps that paint a colour (pad, border, rotate, contain, tint, text,
// watermark) must not skip that (they work in sRGB; converting to it first left the profile
// unused). The profile here has gamma 1.0, so applying it or not differs by tens of levels.
import { deflateSync } from "node:zlib";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../src/core/limits.js";
import { processImage } from "../../src/core/pipeline.js";
import { validatePlan } from "../../src/core/plan.js";

const W = 64;
const H = 48;

/** A minimal ICC v2 grey display profile: white point D50 and a pure gamma curve. */
function greyProfile(gamma: number): Buffer {
  const desc = Buffer.alloc(12 + 5 + 12 + 67);
  desc.write("desc", 0, "latin1");
  desc.writeUInt32BE(5, 8);
  desc.write("grey", 12, "latin1");
  const xyz = (x: number, y: number, z: number) => {
    const b = Buffer.alloc(20);
    b.write("XYZ ", 0, "latin1");
    [x, y, z].forEach((v, i) => {
      b.writeInt32BE(Math.round(v * 65536), 8 + 4 * i);
    });
    return b;
  };
  const curve = Buffer.alloc(16);
  curve.write("curv", 0, "latin1");
  curve.writeUInt32BE(1, 8);
  curve.writeUInt16BE(Math.round(gamma * 256), 12);
  const tags: [string, Buffer][] = [
    ["desc", desc],
    ["wtpt", xyz(0.9642, 1, 0.8249)],
    ["kTRC", curve],
  ];
  const pad4 = (n: number) => Math.ceil(n / 4) * 4;
  let offset = 128 + 4 + 12 * tags.length;
  const table = Buffer.alloc(4 + 12 * tags.length);
  table.writeUInt32BE(tags.length, 0);
  const bodies: Buffer[] = [];
  tags.forEach(([sig, body], i) => {
    table.write(sig, 4 + 12 * i, "latin1");
    table.writeUInt32BE(offset, 8 + 12 * i);
    table.writeUInt32BE(body.length, 12 + 12 * i);
    bodies.push(Buffer.concat([body, Buffer.alloc(pad4(body.length) - body.length)]));
    offset += pad4(body.length);
  });
  const header = Buffer.alloc(128);
  header.writeUInt32BE(offset, 0);
  header.writeUInt32BE(0x02100000, 8);
  header.write("mntrGRAYXYZ ", 12, "latin1");
  header.write("acsp", 36, "latin1");
  [0.9642, 1, 0.8249].forEach((v, i) => {
    header.writeInt32BE(Math.round(v * 65536), 68 + 4 * i);
  });
  return Buffer.concat([header, table, ...bodies]);
}

/** A one-band JPEG with `icc` in an APP2 ICC_PROFILE segment after its SOI. */
async function greyJpeg(icc: Buffer): Promise<Buffer> {
  const jpeg = await sharp(greyPixels(), { raw: { width: W, height: H, channels: 1 } })
    .toColourspace("b-w")
    .jpeg({ quality: 95 })
    .toBuffer();
  const body = Buffer.concat([Buffer.from("ICC_PROFILE\0\x01\x01", "latin1"), icc]);
  const marker = Buffer.from([0xff, 0xe2, (body.length + 2) >> 8, (body.length + 2) & 0xff]);
  return Buffer.concat([jpeg.subarray(0, 2), marker, body, jpeg.subarray(2)]);
}

/** A grey + alpha PNG with `icc` in an iCCP chunk before its IDAT. */
async function greyAlphaPng(icc: Buffer): Promise<Buffer> {
  const px = greyPixels();
  const ga = Buffer.alloc(W * H * 2);
  for (let i = 0; i < W * H; i++) {
    ga[2 * i] = px[i];
    ga[2 * i + 1] = 255;
  }
  const png = await sharp(ga, { raw: { width: W, height: H, channels: 2 } })
    .toColourspace("b-w")
    .png()
    .toBuffer();
  const data = Buffer.concat([Buffer.from("ICC\0\0", "latin1"), deflateSync(icc)]);
  const type = Buffer.from("iCCP", "latin1");
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  type.copy(chunk, 4);
  data.copy(chunk, 8);
  chunk.writeUInt32BE(crc32(Buffer.concat([type, data])), 8 + data.length);
  const ihdrEnd = 8 + 25; // signature, then IHDR (4 + 4 + 13 + 4)
  return Buffer.concat([png.subarray(0, ihdrEnd), chunk, png.subarray(ihdrEnd)]);
}

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** Dark to mid greys, where a gamma 1.0 profile lifts the values most. */
function greyPixels(): Buffer {
  const px = Buffer.alloc(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) px[y * W + x] = 20 + ((x * 3 + y * 2) % 100);
  return px;
}

const WATERMARK = sharp({ create: { width: 8, height: 8, channels: 4, background: "#ff00ff" } })
  .png()
  .toBuffer();

async function run(input: Buffer, ops: unknown[]) {
  const watermark = await WATERMARK;
  const out = await processImage(input, validatePlan([...ops, { op: "format", format: "png" }], DEFAULT_LIMITS), {
    limits: DEFAULT_LIMITS,
    loadAsset: async () => watermark,
  });
  const { data, info } = await sharp(out.data).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

type Raw = { data: Buffer; width: number; channels: number };

/** Mean of the first band over a region that a horizontal flip maps onto itself. */
function mean(img: Raw, left: number, top: number, width: number, height: number): number {
  let sum = 0;
  for (let y = top; y < top + height; y++)
    for (let x = left; x < left + width; x++) sum += img.data[(y * img.width + x) * img.channels];
  return sum / (width * height);
}

// [plan, where the untouched W x H picture starts in the output]; regions skip 4 px of each edge
// (rotate resamples them) and the bottom rows (text and watermark go bottom-right)
const PAINTING: [string, unknown[], number, number][] = [
  ["border", [{ op: "border", width: 1, color: "white" }], 1, 1],
  ["pad", [{ op: "pad", top: 2, left: 3, color: "red" }], 3, 2],
  ["rotate by an odd angle", [{ op: "rotate", angle: 0.01 }], 0, 0],
  ["tint", [{ op: "tint", color: "white" }], 0, 0],
  ["contain", [{ op: "resize", width: W, height: H + 20, fit: "contain", background: "red" }], 0, 10],
  ["text", [{ op: "text", text: "Hi", size: 10 }], 0, 0],
  ["watermark", [{ op: "watermark", url: "https://example.com/w.png", scale: 0.1 }], 0, 0],
];

describe.each([
  ["a greyscale JPEG", () => greyJpeg(greyProfile(1))],
  ["a grey + alpha PNG", () => greyAlphaPng(greyProfile(1))],
])("%s with a grey ICC profile", (_, make) => {
  it("is read as one grey band with the profile", async () => {
    const meta = await sharp(await make()).metadata();
    expect(meta.channels).toBeLessThanOrEqual(2);
    expect(meta.icc?.toString("latin1", 16, 20)).toBe("GRAY");
  });

  it.each(PAINTING)("comes out as a non-painting step gives it after %s", async (_, ops, left, top) => {
    const input = await make();
    const reference = await run(input, [{ op: "flip", direction: "horizontal" }]);
    const region = [4, 4, W - 8, H - 16] as const;
    const expected = mean(reference, ...region);
    // the profile matters: it lifts the pixels far above their stored values
    const stored = mean({ data: greyPixels(), width: W, channels: 1 }, ...region);
    expect(expected - stored).toBeGreaterThan(20);
    const out = await run(input, ops);
    expect(Math.abs(mean(out, region[0] + left, region[1] + top, region[2], region[3]) - expected)).toBeLessThan(1);
  });

  it("still paints the colour asked for, not its grey level", async () => {
    const out = await run(await make(), [{ op: "border", width: 2, color: "red" }]);
    expect([...out.data.subarray(0, 3)]).toEqual([255, 0, 0]);
  });
});

describe("a greyscale image without a profile", () => {
  it("is still painted in colour (sRGB) by a border", async () => {
    const jpeg = await sharp(greyPixels(), { raw: { width: W, height: H, channels: 1 } })
      .toColourspace("b-w")
      .jpeg()
      .toBuffer();
    expect((await sharp(jpeg).metadata()).channels).toBe(1);
    const out = await run(jpeg, [{ op: "border", width: 2, color: "red" }]);
    expect([...out.data.subarray(0, 3)]).toEqual([255, 0, 0]);
  });
});
