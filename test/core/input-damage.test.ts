// Damaged inputs fail CORRUPT_IMAGE with the reason, and valid ones pass: a GIF cut short (libvips
// reads the frames before the cut without a warning), a PNG whose IHDR CRC is wrong (the reason is
// not on libvips' first line, or not in the PNG writer's message at all), a TIFF cut before its
// directory (libvips calls it an unknown format), an SVG whose prologue fills the first 4 KB.
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, type Limits } from "../../src/core/limits.js";
import { probeImage, processImage } from "../../src/core/pipeline.js";
import { validatePlan } from "../../src/core/plan.js";
import { gifDamage } from "../../src/core/probe.js";
import { sharpError } from "../../src/core/sharp-errors.js";
import { failure } from "../helpers/errors.js";
import { makeImage } from "../helpers/images.js";

const limits: Limits = { ...DEFAULT_LIMITS, processTimeoutMs: 20_000 };
const run = (input: Buffer, ops: unknown[], l: Limits = limits) =>
  processImage(input, validatePlan(ops, l), { limits: l });
const FLIP = [{ op: "flip" }];

describe("a GIF cut short", () => {
  const FRAMES = 30;
  let gif: Buffer;
  /** Where each frame's graphic control extension starts (cgif writes one before every frame). */
  let frameAt: number[];

  beforeAll(async () => {
    const W = 16;
    const raw = Buffer.alloc(W * W * FRAMES * 3);
    for (let k = 0; k < FRAMES; k++)
      for (let i = 0; i < W * W; i++) raw.set([(k * 8) % 256, (i * 7) % 256, 255 - k * 8], (k * W * W + i) * 3);
    gif = await sharp(raw, { raw: { width: W, height: W * FRAMES, channels: 3, pageHeight: W } })
      .gif({ delay: Array(FRAMES).fill(100), loop: 0 })
      .toBuffer();
    frameAt = [];
    for (let i = 0; i + 2 < gif.length; i++)
      if (gif[i] === 0x21 && gif[i + 1] === 0xf9 && gif[i + 2] === 0x04) frameAt.push(i);
    expect(frameAt).toHaveLength(FRAMES);
    expect(gif[gif.length - 1]).toBe(0x3b);
    expect((await sharp(gif).metadata()).pages).toBe(FRAMES);
  });

  it("in the middle of its 4th frame: CORRUPT_IMAGE (libvips alone gives 3 frames and no warning)", async () => {
    const cut = gif.subarray(0, (frameAt[3] + frameAt[4]) >> 1);
    expect((await sharp(cut).metadata()).pages).toBe(3);
    const message = "the GIF is damaged: it ends inside frame 4, with 3 whole frames before it (the file is cut short)";
    // Started one at a time: promises made up front would reject before they are awaited.
    const starts = [
      () => run(cut, FLIP),
      () => run(cut, [...FLIP, { op: "format", format: "png" }]),
      () => probeImage(cut, limits),
    ];
    for (const start of starts) {
      const e = await failure(start());
      expect(e.code).toBe("CORRUPT_IMAGE");
      expect(e.message).toBe(message);
    }
  });

  it("between two frames (no trailer): CORRUPT_IMAGE", async () => {
    const e = await failure(run(gif.subarray(0, frameAt[3]), FLIP));
    expect(e.code).toBe("CORRUPT_IMAGE");
    expect(e.message).toBe("the GIF is damaged: it ends after frame 3 without the GIF trailer: the file is cut short");
  });

  it("inside its header or colour table: CORRUPT_IMAGE", async () => {
    for (const length of [10, 40]) {
      const e = await failure(probeImage(gif.subarray(0, length), limits));
      expect(e.code, String(length)).toBe("CORRUPT_IMAGE");
    }
  });

  it("a whole GIF, and one with bytes after its trailer (zeros, text), keep every frame", async () => {
    for (const tail of [Buffer.alloc(0), Buffer.alloc(2772), Buffer.from("trailing junk")]) {
      const out = await run(Buffer.concat([gif, tail]), FLIP);
      expect(out.pages, `${tail.length} bytes after the trailer`).toBe(FRAMES);
    }
  });

  it("a byte that starts no block where the trailer should be: CORRUPT_IMAGE naming it", async () => {
    const bad = Buffer.from(gif);
    bad[bad.length - 1] = 0x00;
    const e = await failure(run(bad, FLIP));
    expect(e.code).toBe("CORRUPT_IMAGE");
    expect(e.message).toBe(
      `the GIF is damaged: byte ${(bad.length - 1).toLocaleString("en-US")} (0x00) after frame ${FRAMES} starts no GIF block`,
    );
  });

  it("gifDamage walks global and local colour tables, extensions and GIF87a", () => {
    // 2x1 GIF87a, global table of 2 colours, a comment extension, one frame with a local table of 4
    const gif87 = Buffer.concat(
      [
        [...Buffer.from("GIF87a"), 2, 0, 1, 0, 0x80, 0, 0],
        [0, 0, 0, 255, 255, 255],
        [0x21, 0xfe, 3, 0x61, 0x62, 0x63, 0],
        [0x2c, 0, 0, 0, 0, 2, 0, 1, 0, 0x81],
        [0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255],
        [2, 2, 0x44, 0x01, 0],
        [0x3b],
      ].map((part) => Buffer.from(part)),
    );
    expect(gifDamage(gif87)).toBeUndefined();
    expect(gifDamage(gif87.subarray(0, gif87.length - 1))).toBe(
      "it ends after frame 1 without the GIF trailer: the file is cut short",
    );
    expect(gifDamage(gif87.subarray(0, 24))).toBe(
      "it ends inside an extension block after frame 0 (the file is cut short)",
    );
    expect(gifDamage(gif87.subarray(0, 40))).toBe(
      "it ends inside frame 1, with 0 whole frames before it (the file is cut short)",
    );
  });
});

