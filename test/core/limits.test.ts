// Every limit, and every kind of bad input, ends in a typed error with a message a person can act on.
import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { ImageEditError } from "../../src/core/errors.js";
import { DEFAULT_LIMITS, type Limits } from "../../src/core/limits.js";
import { probeImage, processImage } from "../../src/core/pipeline.js";
import { validatePlan } from "../../src/core/plan.js";
import { makeImage } from "../helpers/images.js";

const run = (input: Buffer, plan: unknown, limits: Limits = DEFAULT_LIMITS) =>
  processImage(input, validatePlan(plan, limits), { limits });

/** A real small JPEG whose header (SOF0) claims another size: nothing big is ever encoded. */
async function jpegClaiming(width: number, height: number): Promise<Buffer> {
  const small = Buffer.from(
    await sharp(await makeImage({ width: 16, height: 16 }))
      .jpeg()
      .toBuffer(),
  );
  for (let i = 2; i < small.length - 9; i++) {
    if (small[i] === 0xff && small[i + 1] >= 0xc0 && small[i + 1] <= 0xc2) {
      small.writeUInt16BE(height, i + 5);
      small.writeUInt16BE(width, i + 7);
      return small;
    }
  }
  throw new Error("no SOF marker");
}

async function expectError(p: Promise<unknown>, code: string, message: string | RegExp) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImageEditError);
  const e = err as ImageEditError;
  expect(e.code).toBe(code);
  if (typeof message === "string") expect(e.message).toBe(message);
  else expect(e.message).toMatch(message);
}

describe("MAX_IMAGE_SIZE (bytes)", () => {
  it("refuses a larger input before looking at it", async () => {
    const input = await makeImage({ width: 64, height: 64, gradient: true });
    const limits = { ...DEFAULT_LIMITS, maxImageBytes: 1000 };
    await expectError(
      run(input, [{ op: "resize", width: 10 }], limits),
      "IMAGE_TOO_LARGE",
      new RegExp(
        `^image is \\d+\\.\\d KB \\(${input.length.toLocaleString("en-US")} bytes\\); the limit is 1000 B \\(MAX_IMAGE_SIZE\\)$`,
      ),
    );
    await expectError(probeImage(input, limits), "IMAGE_TOO_LARGE", /the limit is/);
  });
});

describe("MAX_DIMENSIONS on input (from the header, before decoding)", () => {
  it("a header claiming 20000x14000 fails fast with the sizes in the message", async () => {
    const input = await jpegClaiming(20000, 14000);
    expect(input.length).toBeLessThan(2000);
    expect(await sharp(input, { limitInputPixels: false }).metadata()).toMatchObject({ width: 20000, height: 14000 });
    await expectError(
      run(input, [{ op: "resize", width: 100 }]),
      "DIMENSIONS_TOO_LARGE",
      "image is 20000x14000; the limit is 10000 px per side",
    );
    await expectError(probeImage(input, DEFAULT_LIMITS), "DIMENSIONS_TOO_LARGE", /20000x14000/);
  });
  it("uses the configured limit", async () => {
    const input = await makeImage({ width: 300, height: 200 });
    await expectError(
      run(input, [{ op: "resize", width: 10 }], { ...DEFAULT_LIMITS, maxDimension: 100 }),
      "DIMENSIONS_TOO_LARGE",
      "image is 300x200; the limit is 100 px per side",
    );
  });
});

