// The pipeline around the operations: formats, quality, colour, metadata, animation, progress.
import sharp from "sharp";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, type Limits } from "../../src/core/limits.js";
import { getOperation } from "../../src/core/operations.js";
import { notImplemented } from "../../src/core/ops/define.js";
import { type ProcessOptions, probeImage, processImage } from "../../src/core/pipeline.js";
import { validatePlan } from "../../src/core/plan.js";
import { describeColor, makeImage, near, pixelAt, readPixels } from "../helpers/images.js";

const limits: Limits = DEFAULT_LIMITS;
const run = (input: Buffer, plan: unknown, opts: Partial<ProcessOptions> = {}) =>
  processImage(input, validatePlan(plan, opts.limits ?? limits), { limits, ...opts });

describe("output format", () => {
  it.each([
    ["jpeg", "jpeg", "image/jpeg", "jpg"],
    ["png", "png", "image/png", "png"],
    ["webp", "webp", "image/webp", "webp"],
    ["gif", "gif", "image/gif", "gif"],
    ["tiff", "tiff", "image/tiff", "tiff"],
    ["avif", "avif", "image/avif", "avif"],
  ] as const)("defaults to the input's format: %s -> %s", async (input, format, contentType, ext) => {
    const result = await run(await makeImage({ format: input }), [{ op: "resize", width: 32 }]);
    expect(result).toMatchObject({ format, contentType, ext, width: 32, height: 24, pages: 1 });
    const meta = await sharp(result.data).metadata();
    expect(meta.format === "heif" ? "avif" : meta.format).toBe(format);
    expect(result.bytes).toBe(result.data.length);
  });

  it("JPEG output uses DEFAULT_QUALITY (90) unless the plan or the options say otherwise", async () => {
    const input = await makeImage({ width: 120, height: 90, gradient: true, format: "jpeg" });
    const at = (q: number) => sharp(input).jpeg({ quality: q }).toBuffer();
    // With no pixel step the output is the input re-encoded: byte-for-byte what sharp writes at q90.
    const plain = await run(input, [{ op: "metadata", keep: false }]);
    expect(plain.data.equals(await at(90))).toBe(true);
    const q40 = await run(input, [{ op: "format", format: "jpeg", quality: 40 }]);
    expect(q40.data.equals(await at(40))).toBe(true);
    const opt = await run(input, [{ op: "metadata", keep: false }], { quality: 55 });
    expect(opt.data.equals(await at(55))).toBe(true);
    const configured = await run(input, [{ op: "metadata", keep: false }], {
      limits: { ...limits, defaultQuality: 70 },
    });
    expect(configured.data.equals(await at(70))).toBe(true);
  });

  it("format steps convert, and the options' outputFormat wins over the plan", async () => {
    const input = await makeImage({ format: "png" });
    expect((await run(input, [{ op: "format", format: "webp" }])).format).toBe("webp");
    expect((await run(input, [{ op: "format", format: "jpg" }])).format).toBe("jpeg");
    const over = await run(input, [{ op: "format", format: "webp" }], { outputFormat: "avif" });
    expect(over.format).toBe("avif");
    expect((await sharp(over.data).metadata()).compression).toBe("av1");
  });

  it("lossless webp keeps exact pixels", async () => {
    const input = await makeImage({ width: 32, height: 32, gradient: true });
    const out = await run(input, [{ op: "format", format: "webp", lossless: true }]);
    const a = await readPixels(input);
    const b = await readPixels(out.data);
    expect(b.data.equals(a.data)).toBe(true);
  });

  it("transparent areas become white in JPEG", async () => {
    const input = await makeImage({ width: 10, height: 10, color: "red", alpha: 0 });
    const out = await run(input, [{ op: "format", format: "jpeg" }]);
    const px = await readPixels(out.data);
    expect(px.channels).toBe(3);
    expect(near(pixelAt(px, 5, 5), [255, 255, 255], 3)).toBe(true);
  });

  it("TIFF with a quality (JPEG-in-TIFF, no alpha) flattens onto white like JPEG; without one it keeps alpha", async () => {
    // transparent black | half-transparent red | opaque blue, in thirds
    const width = 48;
    const height = 16;
    const raw = Buffer.alloc(width * height * 4);
    for (let i = 0; i < width * height; i++) {
      const x = i % width;
      raw.set(x < 16 ? [0, 0, 0, 0] : x < 32 ? [200, 0, 0, 128] : [30, 60, 200, 255], i * 4);
    }
    const input = await sharp(raw, { raw: { width, height, channels: 4 } })
      .png()
      .toBuffer();
    const flat = await readPixels(await sharp(input).flatten({ background: "#ffffff" }).png().toBuffer());
    for (const quality of [80, undefined]) {
      const out = await run(input, [{ op: "format", format: "tiff", quality }]);
      expect(out.format).toBe("tiff");
      const px = await readPixels(out.data);
      if (quality === undefined) {
        expect(px.channels).toBe(4);
        expect(px.data.equals((await readPixels(input)).data)).toBe(true);
        continue;
      }
      expect(px.channels).toBe(3);
      let sum = 0;
      for (let i = 0; i < px.data.length; i++) sum += Math.abs(px.data[i] - flat.data[i]);
      expect(sum / px.data.length).toBeLessThan(4); // JPEG loss only (it was all black)
      expect(near(pixelAt(px, 6, 8), [255, 255, 255], 6)).toBe(true);
      expect(near(pixelAt(px, 24, 8), [227, 127, 127], 12)).toBe(true);
    }
  });

  it("SVG input is refused by default and rendered to PNG when allowed", async () => {
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="30" height="20"><rect width="30" height="20" fill="#0000ff"/></svg>',
    );
    await expect(run(svg, [{ op: "resize", width: 60 }])).rejects.toMatchObject({ code: "UNSUPPORTED_FORMAT" });
    const allowed = { ...limits, allowSvg: true };
    const out = await run(svg, [{ op: "resize", width: 60 }], { limits: allowed });
    expect(out).toMatchObject({ format: "png", width: 60, height: 40 });
    expect(near(pixelAt(await readPixels(out.data), 30, 20), [0, 0, 255], 3)).toBe(true);
  });

  it("maxWidth/maxHeight options bound the result after the plan", async () => {
    const out = await run(await makeImage({ width: 64, height: 48 }), [{ op: "scale", factor: 2 }], {
      maxWidth: 50,
      maxHeight: 50,
    });
    expect([out.width, out.height]).toEqual([50, 38]);
  });
});

