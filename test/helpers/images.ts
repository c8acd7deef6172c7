// Image makers shared by tests: every test builds its own inputs with sharp, so nothing depends on
// files that may change. Also small pixel readers to assert effects.
import sharp, { type Sharp } from "sharp";

export type TestFormat = "jpeg" | "png" | "webp" | "gif" | "tiff" | "avif";

export interface MakeImageOptions {
  width?: number;
  height?: number;
  /** Solid colour (name or hex), default grey. Ignored when `gradient` or `quadrants` is set. */
  color?: string;
  /** Horizontal red ramp (x -> red 0..255), vertical green ramp (y -> green 0..255), blue 64. */
  gradient?: boolean;
  /** Four coloured quadrants: top-left red, top-right lime, bottom-left blue, bottom-right yellow. */
  quadrants?: boolean;
  /** Output format, default png. */
  format?: TestFormat;
  /** EXIF orientation tag (1-8) written with the image (jpeg/webp/png/tiff). */
  exifOrientation?: number;
  /** Add an alpha channel (value 0-255, default 255 = opaque). */
  alpha?: boolean | number;
  /** Animated GIF/WebP with this many frames (each frame a different shade). */
  pages?: number;
  /** Per-frame delay in ms for animations. */
  delay?: number;
  /** Lossy quality (jpeg/webp/avif). */
  quality?: number;
}

export const QUADRANT_COLORS = {
  topLeft: [255, 0, 0],
  topRight: [0, 255, 0],
  bottomLeft: [0, 0, 255],
  bottomRight: [255, 255, 0],
} as const;

/** Raw RGB(A) pixels for one frame. */
function framePixels(o: MakeImageOptions, width: number, height: number, frame: number, channels: 3 | 4): Buffer {
  const data = Buffer.alloc(width * height * channels);
  const base = parseHex(o.color ?? "#808080");
  const alphaValue = typeof o.alpha === "number" ? o.alpha : 255;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let rgb: readonly number[];
      if (o.gradient) {
        rgb = [Math.round((x / Math.max(1, width - 1)) * 255), Math.round((y / Math.max(1, height - 1)) * 255), 64];
      } else if (o.quadrants) {
        const right = x >= width / 2;
        const bottom = y >= height / 2;
        rgb = bottom
          ? right
            ? QUADRANT_COLORS.bottomRight
            : QUADRANT_COLORS.bottomLeft
          : right
            ? QUADRANT_COLORS.topRight
            : QUADRANT_COLORS.topLeft;
      } else {
        rgb = base;
      }
      const i = (y * width + x) * channels;
      // Frames differ in blue so an animation is a real one (encoders merge identical frames).
      data[i] = rgb[0];
      data[i + 1] = rgb[1];
      data[i + 2] = (rgb[2] + frame * 40) % 256;
      if (channels === 4) data[i + 3] = alphaValue;
    }
  }
  return data;
}

function parseHex(color: string): [number, number, number] {
  const named: Record<string, string> = {
    red: "#ff0000",
    lime: "#00ff00",
    green: "#008000",
    blue: "#0000ff",
    white: "#ffffff",
    black: "#000000",
    yellow: "#ffff00",
    grey: "#808080",
    gray: "#808080",
  };
  let h = (named[color.toLowerCase()] ?? color).replace("#", "");
  if (h.length === 3) h = [...h].map((c) => c + c).join("");
  return [0, 2, 4].map((i) => Number.parseInt(h.slice(i, i + 2), 16)) as [number, number, number];
}

/** Build an encoded image. Default 64x48 grey PNG. */
export async function makeImage(o: MakeImageOptions = {}): Promise<Buffer> {
  const width = o.width ?? 64;
  const height = o.height ?? 48;
  const channels = o.alpha === undefined || o.alpha === false ? 3 : 4;
  const format = o.format ?? "png";
  const pages = o.pages ?? 1;
  let img: Sharp;
  if (pages > 1) {
    const frames = Array.from({ length: pages }, (_, f) => framePixels(o, width, height, f, channels));
    img = sharp(Buffer.concat(frames), { raw: { width, height: height * pages, channels, pageHeight: height } });
  } else {
    img = sharp(framePixels(o, width, height, 0, channels), { raw: { width, height, channels } });
  }
  if (o.exifOrientation) img = img.withMetadata({ orientation: o.exifOrientation });
  const delay = pages > 1 ? Array(pages).fill(o.delay ?? 100) : undefined;
  switch (format) {
    case "jpeg":
      return img.jpeg({ quality: o.quality ?? 95 }).toBuffer();
    case "png":
      return img.png().toBuffer();
    case "webp":
      return img.webp({ quality: o.quality ?? 95, ...(delay ? { delay, loop: 0 } : {}) }).toBuffer();
    case "gif":
      return img.gif(delay ? { delay, loop: 0 } : {}).toBuffer();
    case "tiff":
      return img.tiff().toBuffer();
    case "avif":
      return img.avif({ quality: o.quality ?? 80, effort: 0 }).toBuffer();
  }
}