describe("MAX_DIMENSIONS on output (predicted before the step runs)", () => {
  it("a resize to 20000 px fails with DIMENSIONS_TOO_LARGE", async () => {
    await expectError(
      run(await makeImage({ width: 40, height: 30 }), [{ op: "resize", width: 20000 }]),
      "DIMENSIONS_TOO_LARGE",
      "operations[0] (resize) would make the image 20000x15000; the limit is 10000 px per side",
    );
  });
  it("scale, pad, border and rotate are checked the same way, at their step", async () => {
    const small = { ...DEFAULT_LIMITS, maxDimension: 100 };
    const input = await makeImage({ width: 80, height: 60 });
    await expectError(
      run(input, [{ op: "scale", factor: 2 }], small),
      "DIMENSIONS_TOO_LARGE",
      /operations\[0\] \(scale\) would make the image 160x120/,
    );
    await expectError(
      run(input, [{ op: "flip" }, { op: "pad", left: 30 }], small),
      "DIMENSIONS_TOO_LARGE",
      /operations\[1\] \(pad\) would make the image 110x60; the limit is 100 px per side/,
    );
    await expectError(run(input, [{ op: "border", width: 15 }], small), "DIMENSIONS_TOO_LARGE", /110x90/);
    await expectError(
      run(input, [{ op: "rotate", angle: 45 }], { ...small, maxDimension: 95 }),
      "DIMENSIONS_TOO_LARGE",
      "operations[0] (rotate) would make the image 99x99; the limit is 95 px per side",
    );
  });
  it("the maxWidth option is not a way around it but a bound", async () => {
    const out = await processImage(
      await makeImage({ width: 40, height: 30 }),
      validatePlan([{ op: "scale", factor: 2 }], DEFAULT_LIMITS),
      {
        limits: DEFAULT_LIMITS,
        maxWidth: 60,
      },
    );
    expect(out.width).toBe(60);
  });
});

describe("input pixels (decompression bombs)", () => {
  it("refuses an image with more pixels than allowed, from the header", async () => {
    const input = await makeImage({ width: 2000, height: 1000, color: "#000000" });
    await expectError(
      run(input, [{ op: "resize", width: 10 }], { ...DEFAULT_LIMITS, maxInputPixels: 1_000_000 }),
      "PIXEL_LIMIT",
      "image has 2,000,000 pixels (2000x1000); the limit is 1,000,000",
    );
  });
  it("counts every frame of an animation", async () => {
    const input = await makeImage({ width: 100, height: 100, pages: 5, format: "gif" });
    await expectError(
      run(input, [{ op: "resize", width: 10 }], { ...DEFAULT_LIMITS, maxInputPixels: 40_000 }),
      "PIXEL_LIMIT",
      "image has 50,000 pixels (100x100 x 5 frames); the limit is 40,000",
    );
  });
});

/** An animated GIF of `frames` 2x2 frames, alternating two colours (so none merge): a few bytes each. */
function tinyFramesGif(frames: number): Promise<Buffer> {
  const strip = Buffer.alloc(frames * 4 * 3);
  for (let k = 0; k < frames; k++) strip.fill(k % 2 ? 200 : 20, k * 12, k * 12 + 12);
  return sharp(strip, { raw: { width: 2, height: frames * 2, channels: 3, pageHeight: 2 } })
    .gif({ delay: Array(frames).fill(20) })
    .toBuffer();
}

describe("MAX_FRAMES (animations)", () => {
  it("refuses 1001 tiny frames by default, from the header, though they are far under the pixel limit", async () => {
    const input = await tinyFramesGif(1001);
    expect(input.length).toBeLessThan(100_000);
    await expectError(
      run(input, [{ op: "rotate", angle: 30 }]),
      "PIXEL_LIMIT",
      "the animation has 1,001 frames; the limit is 1,000",
    );
    await expectError(probeImage(input, DEFAULT_LIMITS), "PIXEL_LIMIT", /1,001 frames/);
  });
  it("accepts 1000 frames, keeps them all, and follows the configured limit", async () => {
    const input = await tinyFramesGif(1000);
    const out = await run(input, [{ op: "resize", width: 4 }]);
    expect(out).toMatchObject({ format: "gif", pages: 1000, width: 4, height: 4 });
    await expectError(
      run(input, [{ op: "resize", width: 4 }], { ...DEFAULT_LIMITS, maxFrames: 10 }),
      "PIXEL_LIMIT",
      "the animation has 1,000 frames; the limit is 10",
    );
  });
  it("does not count the pages of a multi-page TIFF, which is read as one image", async () => {
    const strip = Buffer.alloc(8 * 8 * 3 * 3, 90);
    const tiff = await sharp(strip, { raw: { width: 8, height: 24, channels: 3, pageHeight: 8 } })
      .tiff()
      .toBuffer();
    expect((await sharp(tiff).metadata()).pages).toBe(3);
    const out = await run(tiff, [{ op: "resize", width: 4 }], { ...DEFAULT_LIMITS, maxFrames: 1 });
    expect(out.width).toBe(4);
  });
});