describe("the hot path is sharp itself", () => {
  it("a one-step plan gives byte-for-byte what a bare sharp chain gives (shrink-on-load, direct encode)", async () => {
    const input = await makeImage({ width: 900, height: 600, gradient: true, format: "jpeg" });
    const ours = await run(input, [
      { op: "resize", width: 300 },
      { op: "format", format: "jpeg", quality: 90 },
    ]);
    const bare = await sharp(input).resize(300).jpeg({ quality: 90 }).toBuffer();
    expect(ours.data.equals(bare)).toBe(true);
    expect([ours.width, ours.height]).toEqual([300, 200]);
  });
});

describe("colour", () => {
  it("CMYK input comes out as 3-channel sRGB with the colour about right", async () => {
    const red = await makeImage({ width: 16, height: 16, color: "#ff0000" });
    const cmyk = await sharp(red).toColourspace("cmyk").jpeg({ quality: 95 }).toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe("cmyk");
    for (const plan of [[{ op: "format", format: "jpeg" }], [{ op: "resize", width: 8 }, { op: "flip" }]]) {
      const out = await run(cmyk, plan);
      const meta = await sharp(out.data).metadata();
      expect(meta.space).toBe("srgb");
      expect(meta.channels).toBe(3);
      const c = pixelAt(await readPixels(out.data), 4, 4);
      expect(near(c, [235, 20, 20], 35), describeColor(c)).toBe(true);
    }
  });

  it("an ICC-profiled (Display P3) input is converted to sRGB", async () => {
    const colour = [200, 100, 50];
    const srgb = await makeImage({ width: 16, height: 16, color: "#c86432" });
    // Pixels stored in P3 numbers with the P3 profile attached.
    const p3 = await sharp(srgb).withIccProfile("p3").png().toBuffer();
    const p3Raw = await sharp(p3).raw({ depth: "uchar" }).toBuffer();
    const stored = await sharp(p3, { ignoreIcc: true }).raw().toBuffer();
    expect(near([...stored.subarray(0, 3)], colour, 4)).toBe(false); // really stored differently
    expect(near([...p3Raw.subarray(0, 3)], colour, 4)).toBe(true);
    for (const plan of [[{ op: "format", format: "png" }], [{ op: "resize", width: 8 }, { op: "flip" }]]) {
      const out = await run(p3, plan);
      const c = pixelAt(await readPixels(out.data), 4, 4);
      expect(near(c, colour, 4), describeColor(c)).toBe(true);
    }
  });

  it("16-bit PNG comes out as 8-bit", async () => {
    const deep = await sharp(await makeImage({ width: 16, height: 16, gradient: true }))
      .toColourspace("rgb16")
      .png()
      .toBuffer();
    expect((await sharp(deep).metadata()).depth).toBe("ushort");
    const out = await run(deep, [
      { op: "resize", width: 8 },
      { op: "rotate", angle: 90 },
    ]);
    const meta = await sharp(out.data).metadata();
    expect(meta.depth).toBe("uchar");
    expect(meta.format).toBe("png");
  });
});

