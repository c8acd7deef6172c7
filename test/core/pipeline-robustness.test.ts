// Regressions found by the hardening pass (test/hardening, docs/RELIABILITY.md): sizes reported
// for animations whose frames the encoder merges, hostile frame durations, decoder errors that
// surface in a later step, untyped errors escaping processImage.
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { ImageEditError } from "../../src/core/errors.js";
import { DEFAULT_LIMITS, type Limits } from "../../src/core/limits.js";
import { type ProcessOptions, processImage } from "../../src/core/pipeline.js";
import { validatePlan } from "../../src/core/plan.js";
import { sharpError } from "../../src/core/sharp-errors.js";
import { nearlyStillGif } from "../helpers/images.js";

const limits: Limits = DEFAULT_LIMITS;
const run = (input: Buffer, plan: unknown, opts: Partial<ProcessOptions> = {}) =>
  processImage(input, validatePlan(plan, limits), { limits, ...opts });

describe("animations whose frames the encoder merges", () => {
  it.each(["gif", "webp"] as const)("%s: reports the written file's size and page count", async (format) => {
    const input = await nearlyStillGif();
    expect((await sharp(input).metadata()).pages).toBe(3);
    const out = await run(input, [
      { op: "resize", width: 4 },
      { op: "format", format },
    ]);
    const file = await sharp(out.data).metadata();
    const pages = file.pages ?? 1;
    expect(out).toMatchObject({ width: file.width, height: file.pageHeight ?? file.height, pages });
    expect(out.height).toBe(3);
  });
});

describe("animation timing from a hostile header", () => {
  /** A 2-frame animated WebP whose first frame claims `ms` (ANMF durations are 24-bit). */
  async function webpWithDuration(ms: number): Promise<Buffer> {
    const strip = Buffer.alloc(16 * 32 * 4, 255);
    strip.fill(0, 16 * 16 * 4);
    const webp = await sharp(strip, { raw: { width: 16, height: 32, channels: 4, pageHeight: 16 }, pages: -1 })
      .webp({ delay: [100, 100], loop: 0, lossless: true })
      .toBuffer();
    const anmf = webp.indexOf("ANMF", 0, "latin1");
    const out = Buffer.from(webp);
    out.writeUIntLE(ms, anmf + 8 + 12, 3);
    return out;
  }

  it("a frame duration over 65535 ms is clamped to what the encoder accepts", async () => {
    const input = await webpWithDuration(131_192);
    expect((await sharp(input).metadata()).delay).toEqual([131_192, 100]);
    const out = await run(input, [
      { op: "resize", width: 8 },
      { op: "format", format: "webp" },
    ]);
    expect(out).toMatchObject({ format: "webp", width: 8, height: 8, pages: 2 });
    expect((await sharp(out.data).metadata()).delay).toEqual([65_535, 100]);
  });

  it("any other error escaping the pipeline is an ImageEditError (here an encoder option sharp refuses)", async () => {
    const input = await sharp({ create: { width: 8, height: 8, channels: 3, background: "#000" } })
      .jpeg()
      .toBuffer();
    const err = await run(input, [{ op: "resize", width: 4 }], { quality: 500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageEditError);
    expect(err).toMatchObject({ code: "PROCESSING_FAILED" });
  });
});

describe("decoder errors are the input's fault wherever they surface", () => {
  it.each([
    "webp2vips: unable to read pixels",
    "tiff2vips: ZLib error: Z_DATA_ERROR",
    "VipsJpeg: Premature end of JPEG file",
    "gifload: no frames in GIF",
    "heifload: Invalid input: Unspecified: Bitstream not supported by this decoder",
    "source: bad seek to 1024",
    "VipsForeignLoad: Warning treated as error due to failOn setting",
    "pngload_buffer: libspng read error",
  ])("%s -> CORRUPT_IMAGE in either phase", (message) => {
    for (const phase of ["decode", "process"] as const)
      expect(sharpError(new Error(message), phase).code, phase).toBe("CORRUPT_IMAGE");
  });

  it("an encoder that cannot write because its input is broken: CORRUPT_IMAGE while decoding only", () => {
    const e = new Error("vips2png: unable to write to target");
    expect(sharpError(e, "decode").code).toBe("CORRUPT_IMAGE");
    expect(sharpError(e, "process").code).toBe("PROCESSING_FAILED");
    expect(sharpError(new Error("extract_area: bad extract area"), "process").code).toBe("PROCESSING_FAILED");
  });

  it("a TIFF whose bands libvips cannot name (SamplesPerPixel 1, RGB) fails UNSUPPORTED_FORMAT, not as a step failure", async () => {
    const tiff = Buffer.from(
      await sharp({ create: { width: 64, height: 48, channels: 3, background: "#369" } })
        .tiff({ compression: "lzw" })
        .toBuffer(),
    );
    const ifd = tiff.readUInt32LE(4);
    for (let i = 0; i < tiff.readUInt16LE(ifd); i++)
      if (tiff.readUInt16LE(ifd + 2 + i * 12) === 277) tiff.writeUInt16LE(1, ifd + 2 + i * 12 + 8);
    expect((await sharp(tiff).metadata()).space).toBe("multiband");
    for (const op of [{ op: "resize", width: 32 }, { op: "grayscale" }]) {
      const err = await run(tiff, [op]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ImageEditError);
      expect(err, op.op).toMatchObject({ code: "UNSUPPORTED_FORMAT" });
    }
    expect(sharpError(new Error("vips_colourspace: no known route from 'multiband' to 'srgb'"), "process").code).toBe(
      "PROCESSING_FAILED",
    );
  });

  it("a PNG cut inside its header fails CORRUPT_IMAGE with a reason, though libvips gives none", async () => {
    const png = await sharp({ create: { width: 10, height: 10, channels: 3, background: "red" } })
      .png()
      .toBuffer();
    const err = await run(png.subarray(0, 33), [{ op: "resize", width: 5 }]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "CORRUPT_IMAGE" });
    expect((err as Error).message).toBe(
      "the image header is corrupt: the file ends before its header does, or the header is unreadable",
    );
  });

  it("an AVIF whose ispe box claims 0x7fffffff px fails CORRUPT_IMAGE, not as a resize failure", async () => {
    const avif = Buffer.from(
      await sharp({ create: { width: 64, height: 48, channels: 3, background: "#369" } })
        .avif({ effort: 0 })
        .toBuffer(),
    );
    const ispe = avif.indexOf("ispe", 0, "latin1");
    avif.writeUInt32BE(0x7fffffff, ispe + 8);
    avif.writeUInt32BE(0x7fffffff, ispe + 12);
    const err = await run(avif, [{ op: "resize", width: 32 }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageEditError);
    expect(err).toMatchObject({ code: "CORRUPT_IMAGE" });
  });
});