describe("operations per plan", () => {
  it("TOO_MANY_OPERATIONS names the count and the limit", () => {
    const plan = Array.from({ length: 31 }, () => ({ op: "flip" }));
    expect(() => validatePlan(plan, DEFAULT_LIMITS)).toThrowError(
      expect.objectContaining({ code: "TOO_MANY_OPERATIONS", message: "the plan has 31 operations; the limit is 30" }),
    );
    expect(validatePlan(plan.slice(0, 30), DEFAULT_LIMITS)).toHaveLength(30);
  });
  it("processImage holds a plan built in code to the same cap", async () => {
    const plan = validatePlan(
      Array.from({ length: 30 }, () => ({ op: "flip" })),
      DEFAULT_LIMITS,
    );
    await expectError(
      processImage(await makeImage(), plan, { limits: { ...DEFAULT_LIMITS, maxOperations: 5 } }),
      "TOO_MANY_OPERATIONS",
      "the plan has 30 operations; the limit is 5",
    );
  });
});

describe("processing time", () => {
  it("a plan that outlives processTimeoutMs fails with PROCESSING_TIMEOUT", async () => {
    const input = await makeImage({ width: 1500, height: 1500, gradient: true });
    await expectError(
      run(
        input,
        [
          { op: "rotate", angle: 33 },
          { op: "resize", width: 3000 },
          { op: "rotate", angle: 17 },
        ],
        {
          ...DEFAULT_LIMITS,
          processTimeoutMs: 1,
        },
      ),
      "PROCESSING_TIMEOUT",
      "image processing took longer than 0.001s",
    );
  });
});

describe("unsupported and corrupt input", () => {
  const plan = [{ op: "resize", width: 10 }];
  it("random bytes: UNSUPPORTED_FORMAT", async () => {
    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251));
    await expectError(run(bytes, plan), "UNSUPPORTED_FORMAT", "the input is not an image format imgedit reads");
  });
  it("a text file: UNSUPPORTED_FORMAT", async () => {
    await expectError(
      run(Buffer.from("hello, this is not an image\n".repeat(20)), plan),
      "UNSUPPORTED_FORMAT",
      /not an image/,
    );
  });
  it("an empty input: UNSUPPORTED_FORMAT", async () => {
    await expectError(run(Buffer.alloc(0), plan), "UNSUPPORTED_FORMAT", "the input is empty (0 bytes)");
  });
  it("a truncated JPEG: CORRUPT_IMAGE", async () => {
    const jpeg = await makeImage({ width: 200, height: 200, gradient: true, format: "jpeg" });
    await expectError(
      run(jpeg.subarray(0, Math.floor(jpeg.length * 0.6)), plan),
      "CORRUPT_IMAGE",
      /could not be decoded/,
    );
  });
  it("a JPEG with a garbage header: CORRUPT_IMAGE", async () => {
    const garbage = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(400, 0x41)]);
    await expectError(run(garbage, plan), "CORRUPT_IMAGE", /corrupt/);
  });
  it("a truncated PNG and GIF: CORRUPT_IMAGE", async () => {
    const png = await makeImage({ width: 200, height: 200, gradient: true, format: "png" });
    await expectError(run(png.subarray(0, Math.floor(png.length / 2)), plan), "CORRUPT_IMAGE", /./);
    const gif = await makeImage({ width: 100, height: 100, gradient: true, format: "gif" });
    await expectError(run(gif.subarray(0, Math.floor(gif.length / 2)), plan), "CORRUPT_IMAGE", /./);
  });
  it("SVG without ALLOW_SVG: UNSUPPORTED_FORMAT", async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>');
    await expectError(run(svg, plan), "UNSUPPORTED_FORMAT", "SVG input is disabled on this server (ALLOW_SVG=false)");
  });
});