describe("metadata", () => {
  const tagged = () =>
    sharp(Buffer.alloc(32 * 24 * 3, 120), { raw: { width: 32, height: 24, channels: 3 } })
      .withExif({ IFD0: { Copyright: "imgedit-test-copyright" } })
      .jpeg()
      .toBuffer();
  const hasTag = async (data: Buffer) => {
    const exif = (await sharp(data).metadata()).exif;
    return exif?.toString("latin1").includes("imgedit-test-copyright") ?? false;
  };

  it("is stripped by default", async () => {
    const input = await tagged();
    expect(await hasTag(input)).toBe(true);
    expect(await hasTag((await run(input, [{ op: "resize", width: 16 }])).data)).toBe(false);
  });

  it("is kept on request (plan step or option), also across several pixel steps", async () => {
    const input = await tagged();
    expect(
      await hasTag(
        (
          await run(input, [
            { op: "resize", width: 16 },
            { op: "metadata", keep: true },
          ])
        ).data,
      ),
    ).toBe(true);
    expect(await hasTag((await run(input, [{ op: "resize", width: 16 }], { keepMetadata: true })).data)).toBe(true);
    const multi = await run(input, [
      { op: "resize", width: 16 },
      { op: "rotate", angle: 90 },
      { op: "metadata", keep: true },
    ]);
    expect(await hasTag(multi.data)).toBe(true);
    expect([multi.width, multi.height]).toEqual([12, 16]);
    expect(near(pixelAt(await readPixels(multi.data), 6, 8), [120, 120, 120], 4)).toBe(true);
  });

  it("kept across several pixel steps, adds no alpha channel and changes no pixel", async () => {
    const jpeg = await sharp(await makeImage({ width: 40, height: 30, gradient: true }))
      .withExif({ IFD0: { Copyright: "imgedit-test-copyright" } })
      .jpeg({ quality: 95 })
      .toBuffer();
    const alpha = await makeImage({ width: 40, height: 30, gradient: true, alpha: 200 });
    for (const [input, channels] of [
      [jpeg, 3],
      [alpha, 4],
    ] as const) {
      const plan = [{ op: "blur", sigma: 1 }, { op: "flip" }, { op: "format", format: "png" }];
      const kept = await run(input, plan, { keepMetadata: true });
      const stripped = await run(input, plan);
      const [a, b] = await Promise.all([readPixels(kept.data), readPixels(stripped.data)]);
      expect([a.channels, b.channels]).toEqual([channels, channels]);
      let max = 0;
      for (let i = 0; i < a.data.length; i++) max = Math.max(max, Math.abs(a.data[i] - b.data[i]));
      expect(max).toBeLessThanOrEqual(1);
      if (input === jpeg) expect(await hasTag(kept.data)).toBe(true);
    }
  });
});

describe("metadata and orientation", () => {
  it("kept metadata never re-applies the orientation: the result is upright with orientation 1", async () => {
    const input = await sharp(await makeImage({ width: 40, height: 30, format: "jpeg" }))
      .withMetadata({ orientation: 6 })
      .jpeg()
      .toBuffer();
    for (const plan of [[{ op: "flip" }], [{ op: "flip" }, { op: "scale", factor: 0.5 }]]) {
      const out = await run(input, plan, { keepMetadata: true });
      const meta = await sharp(out.data).metadata();
      expect([meta.width, meta.height]).toEqual(plan.length === 1 ? [30, 40] : [15, 20]);
      expect(meta.orientation ?? 1).toBe(1);
    }
  });
});

