// `imgedit info` gives edit's verdict for every file up to MAX_IMAGE_SIZE: it used to read only the
// first 16 MB, so a TIFF with its directory at the end was "not an image" and a GIF's frames past
// 16 MB went uncounted ("limits ok" for what edit refuses). Also: the usage message for `-q` alone
// with a PNG or GIF output suggests a command that is itself accepted.
import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeImage } from "../helpers/images.js";
import { imgedit, scratch } from "./in-process.js";

const MB = 1024 * 1024;
let dir: string;
const at = (...p: string[]) => path.join(dir, ...p);

beforeAll(async () => {
  dir = await scratch("imgedit-info-verdict-");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** An animated GIF of 19 MB: copies of one 320x320 noise frame (LZW cannot shrink noise much). */
async function bigGif(): Promise<{ gif: Buffer; frames: number }> {
  const noise = Buffer.alloc(320 * 320 * 3);
  for (let i = 0, s = 1; i < noise.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    noise[i] = s >>> 24;
  }
  const one = await sharp(noise, { raw: { width: 320, height: 320, channels: 3 } })
    .gif({ dither: 0 })
    .toBuffer();
  const image = one.indexOf(Buffer.from([0x2c, 0, 0, 0, 0]));
  expect(image).toBeGreaterThan(0);
  expect(one[one.length - 1]).toBe(0x3b);
  // a graphic control extension (100 ms) and the image, without the trailer
  const frame = Buffer.concat([Buffer.from([0x21, 0xf9, 4, 0, 10, 0, 0, 0]), one.subarray(image, one.length - 1)]);
  const frames = Math.ceil((19 * MB) / frame.length);
  const gif = Buffer.concat([one.subarray(0, image), ...Array(frames).fill(frame), Buffer.from([0x3b])]);
  return { gif, frames };
}

const json = (stdout: string) => JSON.parse(stdout)[0];

describe("imgedit info on files between 16 MB and MAX_IMAGE_SIZE", () => {
  it("an uncompressed TIFF of 19 MB (its directory at the end) is described and accepted", async () => {
    const file = at("big.tif");
    await sharp({ create: { width: 2600, height: 2600, channels: 3, background: "#abc" } })
      .tiff({ compression: "none" })
      .toFile(file);
    const r = await imgedit(["info", file, "--json"]);
    expect(r.code, r.stdout).toBe(0);
    const info = json(r.stdout);
    expect(info.bytes).toBeGreaterThan(16 * MB);
    expect(info).toMatchObject({ format: "tiff", width: 2600, height: 2600, pages: 1, limits: "ok" });
    expect(info.error).toBeUndefined();
  });

  it("a GIF whose frames run past 16 MB: every frame counted, and the same refusal as edit", async () => {
    const { gif, frames } = await bigGif();
    expect(gif.length).toBeGreaterThan(16 * MB);
    expect(gif.length).toBeLessThan(25 * MB);
    const file = at("many.gif");
    await writeFile(file, gif);
    // a limit above what the first 16 MB hold: the old reading said "limits ok"
    const limit = Math.ceil(frames * 0.9);
    const env = { MAX_FRAMES: String(limit) };
    const r = await imgedit(["info", file, "--json"], env);
    expect(r.code, r.stdout).toBe(0);
    const refusal = `PIXEL_LIMIT: the animation has ${frames} frames; the limit is ${limit}`;
    expect(json(r.stdout)).toMatchObject({ format: "gif", pages: frames, limits: refusal });
    const edit = await imgedit(["edit", file, "-f", "webp", "-o", at("out/"), "--json"], env);
    expect(edit.code).toBe(1);
    const [row] = JSON.parse(edit.stdout);
    expect(`${row.error.code}: ${row.error.message}`).toBe(refusal);
    // within MAX_FRAMES it is whole, so accepted
    const ok = await imgedit(["info", file, "--json"]);
    expect(json(ok.stdout)).toMatchObject({ pages: frames, limits: "ok" });
  });

  it("over MAX_IMAGE_SIZE, a start that cannot be described still gets edit's verdict: too large", async () => {
    const file = at("big.tif");
    const r = await imgedit(["info", file, "--json"], { MAX_IMAGE_SIZE: String(10 * MB) });
    expect(r.code).toBe(1);
    expect(json(r.stdout).error).toEqual({
      code: "IMAGE_TOO_LARGE",
      message: expect.stringMatching(/^image is 19\.\d MB \([\d,]+ bytes\); the limit is 10\.0 MB/),
    });
  });

  it("a GIF cut short is CORRUPT_IMAGE in info as in edit", async () => {
    const gif = await makeImage({ width: 30, height: 30, pages: 6, delay: 100, format: "gif" });
    const file = at("cut.gif");
    await writeFile(file, gif.subarray(0, gif.length - 40));
    const r = await imgedit(["info", file, "--json"]);
    expect(r.code).toBe(1);
    expect(json(r.stdout).error.code).toBe("CORRUPT_IMAGE");
    const edit = await imgedit(["edit", file, "-f", "webp", "-o", at("out/"), "--json"]);
    expect(JSON.parse(edit.stdout)[0].error).toEqual(json(r.stdout).error);
  });

  it("a JPEG cut short past its header: info (header only) says ok, edit (decoding) CORRUPT_IMAGE; the README says so", async () => {
    // noise: the scan data is most of the file, so 60% of it keeps the whole header
    const jpeg = await sharp({
      create: {
        width: 400,
        height: 300,
        channels: 3,
        background: "#000",
        noise: { type: "gaussian", mean: 128, sigma: 30 },
      },
    })
      .jpeg()
      .toBuffer();
    const file = at("cut.jpg");
    await writeFile(file, jpeg.subarray(0, Math.floor(jpeg.length * 0.6)));
    const r = await imgedit(["info", file, "--json"]);
    expect(r.code).toBe(0);
    expect(json(r.stdout)).toMatchObject({ format: "jpeg", width: 400, limits: "ok" });
    const edit = await imgedit(["edit", file, "-f", "webp", "-o", at("out-jpeg/"), "--json"]);
    expect(JSON.parse(edit.stdout)[0].error.code).toBe("CORRUPT_IMAGE");
    // so the docs may not call info's verdict edit's: they say what it checks
    const docs = (await readFile(path.resolve(import.meta.dirname, "../../docs/readme/core.md"), "utf8")).replace(
      /\s+/g,
      " ",
    );
    expect(docs).not.toContain("so the verdict is `edit`'s");
    expect(docs).toContain("`info` does not decode the pixels, so damage past the header (a truncated JPEG)");
  });
});

describe("imgedit edit with only -q: the suggested command works", () => {
  beforeAll(async () => {
    await writeFile(at("photo.jpg"), await makeImage({ width: 40, height: 30, format: "jpeg" }));
  });

  it.each([
    ["q.gif", "--format gif, without --quality: gif has no quality setting", ["--format", "gif"]],
    ["q.png", "--format png, without --quality: png is always lossless", ["--format", "png"]],
    ["q.webp", "--format webp --quality 50", ["--format", "webp", "--quality", "50"]],
  ])("-o %s", async (name, suggestion, works) => {
    const r = await imgedit(["edit", at("photo.jpg"), "-q", "50", "-o", at(name)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`or --format (e.g. ${suggestion})`);
    const again = await imgedit(["edit", at("photo.jpg"), ...works, "-o", at(name)]);
    expect(again.code, again.stderr).toBe(0);
  });
});