describe("SVG, when allowed, never reaches out", () => {
  it("external images in an SVG are not fetched (librsvg), the rest renders", async () => {
    let requests = 0;
    const server = createServer((_req, res) => {
      requests++;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const svg = Buffer.from(
        `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="40" height="20">
           <rect width="40" height="20" fill="#00ff00"/>
           <image x="0" y="0" width="20" height="20" href="http://127.0.0.1:${port}/a.png"/>
           <image x="20" y="0" width="20" height="20" xlink:href="http://127.0.0.1:${port}/b.png"/>
         </svg>`,
      );
      const out = await run(svg, [{ op: "resize", width: 40 }], { ...DEFAULT_LIMITS, allowSvg: true });
      expect(out).toMatchObject({ format: "png", width: 40, height: 20 });
      const { data } = await sharp(out.data).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      expect([...data.subarray(0, 3)]).toEqual([0, 255, 0]);
      expect(requests).toBe(0);
      // Nor local files: a red PNG on disk, referenced by file:// URL, is not drawn.
      const redFile = path.join(await mkdtemp(path.join(os.tmpdir(), "imgedit-svg-")), "red.png");
      await writeFile(redFile, await makeImage({ width: 20, height: 20, color: "red" }));
      const local = Buffer.from(
        `<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20"><rect width="20" height="20" fill="#00ff00"/><image width="20" height="20" href="file://${redFile}"/></svg>`,
      );
      const drawn = await run(local, [{ op: "resize", width: 20 }], { ...DEFAULT_LIMITS, allowSvg: true });
      const px = await sharp(drawn.data).removeAlpha().raw().toBuffer();
      expect([...px.subarray(0, 3)]).toEqual([0, 255, 0]);
    } finally {
      server.close();
    }
  });
});

describe("validatePlan", () => {
  it("names the step and field of a bad parameter", () => {
    expect(() => validatePlan([{ op: "flip" }, { op: "resize", width: -5 }], DEFAULT_LIMITS)).toThrowError(
      expect.objectContaining({
        code: "INVALID_OPERATION",
        field: "operations[1].width",
        message: expect.stringMatching(/^operations\[1\]\.width: /),
      }),
    );
    expect(() => validatePlan([{ op: "resize" }], DEFAULT_LIMITS)).toThrowError(
      expect.objectContaining({ message: "operations[0].width: resize needs a width, a height, or both" }),
    );
    expect(() => validatePlan([{ op: "rotate", angle: 90, colour: "red" }], DEFAULT_LIMITS)).toThrowError(
      expect.objectContaining({ code: "INVALID_OPERATION", message: expect.stringContaining("operations[0]") }),
    );
  });
  it("suggests the closest name for an unknown operation", () => {
    expect(() => validatePlan([{ op: "rezise", width: 5 }], DEFAULT_LIMITS)).toThrowError(
      expect.objectContaining({
        message: expect.stringMatching(/^operations\[0\]\.op: unknown operation "rezise" \(did you mean "resize"\?\)/),
      }),
    );
  });
  it("refuses non-arrays, empty plans and non-object steps", () => {
    for (const bad of [{ op: "flip" }, [], [42], "resize"]) {
      expect(() => validatePlan(bad, DEFAULT_LIMITS)).toThrowError(
        expect.objectContaining({ code: "INVALID_OPERATION" }),
      );
    }
  });
  it("fills defaults", () => {
    expect(validatePlan([{ op: "resize", width: 10 }], DEFAULT_LIMITS)).toEqual([
      { op: "resize", width: 10, fit: "inside", withoutEnlargement: false },
    ]);
  });
});
