// Colour and tone operations: each asserts its effect on pixels of images made here.
import { describe, expect, it } from "vitest";
import { makeImage } from "../helpers/images.js";
import { bandStats, rawPng, rgbAt, runOp } from "../helpers/run-op.js";

const solid = (color: string, alpha?: number) => makeImage({ width: 16, height: 12, color, alpha });
const gradient = () => makeImage({ width: 64, height: 48, gradient: true });
const luma = (px: number[]) => 0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2];

describe("grayscale", () => {
  it("makes r = g = b everywhere and keeps alpha", async () => {
    const out = await runOp(await makeImage({ width: 32, height: 24, quadrants: true, alpha: 200 }), {
      op: "grayscale",
    });
    expect(out.channels).toBe(4);
    for (const [x, y] of [
      [2, 2],
      [30, 2],
      [2, 22],
      [30, 22],
    ]) {
      const [r, g, b, a] = rgbAt(out, x, y);
      expect(Math.abs(r - g)).toBeLessThanOrEqual(1);
      expect(Math.abs(g - b)).toBeLessThanOrEqual(1);
      expect(a).toBe(200);
    }
    // yellow stays lighter than blue
    expect(rgbAt(out, 30, 22)[0]).toBeGreaterThan(rgbAt(out, 2, 22)[0] + 50);
  });
});

describe("sepia", () => {
  it("turns grey into a warm brown (r > g > b)", async () => {
    const [r, g, b] = rgbAt(await runOp(await solid("#808080"), { op: "sepia" }), 5, 5);
    expect(r).toBeGreaterThan(g);
    expect(g).toBeGreaterThan(b);
    expect(r - b).toBeGreaterThan(30);
  });
});

describe("negate", () => {
  it("inverts (10,20,30) to (245,235,225) and keeps alpha", async () => {
    const input = await rawPng(Buffer.from(Array(4).fill([10, 20, 30, 99]).flat()), 2, 2, 4);
    expect(rgbAt(await runOp(input, { op: "negate" }), 1, 1)).toEqual([245, 235, 225, 99]);
  });
});

describe("normalize", () => {
  it("stretches a low-contrast image to the full range", async () => {
    const values = Array.from({ length: 64 }, (_, i) => 100 + Math.floor(i / 2)); // 100..131
    const input = await rawPng(Buffer.from(values.flatMap((v) => [v, v, v])), 8, 8, 3);
    const out = await runOp(input, { op: "normalize" });
    const before = { min: 100, max: 131 };
    const px = Array.from({ length: 64 }, (_, i) => out.data[i * 3]);
    expect(Math.min(...px)).toBeLessThan(before.min - 60);
    expect(Math.max(...px)).toBeGreaterThan(before.max + 60);
  });
});

describe("tint", () => {
  it("tints grey red", async () => {
    const [r, g, b] = rgbAt(await runOp(await solid("#808080"), { op: "tint", color: "red" }), 3, 3);
    expect(r).toBeGreaterThan(g + 60);
    expect(r).toBeGreaterThan(b + 60);
  });

  it("tints a one-band greyscale image too", async () => {
    const input = await rawPng(Buffer.alloc(16, 128), 4, 4, 1);
    const [r, g, b] = rgbAt(await runOp(input, { op: "tint", color: "#0000ff" }), 1, 1);
    expect(b).toBeGreaterThan(r + 60);
    expect(b).toBeGreaterThan(g + 30);
  });
});

describe("brightness", () => {
  it("1.5 raises the mean, 0.5 lowers it, 1 keeps it", async () => {
    const input = await gradient();
    const base = bandStats(await runOp(input, { op: "brightness", factor: 1 }), 1).mean;
    const brighter = bandStats(await runOp(input, { op: "brightness", factor: 1.5 }), 1).mean;
    const darker = bandStats(await runOp(input, { op: "brightness", factor: 0.5 }), 1).mean;
    expect(brighter).toBeGreaterThan(base + 20);
    expect(darker).toBeLessThan(base - 20);
  });

  it("0 is black", async () => {
    expect(rgbAt(await runOp(await solid("#c08040"), { op: "brightness", factor: 0 }), 2, 2)).toEqual([0, 0, 0]);
  });
});

describe("contrast", () => {
  it("2 raises the standard deviation around mid-grey, 0.5 lowers it", async () => {
    const values = Array.from({ length: 64 }, (_, i) => 80 + Math.round(i * 1.5)); // 80..175: no clipping at 2x
    const input = await rawPng(Buffer.from(values.flatMap((v) => [v, v, v])), 8, 8, 3);
    const base = bandStats(await runOp(input, { op: "contrast", factor: 1 }), 1);
    const more = bandStats(await runOp(input, { op: "contrast", factor: 2 }), 1);
    const less = bandStats(await runOp(input, { op: "contrast", factor: 0.5 }), 1);
    expect(more.stdev).toBeGreaterThan(base.stdev * 1.9);
    expect(less.stdev).toBeLessThan(base.stdev * 0.6);
    // mid-grey stays put
    expect(rgbAt(await runOp(await solid("#808080"), { op: "contrast", factor: 2 }), 1, 1)[0]).toBeCloseTo(128, -1);
  });
});

