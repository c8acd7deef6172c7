// Hostile files: named header lies (huge sizes with valid checksums, chunk lengths that lie) and a
// seeded fuzz run of a few hundred mutants, all through processImage in a child process. Each input
// must process (output re-decodes at the right size) or fail with a typed ImageEditError; a crash,
// a hang past the per-image timeout, an untyped error or a bad output fails the test, and the input
// is saved under test-results/fuzz/. `npm run fuzz` runs thousands (FUZZ_COUNT, FUZZ_SEED).
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImageEditError } from "../../src/core/errors.js";
import { DEFAULT_LIMITS } from "../../src/core/limits.js";
import { processImage } from "../../src/core/pipeline.js";
import { validatePlan } from "../../src/core/plan.js";
import { nearlyStillGif } from "../helpers/images.js";
import type { FuzzOutcome, FuzzRequest } from "./fuzz/child.js";
import { FuzzChild, type FuzzSummary, formatSummary, runFuzz } from "./fuzz/harness.js";
import {
  avifWithSize,
  gifWithScreen,
  jpegWithSegmentLength,
  jpegWithSize,
  pngWithChunkLength,
  pngWithSize,
  tiffWithSize,
  webpWithCanvas,
} from "./fuzz/mutate.js";

// Fixed so `npm test` is reproducible; FUZZ_SEED replays another run.
const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
const COUNT = Number(process.env.FUZZ_TEST_COUNT ?? 400);
const TIMEOUT_MS = 4000;
const MB = 1024 * 1024;

const REFUSALS = ["DIMENSIONS_TOO_LARGE", "PIXEL_LIMIT", "CORRUPT_IMAGE", "UNSUPPORTED_FORMAT", "IMAGE_TOO_LARGE"];

let child: FuzzChild;
let id = 0;
const run = (data: Buffer, extra: Partial<FuzzRequest> = {}) =>
  child.run({ id: ++id, data, outputFormat: "png", width: 32, processTimeoutMs: TIMEOUT_MS, ...extra });

beforeAll(() => {
  child = new FuzzChild(15_000, () => {});
});
afterAll(async () => {
  await child?.close();
});

const gradient = (w: number, h: number) =>
  sharp({ create: { width: w, height: h, channels: 3, background: "#336699" } }).composite([
    {
      input: Buffer.from(
        `<svg width="${w}" height="${h}"><circle cx="${w / 2}" cy="${h / 2}" r="${h / 3}" fill="#fc0"/></svg>`,
      ),
    },
  ]);

describe("the harness itself", () => {
  it("reports a child that aborts as a crash and carries on with a fresh child", async () => {
    const crashed = await run(Buffer.from("x"), { misbehave: "abort" });
    expect(crashed.kind).toBe("crash");
    expect((crashed as { message: string }).message).toMatch(/SIGABRT/);
    const png = await gradient(60, 40).png().toBuffer();
    const after = (await run(png)) as FuzzOutcome;
    expect(after).toMatchObject({ kind: "ok", width: 32, format: "png" });
  });

  it("reports a child that stops answering as a hang once the grace period is over", async () => {
    const quick = new FuzzChild(500, () => {});
    try {
      const hung = await quick.run({
        id: 1,
        data: Buffer.from("x"),
        outputFormat: "png",
        width: 1,
        processTimeoutMs: 100,
        misbehave: "hang",
      });
      expect(hung.kind).toBe("hang");
    } finally {
      await quick.close();
    }
  });
});

