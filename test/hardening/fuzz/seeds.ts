// The inputs the fuzzer mutates: small images sharp makes in every input format (with the features
// that take different decoder paths: progressive, interlaced, palette, 16-bit, alpha, animation,
// EXIF orientation), plus the real-world files in ../shared/fixtures when that folder exists.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";

export interface SeedImage {
  name: string;
  data: Buffer;
}

const here = dirname(fileURLToPath(import.meta.url));
/** ../shared/fixtures relative to the repository root. */
export const FIXTURES_DIR = resolve(here, "../../../../shared/fixtures");

const IMAGE_EXT = /\.(jpe?g|png|gif|webp|tiff?|avif)$/i;

function gradient(width: number, height: number, channels: 3 | 4): Buffer {
  const data = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * channels;
      data[i] = (x * 255) / (width - 1);
      data[i + 1] = (y * 255) / (height - 1);
      data[i + 2] = ((x ^ y) & 0xff) >>> 0;
      if (channels === 4) data[i + 3] = x < width / 4 ? 0 : 255;
    }
  return data;
}

function base(width = 96, height = 72, channels: 3 | 4 = 3) {
  return sharp(gradient(width, height, channels), { raw: { width, height, channels } });
}

function animation(frames: number) {
  const w = 48;
  const h = 40;
  const strip = Buffer.concat(
    Array.from({ length: frames }, (_, k) => gradient(w, h, 4).map((v, i) => (i % 4 === 3 ? v : (v + k * 40) & 0xff))),
  );
  return sharp(strip, { raw: { width: w, height: h * frames, channels: 4, pageHeight: h } as never, pages: -1 });
}

/** Freshly made seeds, one per decoder path worth covering. */
export async function makeSeeds(): Promise<SeedImage[]> {
  const make: [string, () => Promise<Buffer>][] = [
    ["baseline.jpg", () => base().jpeg({ quality: 80 }).toBuffer()],
    ["progressive.jpg", () => base().jpeg({ progressive: true, quality: 70 }).toBuffer()],
    ["orient6.jpg", () => base().jpeg().withMetadata({ orientation: 6 }).toBuffer()],
    ["cmyk.jpg", () => base().toColourspace("cmyk").jpeg().toBuffer()],
    ["rgba.png", () => base(96, 72, 4).png().toBuffer()],
    ["interlaced.png", () => base().png({ progressive: true }).toBuffer()],
    ["palette.png", () => base(96, 72, 4).png({ palette: true, colours: 16 }).toBuffer()],
    ["16bit.png", () => base().toColourspace("rgb16").png().toBuffer()],
    ["grey.png", () => base().greyscale().png().toBuffer()],
    ["still.gif", () => base().gif().toBuffer()],
    [
      "animated.gif",
      () =>
        animation(3)
          .gif({ delay: [50, 60, 70], loop: 0 })
          .toBuffer(),
    ],
    ["lossy.webp", () => base().webp({ quality: 60 }).toBuffer()],
    ["lossless.webp", () => base(96, 72, 4).webp({ lossless: true }).toBuffer()],
    [
      "animated.webp",
      () =>
        animation(3)
          .webp({ delay: [50, 60, 70], loop: 0 })
          .toBuffer(),
    ],
    ["lzw.tiff", () => base().tiff({ compression: "lzw" }).toBuffer()],
    ["jpeg.tiff", () => base().tiff({ compression: "jpeg", quality: 70 }).toBuffer()],
    [
      "deflate-tiled.tiff",
      () => base(96, 72, 4).tiff({ compression: "deflate", tile: true, tileWidth: 16, tileHeight: 16 }).toBuffer(),
    ],
    ["still.avif", () => base(64, 48).avif({ quality: 50, effort: 0 }).toBuffer()],
  ];
  return Promise.all(make.map(async ([name, f]) => ({ name, data: await f() })));
}

/** Real-world seeds from the shared fixtures folder (none when it is absent). */
export function fixtureSeeds(maxBytes = 2_000_000, dir = FIXTURES_DIR): SeedImage[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => IMAGE_EXT.test(f) && statSync(join(dir, f)).size <= maxBytes)
    .sort()
    .map((f) => ({ name: `fixtures/${f}`, data: readFileSync(join(dir, f)) }));
}