describe("saturation", () => {
  it("0 turns colour grey, 2 makes it more vivid", async () => {
    const input = await solid("#c06040");
    const [r, g, b] = rgbAt(await runOp(input, { op: "saturation", factor: 0 }), 2, 2);
    expect(Math.max(r, g, b) - Math.min(r, g, b)).toBeLessThanOrEqual(2);
    const vivid = rgbAt(await runOp(input, { op: "saturation", factor: 2 }), 2, 2);
    expect(vivid[0] - vivid[2]).toBeGreaterThan(0xc0 - 0x40);
  });
});

describe("hue", () => {
  it("180 degrees turns red cyan-ish", async () => {
    const [r, g, b] = rgbAt(await runOp(await solid("red"), { op: "hue", degrees: 180 }), 2, 2);
    expect(g).toBeGreaterThan(r + 50);
    expect(b).toBeGreaterThan(r + 50);
  });

  it("360 degrees is a full turn", async () => {
    const [r, g, b] = rgbAt(await runOp(await solid("#c06040"), { op: "hue", degrees: 360 }), 2, 2);
    expect([r, g, b].map((v, i) => Math.abs(v - [0xc0, 0x60, 0x40][i]) <= 3)).toEqual([true, true, true]);
  });
});

describe("gamma", () => {
  it("2.2 lifts the midtones like ImageMagick -gamma, leaving black and white", async () => {
    const input = await rawPng(Buffer.from([0, 0, 0, 128, 128, 128, 255, 255, 255]), 3, 1, 3);
    const out = await runOp(input, { op: "gamma", value: 2.2 });
    expect(rgbAt(out, 0, 0)[0]).toBe(0);
    expect(rgbAt(out, 2, 0)[0]).toBe(255);
    // 255 * (128/255)^(1/2.2) = 186
    expect(Math.abs(rgbAt(out, 1, 0)[0] - 186)).toBeLessThanOrEqual(3);
  });
});

describe("threshold", () => {
  it("leaves only black and white, split at the value", async () => {
    const out = await runOp(await gradient(), { op: "threshold", value: 100 });
    const values = new Set<number>();
    for (let i = 0; i < out.width * out.height; i++) {
      for (let c = 0; c < Math.min(3, out.channels); c++) values.add(out.data[i * out.channels + c]);
    }
    expect([...values].sort((a, b) => a - b)).toEqual([0, 255]);
    expect(rgbAt(out, 0, 0)[0]).toBe(0); // dark corner
    expect(rgbAt(out, 63, 47)[0]).toBe(255); // light corner
  });

  it("keeps alpha", async () => {
    const out = await runOp(await solid("#404040", 77), { op: "threshold", value: 128 });
    expect(out.channels).toBe(4);
    expect(rgbAt(out, 1, 1)).toEqual([0, 0, 0, 77]);
  });

  // sharp takes threshold(0) for "off"; every luminance is >= 0, so everything turns white
  it("at 0 makes every pixel white, black ones too, and keeps alpha", async () => {
    const out = await runOp(await gradient(), { op: "threshold", value: 0 });
    expect(rgbAt(out, 0, 0).slice(0, 3)).toEqual([255, 255, 255]); // the gradient's darkest corner
    for (let c = 0; c < Math.min(3, out.channels); c++) expect(bandStats(out, c)).toEqual({ mean: 255, stdev: 0 });
    const black = await runOp(await solid("#000000", 77), { op: "threshold", value: 0 });
    expect(black.channels).toBe(4);
    expect(bandStats(black, 0)).toEqual({ mean: 255, stdev: 0 });
    expect(bandStats(black, 3)).toEqual({ mean: 77, stdev: 0 });
  });

  it("at 1 keeps black pixels black", async () => {
    const input = await rawPng(Buffer.from([0, 0, 0, 1, 1, 1]), 2, 1, 3);
    const out = await runOp(input, { op: "threshold", value: 1 });
    expect([rgbAt(out, 0, 0)[0], rgbAt(out, 1, 0)[0]]).toEqual([0, 255]);
  });

  it("uses the luminance", async () => {
    const input = await rawPng(Buffer.from([255, 255, 0, 0, 0, 255]), 2, 1, 3); // yellow, blue
    const out = await runOp(input, { op: "threshold" });
    expect(luma(rgbAt(out, 0, 0))).toBe(255);
    expect(luma(rgbAt(out, 1, 0))).toBe(0);
  });
});

