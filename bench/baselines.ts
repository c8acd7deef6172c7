// The pipeline cases and, for each, the same edit written for every tool we compare against.
// Only types are imported statically: each worker process loads just the library it measures,
// so the peak RSS it reports is that library's own.
import type * as Magick from "@imagemagick/magick-wasm";
import type sharpDefault from "sharp";

type SharpModule = typeof sharpDefault;
type MagickModule = typeof Magick;

export const TOOLS = ["imgedit", "sharp", "vipsthumbnail", "magick-wasm", "convert", "gm"] as const;
export type ToolName = (typeof TOOLS)[number];

export const TOOL_LABEL: Record<ToolName, string> = {
  imgedit: "imgedit (processImage)",
  sharp: "bare sharp",
  vipsthumbnail: "vipsthumbnail (Debian libvips)",
  "magick-wasm": "ImageMagick 7 (magick-wasm)",
  convert: "ImageMagick 6 convert (Debian)",
  gm: "GraphicsMagick gm convert",
};

/** Tools that run inside a node worker (their RSS includes node itself, about 40-60 MB). */
export const IN_PROCESS: ReadonlySet<ToolName> = new Set(["imgedit", "sharp", "magick-wasm"]);

/** The Debian binaries (never /usr/local/bin/convert: on this machine that is a stand-in). */
export const BINARIES = {
  vipsthumbnail: "/usr/bin/vipsthumbnail",
  convert: "/usr/bin/convert",
  gm: "/usr/bin/gm",
} as const;

export interface Expect {
  width: number;
  height: number;
  format: string;
  pages?: number;
}

export interface BenchCase {
  id: string;
  label: string;
  input: "photo" | "gif";
  outExt: string;
  /** The imgedit plan (validated by the pipeline itself). */
  plan: unknown[];
  expect: Expect;
  sharp(sharp: SharpModule, input: Buffer): Promise<Buffer>;
  /** Command-line arguments (after the binary) for the external tools; absent = no equivalent. */
  cli: Partial<Record<"vipsthumbnail" | "convert" | "gm", (input: string, output: string) => string[]>>;
  magick?: (m: MagickModule, input: Uint8Array) => Uint8Array;
  /** Shown under the case: where a tool does not do exactly the same work. */
  notes?: Partial<Record<ToolName, string>>;
}

const resizeJpegLike = (
  id: string,
  label: string,
  format: "jpeg" | "webp" | "avif",
  quality: number,
  vipsSave: string,
): BenchCase => ({
  id,
  label,
  input: "photo",
  outExt: format === "jpeg" ? "jpg" : format,
  plan: [
    { op: "resize", width: 800 },
    { op: "format", format, quality },
  ],
  expect: { width: 800, height: 653, format: format === "avif" ? "heif" : format },
  // imgedit always auto-orients and strips metadata: sharp's rotate() and its default (strip) do the same
  sharp: (sharp, input) => {
    const img = sharp(input).rotate().resize({ width: 800 });
    if (format === "jpeg") return img.jpeg({ quality }).toBuffer();
    if (format === "webp") return img.webp({ quality }).toBuffer();
    return img.avif({ quality }).toBuffer();
  },
  cli: {
    vipsthumbnail: (i, o) => [i, "-s", "800x", "-o", `${o}[${vipsSave}]`],
    convert: (i, o) => [i, "-auto-orient", "-resize", "800x", "-quality", String(quality), "-strip", o],
    ...(format === "avif"
      ? {}
      : {
          gm: (i: string, o: string) => [
            i,
            "-auto-orient",
            "-resize",
            "800x",
            "-quality",
            String(quality),
            "-strip",
            o,
          ],
        }),
  },
  magick: (m, input) =>
    m.ImageMagick.read(input, (img) => {
      img.autoOrient();
      img.resize(800, 0);
      img.quality = quality;
      img.strip();
      const fmt = { jpeg: m.MagickFormat.Jpeg, webp: m.MagickFormat.WebP, avif: m.MagickFormat.Avif }[format];
      return img.write(fmt, (data) => new Uint8Array(data));
    }),
  notes:
    format === "avif"
      ? {
          gm: "GraphicsMagick 1.3.40 cannot write AVIF",
          sharp: "sharp's AVIF defaults: 4:4:4 chroma, effort 4",
          convert: "libheif's defaults (4:2:0 chroma, its own aom speed): less work per image",
          "magick-wasm": "libheif's defaults (4:2:0 chroma, its own aom speed): less work per image",
        }
      : undefined,
});

/**
 * Twelve operations. imgedit runs them as the plan says; bare sharp is what a sharp expert would
 * write for the same image, checked pixel-equal in test/bench/plan12-equal.test.ts. One chain would
 * be cheaper but wrong: inside a chain sharp mirrors before it rotates, runs median, modulate,
 * sharpen, gamma and linear in its own order, and takes one modulate. So six passes, fused only
 * where sharp's order is the plan's.
 */