describe("a PNG with a bad IHDR CRC names the CRC error", () => {
  let bad: Buffer;
  beforeAll(async () => {
    bad = Buffer.from(await makeImage({ width: 40, height: 30, gradient: true }));
    bad[29] ^= 0xff; // the IHDR chunk's CRC
  });

  it.each(["png", "jpeg", "webp"])("whatever the output (%s)", async (format) => {
    const e = await failure(
      run(bad, [
        { op: "resize", width: 20 },
        { op: "format", format },
      ]),
    );
    expect(e.code).toBe("CORRUPT_IMAGE");
    // PNG output: libvips' writer said only "vips2png: unable to write to target target"
    expect(e.message).toBe("the image could not be decoded: IHDR: CRC error");
  });

  it("sharpError keeps the line naming the cause, not the failOn or tile lines around it", () => {
    const raw =
      "Warning treated as error due to failOn setting\nIHDR: CRC error\nerror in tile 0 x 0\nerror in tile 0 x 10";
    expect(sharpError(new Error(raw), "decode").message).toBe("the image could not be decoded: IHDR: CRC error");
    const written = "VipsJpeg: premature end of JPEG image\nvips2png: unable to write to target target";
    expect(sharpError(new Error(written), "decode").message).toBe(
      "the image could not be decoded: VipsJpeg: premature end of JPEG image",
    );
  });
});

describe("a TIFF cut before its directory", () => {
  it("is a damaged TIFF (CORRUPT_IMAGE), not 'not an image format imgedit reads'", async () => {
    const tiff = await sharp(await makeImage({ width: 64, height: 64, gradient: true }))
      .tiff({ compression: "none" })
      .toBuffer();
    const ifd = tiff.readUInt32LE(4);
    expect(ifd).toBeGreaterThan(tiff.length / 2); // libtiff writes the directory after the pixels
    const cut = tiff.subarray(0, tiff.length >> 1);
    for (const start of [() => probeImage(cut, limits), () => run(cut, FLIP)]) {
      const e = await failure(start());
      expect(e.code).toBe("CORRUPT_IMAGE");
      expect(e.message).toBe("the input starts like a TIFF file but cannot be read as one: it is damaged or cut short");
    }
  });

  it("bytes that are no image at all are still UNSUPPORTED_FORMAT", async () => {
    const e = await failure(probeImage(Buffer.from("just some text, not an image"), limits));
    expect(e.code).toBe("UNSUPPORTED_FORMAT");
    expect(e.message).toBe("the input is not an image format imgedit reads");
  });
});

describe("an SVG whose prologue runs past the first 4 KB", () => {
  const SVG_ON: Limits = { ...limits, allowSvg: true };
  const NS = 'xmlns="http://www.w3.org/2000/svg"';
  const body = `<svg ${NS} width="10" height="10"><rect width="10" height="10" fill="red"/></svg>`;
  const comment = (bytes: number) => `<!-- ${"licence text ".repeat(Math.ceil(bytes / 13))} -->\n`;

  it("is read when the <svg> root comes within 64 KB (a 5 KB comment, a long DOCTYPE)", async () => {
    const inputs = [
      `<?xml version="1.0"?>\n${comment(5000)}${body}`,
      `${comment(3000)}${comment(3000)}<?pi x?>${comment(20_000)}${body}`,
      `${comment(4080)}<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">${body}`,
    ];
    for (const text of inputs) {
      const out = await run(Buffer.from(text), [{ op: "format", format: "png" }], SVG_ON);
      expect([out.width, out.height, out.format]).toEqual([10, 10, "png"]);
    }
  });

  it("is refused past 64 KB, and XML that is no SVG stays refused however long its prologue", async () => {
    const inputs = [
      `${comment(70_000)}${body}`,
      `${comment(5000)}<html><body>${body}</body></html>`,
      `${comment(5000)}<!DOCTYPE svg [<!ENTITY a "aaaa">]><svg ${NS}>&a;</svg>`,
      `${comment(5000)}<!-- never closed ${body}`,
    ];
    for (const text of inputs) {
      const e = await failure(probeImage(Buffer.from(text), SVG_ON));
      expect(e.code).toBe("UNSUPPORTED_FORMAT");
      expect(e.message).toMatch(/^the input is XML but not an SVG imgedit reads: .* within its first 64 KB/);
    }
  });

  it("with SVG off, is refused as SVG before any parser sees it", async () => {
    const e = await failure(probeImage(Buffer.from(`${comment(5000)}${body}`), limits));
    expect(e.code).toBe("UNSUPPORTED_FORMAT");
    expect(e.message).toBe("SVG input is disabled on this server (ALLOW_SVG=false)");
  });
});