describe("header fields set to huge values", () => {
  let png: Buffer;
  let jpeg: Buffer;
  let gif: Buffer;
  let webp: Buffer;
  let tiff: Buffer;
  let avif: Buffer;
  beforeAll(async () => {
    png = await gradient(96, 72).png().toBuffer();
    jpeg = await gradient(96, 72).jpeg().toBuffer();
    gif = await gradient(96, 72).gif().toBuffer();
    webp = await gradient(96, 72)
      .ensureAlpha(0.5)
      .webp({ lossless: true })
      .withMetadata({ exif: { IFD0: { Copyright: "x" } } })
      .toBuffer();
    tiff = await gradient(96, 72).tiff({ compression: "lzw" }).toBuffer();
    avif = await gradient(64, 48).avif({ effort: 0 }).toBuffer();
  });

  // [name, input, codes accepted, processing accepted too]
  const cases: [string, () => Buffer, string[], boolean?][] = [
    ["PNG IHDR 0x7fffffff x 0x7fffffff (CRC recomputed)", () => pngWithSize(png, 0x7fffffff, 0x7fffffff), REFUSALS],
    ["PNG IHDR 0xffffffff x 1", () => pngWithSize(png, 0xffffffff, 1), REFUSALS],
    ["PNG IHDR 0 x 0", () => pngWithSize(png, 0, 0), REFUSALS],
    // Within the pixel limit, but the data is for 96x72: must not allocate and wait for 81 M pixels.
    ["PNG IHDR 9000 x 9000 over 96x72 data", () => pngWithSize(png, 9000, 9000), ["CORRUPT_IMAGE"]],
    ["PNG IDAT length 0x7fffffff", () => pngWithChunkLength(png, "IDAT", 0x7fffffff), REFUSALS],
    ["PNG IHDR length 0xffffffff", () => pngWithChunkLength(png, "IHDR", 0xffffffff), REFUSALS],
    ["JPEG SOF 65500 x 65500", () => jpegWithSize(jpeg, 65_500, 65_500), REFUSALS],
    ["JPEG SOF 9999 x 9999 over 96x72 data", () => jpegWithSize(jpeg, 9999, 9999), ["CORRUPT_IMAGE"]],
    ["JPEG SOF 0 x 0", () => jpegWithSize(jpeg, 0, 0), REFUSALS],
    ["JPEG DHT length 0xffff", () => jpegWithSegmentLength(jpeg, 0xc4, 0xffff), REFUSALS],
    ["JPEG DQT length 0", () => jpegWithSegmentLength(jpeg, 0xdb, 0), REFUSALS],
    // libvips' GIF loader sizes the image from the frames, not the logical screen: may process.
    ["GIF logical screen 65535 x 65535", () => gifWithScreen(gif, 65_535, 65_535), REFUSALS, true],
    ["GIF screen and frame 65535 x 65535", () => gifWithScreen(gif, 65_535, 65_535, true), REFUSALS],
    ["GIF screen and frame 9000 x 9000 over 96x72 data", () => gifWithScreen(gif, 9000, 9000, true), REFUSALS, true],
    ["WebP VP8X canvas 16777216 x 16777216", () => webpWithCanvas(webp, 0x1000000, 0x1000000), REFUSALS],
    ["TIFF ImageWidth/Length 0x7fffffff", () => tiffWithSize(tiff, 0x7fffffff, 0x7fffffff), REFUSALS],
    ["TIFF 9000 x 9000 over 96x72 strips", () => tiffWithSize(tiff, 9000, 9000), REFUSALS],
    ["AVIF ispe 0x7fffffff x 0x7fffffff", () => avifWithSize(avif, 0x7fffffff, 0x7fffffff), REFUSALS],
    ["AVIF ispe 9000 x 9000", () => avifWithSize(avif, 9000, 9000), REFUSALS],
  ];

  for (const [name, make, codes, mayProcess] of cases)
    it(`${name}: refused with a typed error${mayProcess ? " or processed" : ""}`, async () => {
      const out = await run(make());
      if (mayProcess && out.kind === "ok") expect(out.width).toBe(32);
      else {
        expect(out.kind, JSON.stringify(out)).toBe("typed");
        expect(codes, JSON.stringify(out)).toContain((out as { code: string }).code);
      }
      // A lie about the size must not make the child allocate the claimed pixels.
      expect((out as { rss: number }).rss).toBeLessThan(1024 * MB);
    });
});

describe(`seeded fuzz run (seed ${SEED}, ${COUNT} mutants)`, () => {
  let summary: FuzzSummary;
  beforeAll(async () => {
    summary = await runFuzz({
      seed: SEED,
      count: COUNT,
      workers: 2,
      processTimeoutMs: TIMEOUT_MS,
      maxFixtureBytes: 1_000_000,
    });
    console.log(formatSummary(summary));
  }, 120_000);

  it("processes every unmutated seed (the harness can succeed)", () => {
    expect(summary.seedFailures).toEqual([]);
    expect(summary.seeds.length).toBeGreaterThanOrEqual(18);
  });

  it("ends every mutant processed or refused with a typed error: no crash, hang, untyped error or bad output", () => {
    expect(summary.failures).toEqual([]);
    expect(summary.processed + summary.typed).toBe(COUNT);
    // The mutants reach both outcomes (a run where everything is refused would prove little).
    expect(summary.processed).toBeGreaterThan(0);
    expect(summary.typed).toBeGreaterThan(0);
  });

  it("keeps the child's memory bounded", () => {
    // A resource bound, not a timing: generous for libvips' caches and allocator, far below a blow-up.
    expect(summary.rssMax).toBeLessThan(1024 * MB);
    expect(summary.rssEnd - summary.rssBaseline).toBeLessThan(512 * MB);
  });

  // A broken input file is the input's fault (422 CORRUPT_IMAGE), never "processing failed" (500):
  // with a plain resize plan, PROCESSING_FAILED means a decoder error was misclassified.
  // sharpError (src/core/sharp-errors.ts) treats loader errors ("webp2vips", "tiff2vips", "failOn",
  // "bad seek", ...) as CORRUPT_IMAGE whichever step they surface in.
  it("never blames the plan for a broken input (no PROCESSING_FAILED)", () => {
    expect(summary.samples.PROCESSING_FAILED ?? []).toEqual([]);
  });
});