const PLAN12: unknown[] = [
  { op: "resize", width: 1600 },
  { op: "crop", left: 100, top: 100, width: 1200, height: 900 },
  { op: "rotate", angle: 90 },
  { op: "flip", direction: "horizontal" },
  { op: "brightness", factor: 1.1 },
  { op: "saturation", factor: 1.2 },
  { op: "hue", degrees: 30 },
  { op: "gamma", value: 2.2 },
  { op: "median", size: 3 },
  { op: "sharpen", sigma: 1 },
  { op: "border", width: 10, color: "black" },
  { op: "format", format: "jpeg", quality: 85 },
];

/** The 12-op plan as ImageMagick/GraphicsMagick arguments. */
function plan12Args(i: string, o: string, median: string): string[] {
  return [
    i,
    "-auto-orient",
    "-resize",
    "1600x",
    "-crop",
    "1200x900+100+100",
    "+repage",
    "-rotate",
    "90",
    "-flop",
    "-modulate",
    "110,120,116.67",
    "-gamma",
    "2.2",
    "-median",
    median,
    "-sharpen",
    "0x1",
    "-bordercolor",
    "black",
    "-border",
    "10",
    "-quality",
    "85",
    "-strip",
    o,
  ];
}

const plan12: BenchCase = {
  id: "plan12",
  label: "12-op plan (resize, crop, rotate, flip, colour x4, median, sharpen, border) -> JPEG q85",
  input: "photo",
  outExt: "jpg",
  plan: PLAN12,
  expect: { width: 920, height: 1220, format: "jpeg" },
  sharp: async (sharp, input) => {
    const pass = async (s: ReturnType<SharpModule>) => {
      const { data, info } = await s.raw().toBuffer({ resolveWithObject: true });
      return sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } });
    };
    let s = await pass(
      sharp(input).rotate().resize({ width: 1600 }).extract({ left: 100, top: 100, width: 1200, height: 900 }),
    );
    // Rotate 90 then mirror left-right = mirror top-bottom then rotate 90 (sharp's order).
    s = await pass(s.rotate(90).flip().linear(1.1, 0));
    s = await pass(s.modulate({ saturation: 1.2 }));
    s = await pass(s.modulate({ hue: 30 }).gamma(1, 2.2));
    s = await pass(s.median(3));
    s = await pass(s.sharpen({ sigma: 1 }));
    return s.extend({ top: 10, bottom: 10, left: 10, right: 10, background: "black" }).jpeg({ quality: 85 }).toBuffer();
  },
  cli: {
    // GraphicsMagick's -median takes a radius, ImageMagick's a window: both mean 3x3 here.
    convert: (i, o) => plan12Args(i, o, "3"),
    gm: (i, o) => plan12Args(i, o, "1"),
  },
  magick: (m, input) =>
    m.ImageMagick.read(input, (img) => {
      img.autoOrient();
      img.resize(1600, 0);
      img.crop(new m.MagickGeometry(100, 100, 1200, 900));
      img.resetPage();
      img.rotate(90);
      img.flop();
      img.modulate(new m.Percentage(110), new m.Percentage(120), new m.Percentage(116.67));
      img.gammaCorrect(2.2);
      img.sharpen(0, 1);
      img.borderColor = new m.MagickColor("black");
      img.border(10);
      img.quality = 85;
      img.strip();
      return img.write(m.MagickFormat.Jpeg, (data) => new Uint8Array(data));
    }),
  notes: {
    vipsthumbnail: "vipsthumbnail only resizes",
    "magick-wasm": "no median filter in magick-wasm's API: 11 of the 12 steps",
    convert: "hue 30 deg = -modulate ...,116.67",
  },
};

const gif: BenchCase = {
  id: "gif",
  label: "animated GIF 80x80, 30 frames -> 40 px wide GIF",
  input: "gif",
  outExt: "gif",
  plan: [{ op: "resize", width: 40 }],
  expect: { width: 40, height: 40, format: "gif", pages: 30 },
  sharp: (sharp, input) => sharp(input, { animated: true }).resize({ width: 40 }).gif().toBuffer(),
  cli: {
    vipsthumbnail: (i, o) => [`${i}[n=-1]`, "-s", "40x", "-o", o],
    convert: (i, o) => [i, "-coalesce", "-resize", "40x", o],
    gm: (i, o) => [i, "-coalesce", "-resize", "40x", o],
  },
  magick: (m, input) =>
    m.ImageMagick.readCollection(input, (images) => {
      images.coalesce();
      for (const img of images) img.resize(40, 0);
      return images.write(m.MagickFormat.Gif, (data) => new Uint8Array(data));
    }),
};

export const CASES: BenchCase[] = [
  resizeJpegLike("jpeg", "JPEG 2725x2225 -> 800 px wide JPEG q90", "jpeg", 90, "Q=90,strip"),
  resizeJpegLike("webp", "JPEG 2725x2225 -> 800 px wide WebP q90", "webp", 90, "Q=90,strip"),
  resizeJpegLike("avif", "JPEG 2725x2225 -> 800 px wide AVIF q60", "avif", 60, "Q=60,strip,compression=av1,effort=4"),
  plan12,
  gif,
];

export function hasTool(c: BenchCase, tool: ToolName): boolean {
  if (tool === "imgedit" || tool === "sharp") return true;
  if (tool === "magick-wasm") return c.magick !== undefined;
  return c.cli[tool] !== undefined;
}