describe("animation", () => {
  it("a GIF keeps its frames, delays and loop through resize, crop, rotate 90, flip and pad", async () => {
    const input = await makeImage({ width: 40, height: 30, pages: 4, delay: 120, format: "gif", quadrants: true });
    const out = await run(input, [
      { op: "resize", width: 20 },
      { op: "crop", left: 0, top: 0, width: 20, height: 14 },
      { op: "rotate", angle: 90 },
      { op: "flip", direction: "vertical" },
      { op: "pad", top: 2, color: "white" },
    ]);
    expect(out).toMatchObject({ format: "gif", pages: 4, width: 14, height: 22 });
    const meta = await sharp(out.data).metadata();
    expect(meta.pages).toBe(4);
    expect(meta.height).toBe(22);
    expect(meta.delay).toEqual([120, 120, 120, 120]);
    expect(meta.loop).toBe(0);
    // Every frame got the same treatment: rotate 90 put red top-right, flip vertical moved it bottom-right.
    const px = await readPixels(out.data, { animated: true });
    for (let f = 0; f < 4; f++) {
      const c = pixelAt(px, 10, f * 22 + 20);
      expect(c[1] < 60 && c[0] > 150, `frame ${f}: ${describeColor(c)}`).toBe(true);
    }
  });

  it("an animated WebP stays animated, and converts to an animated GIF", async () => {
    const input = await makeImage({ width: 24, height: 24, pages: 3, format: "webp" });
    const out = await run(input, [{ op: "border", width: 2, color: "red" }]);
    expect(out).toMatchObject({ format: "webp", pages: 3, width: 28, height: 28 });
    const gif = await run(input, [
      { op: "scale", factor: 0.5 },
      { op: "format", format: "gif" },
    ]);
    expect(gif).toMatchObject({ format: "gif", pages: 3, width: 12, height: 12 });
    expect((await sharp(gif.data).metadata()).pages).toBe(3);
  });

  it("a still output format or an operation that cannot keep frames gives the first frame", async () => {
    const input = await makeImage({ width: 24, height: 24, pages: 3, format: "gif", color: "#ff0000" });
    const png = await run(input, [
      { op: "resize", width: 12 },
      { op: "format", format: "png" },
    ]);
    expect(png).toMatchObject({ format: "png", pages: 1, width: 12, height: 12 });
    // trim cannot keep frames (keepsAnimation false): a still GIF of frame 1.
    const trimmed = await run(input, [{ op: "trim" }]);
    expect(trimmed.pages).toBe(1);
    expect((await sharp(trimmed.data).metadata()).pages ?? 1).toBe(1);
    expect(near(pixelAt(await readPixels(trimmed.data), 5, 5), [255, 0, 0], 10)).toBe(true);
  });
});

describe("progress, cancellation and placeholders", () => {
  it("reports progress per step, ending at 100", async () => {
    const seen: [number, string][] = [];
    await run(
      await makeImage(),
      [
        { op: "resize", width: 10 },
        { op: "rotate", angle: 90 },
      ],
      {
        onProgress: (p, s) => seen.push([p, s]),
      },
    );
    expect(seen[0][0]).toBe(0);
    expect(seen.at(-1)?.[0]).toBe(100);
    expect(seen.map((s) => s[1])).toContain("Resize to fit 10xauto");
    expect(seen.map((s) => s[0])).toEqual([...seen.map((s) => s[0])].sort((a, b) => a - b));
  });

  it("an aborted signal stops processing with a typed error", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      run(await makeImage(), [{ op: "resize", width: 10 }], { signal: controller.signal }),
    ).rejects.toMatchObject({ code: "PROCESSING_FAILED", message: expect.stringContaining("cancelled") });
  });

  describe("a step still on the notImplemented placeholder", () => {
    const def = getOperation("sepia");
    const saved = def?.apply;
    afterEach(() => {
      if (def) def.apply = saved;
    });
    it("fails before decoding with a clear typed error", async () => {
      if (!def) throw new Error("sepia missing from the catalog");
      def.apply = notImplemented as never;
      await expect(
        run(Buffer.from("not even an image"), [{ op: "resize", width: 5 }, { op: "sepia" }]),
      ).rejects.toMatchObject({
        code: "INVALID_OPERATION",
        message: 'operations[1]: "sepia" is not implemented in this build yet',
      });
    });
  });
});

describe("probeImage", () => {
  it("reads the header: upright size, frames, alpha, orientation", async () => {
    const input = await sharp(await makeImage({ width: 40, height: 30, format: "jpeg" }))
      .withMetadata({ orientation: 6 })
      .jpeg()
      .toBuffer();
    expect(await probeImage(input, limits)).toMatchObject({
      format: "jpeg",
      width: 30,
      height: 40,
      pages: 1,
      hasAlpha: false,
      orientation: 6,
      space: "srgb",
      bytes: input.length,
    });
    const gif = await makeImage({ width: 20, height: 10, pages: 5, format: "gif" });
    expect(await probeImage(gif, limits)).toMatchObject({
      format: "gif",
      width: 20,
      height: 10,
      pages: 5,
      hasAlpha: true,
    });
    const avif = await makeImage({ format: "avif" });
    expect((await probeImage(avif, limits)).format).toBe("avif");
  });
});