describe("sizes reported for animations whose frames the encoder merges", () => {
  let input: Buffer;
  beforeAll(async () => {
    input = await nearlyStillGif();
    const meta = await sharp(input, { animated: true }).metadata();
    expect(meta.pages).toBe(3);
  });

  async function processed(format: "gif" | "webp") {
    const limits = { ...DEFAULT_LIMITS, processTimeoutMs: TIMEOUT_MS };
    const plan = validatePlan(
      [
        { op: "resize", width: 4 },
        { op: "format", format },
      ],
      limits,
    );
    const r = await processImage(input, plan, { limits });
    const m = await sharp(r.data, { animated: true }).metadata();
    return { reported: { width: r.width, height: r.height, pages: r.pages }, file: m };
  }

  // finish() (src/core/pipeline.ts) once took out.info.height (the whole strip, 9) here.
  it("GIF: the reported height is the file's height", async () => {
    const { reported, file } = await processed("gif");
    expect(file.pages ?? 1).toBe(1);
    expect(reported).toEqual({ width: file.width, height: file.height, pages: 1 });
  });

  // The WebP encoder writes a still image; the page count once fell back to info.pages (3).
  it("WebP: the reported page count is the file's", async () => {
    const { reported, file } = await processed("webp");
    expect(reported.pages).toBe(file.pages ?? 1);
  });
});

describe("animation timing from a hostile header", () => {
  // An animated WebP whose first frame claims a 131192 ms duration (ANMF durations are 24-bit;
  // sharp's encoder accepts 0-65535). Found by `npm run fuzz` (seed 31337, input 7729).
  async function webpWithDuration(ms: number): Promise<Buffer> {
    const strip = await sharp({ create: { width: 16, height: 32, channels: 4, background: "#09c" } })
      .composite([
        {
          input: Buffer.from('<svg width="16" height="16"><rect width="16" height="16" fill="#f30"/></svg>'),
          top: 16,
          left: 0,
        },
      ])
      .raw()
      .toBuffer();
    const webp = await sharp(strip, { raw: { width: 16, height: 32, channels: 4, pageHeight: 16 }, pages: -1 } as never)
      .webp({ delay: [100, 100], loop: 0, lossless: true })
      .toBuffer();
    const anmf = webp.indexOf("ANMF", 0, "latin1");
    expect(anmf).toBeGreaterThan(0);
    const out = Buffer.from(webp);
    out.writeUIntLE(ms, anmf + 8 + 12, 3);
    return out;
  }

  // processImage once passed the header's delays straight to sharp's webp()/gif(), whose argument
  // check threw a plain Error; delays are now clamped to 0-65535.
  it("processes it or refuses it with a typed error (never an untyped throw)", async () => {
    const input = await webpWithDuration(131_192);
    const meta = await sharp(input, { animated: true }).metadata();
    expect(meta.pages).toBe(2);
    expect(meta.delay?.[0]).toBe(131_192);
    const limits = { ...DEFAULT_LIMITS, processTimeoutMs: TIMEOUT_MS };
    const plan = validatePlan(
      [
        { op: "resize", width: 8 },
        { op: "format", format: "webp" },
      ],
      limits,
    );
    const outcome = await processImage(input, plan, { limits }).then(
      (r) => ({ ok: true as const, r }),
      (e: unknown) => ({ ok: false as const, e }),
    );
    if (!outcome.ok) expect(outcome.e).toBeInstanceOf(ImageEditError);
    else expect(outcome.r.width).toBe(8);
  });
});