/** An image whose pixels read upright as `quadrants`, stored rotated/flipped with the given EXIF
 * orientation, so an upright-making reader gets the quadrants back. */
export async function makeOrientedImage(orientation: number, width = 40, height = 30): Promise<Buffer> {
  const upright = await makeImage({ width, height, quadrants: true, format: "png" });
  // Store the pixels transformed by the inverse of what the orientation tag tells a reader to do.
  let stored = sharp(upright);
  switch (orientation) {
    case 2:
      stored = stored.flop();
      break;
    case 3:
      stored = stored.rotate(180);
      break;
    case 4:
      stored = stored.flip();
      break;
    case 5:
      // transpose (its own inverse)
      stored = sharp(await sharp(upright).rotate(90).toBuffer()).flop();
      break;
    case 6:
      stored = stored.rotate(270);
      break;
    case 7:
      // transverse (its own inverse)
      stored = sharp(await sharp(upright).rotate(90).toBuffer()).flip();
      break;
    case 8:
      stored = stored.rotate(90);
      break;
  }
  const pixels = await stored.png().toBuffer();
  return sharp(pixels).withMetadata({ orientation }).jpeg({ quality: 95 }).toBuffer();
}

/**
 * A 3-frame 40x30 GIF whose frames differ in one pixel only: shrunk to a few px wide they become
 * identical, and the GIF/WebP encoders merge identical consecutive frames.
 */
export async function nearlyStillGif(): Promise<Buffer> {
  const w = 40;
  const h = 30;
  const frames = Array.from({ length: 3 }, (_, k) => {
    const f = Buffer.alloc(w * h * 4, 200);
    for (let i = 3; i < f.length; i += 4) f[i] = 255;
    f.fill(0, k * 4, k * 4 + 3);
    return f;
  });
  return sharp(Buffer.concat(frames), { raw: { width: w, height: h * 3, channels: 4, pageHeight: h }, pages: -1 })
    .gif({ delay: [100, 100, 100] })
    .toBuffer();
}

export interface Pixels {
  data: Buffer;
  width: number;
  height: number;
  channels: number;
  pages: number;
  format: string;
}

/** Decode to raw pixels (all frames for animations). */
export async function readPixels(input: Buffer, opts: { animated?: boolean } = {}): Promise<Pixels> {
  const meta = await sharp(input, { animated: opts.animated ?? false }).metadata();
  const { data, info } = await sharp(input, { animated: opts.animated ?? false })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return {
    data,
    width: info.width,
    height: info.height,
    channels: info.channels,
    pages: opts.animated ? (meta.pages ?? 1) : 1,
    format: meta.format ?? "unknown",
  };
}

/** RGB(A) at x,y. */
export function pixelAt(p: Pixels, x: number, y: number): number[] {
  const i = (y * p.width + x) * p.channels;
  return [...p.data.subarray(i, i + p.channels)];
}

/** True when each of the first three channels is within `tolerance` of the expected colour. */
export function near(actual: readonly number[], expected: readonly number[], tolerance = 24): boolean {
  return expected.every((v, i) => Math.abs((actual[i] ?? 0) - v) <= tolerance);
}

/** A readable colour assertion message. */
export function describeColor(actual: readonly number[]): string {
  return `rgb(${actual.slice(0, 3).join(",")})`;
}

/** Largest difference in alpha or in alpha-weighted colour (the colour of a transparent pixel is moot). */
export function maxAlphaWeightedDiff(a: Buffer, b: Buffer): number {
  if (a.length !== b.length) throw new Error(`buffers differ in length: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i += 4) {
    m = Math.max(m, Math.abs(a[i + 3] - b[i + 3]));
    for (let c = 0; c < 3; c++) m = Math.max(m, Math.abs(a[i + c] * a[i + 3] - b[i + c] * b[i + 3]) / 255);
  }
  return m;
}