describe("posterize", () => {
  it("leaves `levels` evenly spaced values per channel, black and full among them", async () => {
    const out = await runOp(await gradient(), { op: "posterize", levels: 3 });
    const values = new Set<number>();
    for (let i = 0; i < out.width * out.height; i++)
      for (let c = 0; c < 3; c++) values.add(out.data[i * out.channels + c]);
    expect([...values].sort((a, b) => a - b)).toEqual([0, 128, 255]);
    expect(rgbAt(out, 0, 0).slice(0, 3)).toEqual([0, 0, 0]); // dark corner
    expect(rgbAt(out, 63, 47).slice(0, 2)).toEqual([255, 255]); // light corner (the gradient has no blue)
  });

  it("maps each value to the level of its band (4 levels: 0-63, 64-127, 128-191, 192-255)", async () => {
    const input = await rawPng(Buffer.from([63, 64, 127, 128, 191, 192]), 2, 1, 3);
    const out = await runOp(input, { op: "posterize", levels: 4 });
    expect(rgbAt(out, 0, 0)).toEqual([0, 85, 85]);
    expect(rgbAt(out, 1, 0)).toEqual([170, 170, 255]);
  });

  it("keeps alpha as it was", async () => {
    const out = await runOp(await solid("#404040", 77), { op: "posterize", levels: 2 });
    expect(out.channels).toBe(4);
    expect(rgbAt(out, 1, 1)).toEqual([0, 0, 0, 77]);
  });
});

describe("temperature", () => {
  const meanRminusB = (out: { data: Buffer; width: number; height: number; channels: number }) => {
    let sum = 0;
    for (let i = 0; i < out.width * out.height; i++) sum += out.data[i * out.channels] - out.data[i * out.channels + 2];
    return sum / (out.width * out.height);
  };

  it("warmer raises red against blue, cooler lowers it, green stays", async () => {
    const input = await solid("#808080");
    const before = meanRminusB(await runOp(input, { op: "brightness", factor: 1 }));
    const warm = await runOp(input, { op: "temperature", amount: 50 });
    const cool = await runOp(input, { op: "temperature", amount: -50 });
    expect(meanRminusB(warm)).toBeGreaterThan(before + 20);
    expect(meanRminusB(cool)).toBeLessThan(before - 20);
    expect(rgbAt(warm, 3, 3)[1]).toBe(128);
    expect(rgbAt(cool, 3, 3)[1]).toBe(128);
  });

  it("a larger amount warms more, and 0 changes nothing", async () => {
    const input = await gradient();
    const little = meanRminusB(await runOp(input, { op: "temperature", amount: 15 }));
    const lot = meanRminusB(await runOp(input, { op: "temperature", amount: 60 }));
    expect(lot).toBeGreaterThan(little);
    const plain = await runOp(input, { op: "brightness", factor: 1 });
    const zero = await runOp(input, { op: "temperature", amount: 0 });
    expect(rgbAt(zero, 40, 30)).toEqual(rgbAt(plain, 40, 30));
  });

  it("keeps alpha as it was", async () => {
    const out = await runOp(await solid("#808080", 77), { op: "temperature", amount: 80 });
    expect(out.channels).toBe(4);
    const [r, g, b, a] = rgbAt(out, 1, 1);
    expect(r).toBeGreaterThan(b + 40);
    expect(g).toBe(128);
    expect(a).toBe(77);
  });

  it("warms a greyscale image (it gains colour)", async () => {
    const out = await runOp(await rawPng(Buffer.alloc(4 * 4, 128), 4, 4, 1), { op: "temperature", amount: 60 });
    expect(out.channels).toBeGreaterThanOrEqual(3);
    expect(meanRminusB(out)).toBeGreaterThan(20);
  });
});

describe("colour operations on every channel layout and on animations", () => {
  const ops = [
    { op: "grayscale" },
    { op: "sepia" },
    { op: "negate" },
    { op: "normalize" },
    { op: "tint", color: "orange" },
    { op: "brightness", factor: 1.2 },
    { op: "contrast", factor: 1.5 },
    { op: "saturation", factor: 1.5 },
    { op: "hue", degrees: 90 },
    { op: "gamma", value: 2 },
    { op: "threshold", value: 100 },
    { op: "posterize", levels: 4 },
    { op: "temperature", amount: 40 },
    { op: "temperature", amount: -40 },
  ];

  it.each(ops)("$op works on 1, 2, 3 and 4 band inputs", async (op) => {
    for (const channels of [1, 2, 3, 4] as const) {
      const data = Buffer.alloc(6 * 4 * channels, 90);
      const out = await runOp(await rawPng(data, 6, 4, channels), op);
      expect([out.width, out.height]).toEqual([6, 4]);
      // alpha survives where there was one
      if (channels === 2 || channels === 4) expect(out.channels === 2 || out.channels === 4).toBe(true);
    }
  });

  it.each(ops)("$op keeps every frame of an animation", async (op) => {
    const gif = await makeImage({ width: 10, height: 8, pages: 3, format: "gif", color: "#4080c0" });
    const out = await runOp(gif, op, { animated: true });
    expect([out.width, out.height]).toEqual([10, 24]);
  });
});
