// Commands judged by their effect: `imgedit edit <image> --command "<command>" --output <file>`
// as a real process, then the output's dimensions, format and pixels are checked.
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const W = 400;
const H = 300;
let dir: string;
let input: string;

// Quadrants: top-left red, top-right white, bottom-left blue, bottom-right black.
const QUAD = { tl: [220, 40, 30], tr: [255, 255, 255], bl: [30, 60, 220], br: [0, 0, 0] } as const;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "imgedit-effect-"));
  const raw = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const q = y < H / 2 ? (x < W / 2 ? QUAD.tl : QUAD.tr) : x < W / 2 ? QUAD.bl : QUAD.br;
      raw.set(q, (y * W + x) * 3);
    }
  input = path.join(dir, "quadrants.png");
  await sharp(raw, { raw: { width: W, height: H, channels: 3 } })
    .png()
    .toFile(input);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
async function edit(command: string, ext: string) {
  const output = path.join(dir, `out-${n++}.${ext}`);
  await promisify(execFile)(
    process.execPath,
    ["--import", "tsx", "src/cli/main.ts", "edit", input, "--command", command, "--output", output],
    { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME } },
  );
  const meta = await sharp(output).metadata();
  const { data, info } = await sharp(output).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const px = (x: number, y: number) => {
    const i = (Math.round(y) * info.width + Math.round(x)) * info.channels;
    return [data[i], data[i + 1], data[i + 2]];
  };
  const mean = () => {
    let s = 0;
    for (let i = 0; i < data.length; i++) s += data[i];
    return s / data.length;
  };
  return { format: meta.format, width: info.width, height: info.height, px, mean };
}

const near = (a: number[], b: readonly number[], tol = 40) => a.every((v, i) => Math.abs(v - b[i]) <= tol);
const isGrey = (p: number[]) => Math.max(...p) - Math.min(...p) <= 12;

describe("commands by their effect on a real image", { timeout: 120_000 }, () => {
  it("resize to 200px: the longest side becomes 200", async () => {
    const r = await edit("resize to 200px", "png");
    expect([r.format, r.width, r.height]).toEqual(["png", 200, 150]);
  });

  it("make it half the size and black and white", async () => {
    const r = await edit("make it half the size and black and white", "png");
    expect([r.width, r.height]).toEqual([200, 150]);
    expect(isGrey(r.px(50, 40))).toBe(true);
    expect(isGrey(r.px(50, 110))).toBe(true);
  });

  it("rotate 90 degrees clockwise then convert to webp at 80% quality", async () => {
    const r = await edit("rotate 90 degrees clockwise then convert to webp at 80% quality", "webp");
    expect([r.format, r.width, r.height]).toEqual(["webp", 300, 400]);
    // clockwise: the old top-left (red) is now top-right
    expect(near(r.px(r.width - 20, 20), QUAD.tl)).toBe(true);
    expect(near(r.px(20, 20), QUAD.bl)).toBe(true);
  });

  it("crop to a square around the face", async () => {
    const r = await edit("crop to a square around the face", "png");
    expect([r.width, r.height]).toEqual([300, 300]);
  });

  it("add a 10px white border", async () => {
    const r = await edit("add a 10px white border", "png");
    expect([r.width, r.height]).toEqual([420, 320]);
    expect(near(r.px(3, 3), [255, 255, 255], 5)).toBe(true);
    expect(near(r.px(15, 15), QUAD.tl, 5)).toBe(true);
  });

  it("put '(c) 2026 Example Co' in the bottom right corner", async () => {
    const r = await edit("put '(c) 2026 Example Co' in the bottom right corner", "png");
    expect([r.width, r.height]).toEqual([W, H]);
    // the bottom-right quadrant is black: white text must light some of it up
    let lit = 0;
    for (let y = H * 0.8; y < H; y += 2) for (let x = W * 0.6; x < W; x += 2) if (r.px(x, y)[0] > 100) lit++;
    expect(lit).toBeGreaterThan(10);
    expect(near(r.px(20, 20), QUAD.tl, 5)).toBe(true);
  });

  it("blur it a little: edges soften, size stays", async () => {
    const r = await edit("blur it a little", "png");
    expect([r.width, r.height]).toEqual([W, H]);
    // on the red/white boundary the blur mixes both sides: red's green channel rises
    const edge = r.px(W / 2 - 1, H / 4);
    expect(edge[1]).toBeGreaterThan(QUAD.tl[1] + 20);
    expect(near(r.px(20, 20), QUAD.tl, 8)).toBe(true);
  });

  it("make it brighter", async () => {
    const before = await edit("rotate 0 degrees", "png");
    const r = await edit("make it brighter", "png");
    expect(r.mean()).toBeGreaterThan(before.mean() + 5);
  });

  it("for instagram: a 1080 square", async () => {
    const r = await edit("for instagram", "jpg");
    expect([r.format, r.width, r.height]).toEqual(["jpeg", 1080, 1080]);
  });

  it("instagram story: 1080x1920", async () => {
    const r = await edit("instagram story", "png");
    expect([r.width, r.height]).toEqual([1080, 1920]);
  });

  it("mirror it: left and right swap", async () => {
    const r = await edit("mirror it", "png");
    expect(near(r.px(20, 20), QUAD.tr, 5)).toBe(true);
    expect(near(r.px(W - 20, 20), QUAD.tl, 5)).toBe(true);
  });

  it("turn it upside down", async () => {
    const r = await edit("turn it upside down", "png");
    expect([r.width, r.height]).toEqual([W, H]);
    expect(near(r.px(20, 20), QUAD.br, 5)).toBe(true);
    expect(near(r.px(W - 20, H - 20), QUAD.tl, 5)).toBe(true);
  });

  it("crop to 16:9 then convert to jpeg", async () => {
    const r = await edit("crop to 16:9 then convert to jpeg", "jpg");
    expect([r.format, r.width, r.height]).toEqual(["jpeg", 400, 225]);
  });

  it("add 20px black padding on the left and right", async () => {
    const r = await edit("add 20px black padding on the left and right", "png");
    expect([r.width, r.height]).toEqual([440, 300]);
    expect(near(r.px(5, 20), [0, 0, 0], 5)).toBe(true);
    expect(near(r.px(25, 20), QUAD.tl, 5)).toBe(true);
  });

  it("make a thumbnail", async () => {
    const r = await edit("make a thumbnail", "png");
    expect([r.width, r.height]).toEqual([200, 150]);
  });

  it("invert the colours", async () => {
    const r = await edit("invert the colours", "png");
    expect(near(r.px(W - 20, H - 20), [255, 255, 255], 5)).toBe(true);
  });

  it("compress: a smaller webp", async () => {
    const r = await edit("compress", "webp");
    expect(r.format).toBe("webp");
  });
});
