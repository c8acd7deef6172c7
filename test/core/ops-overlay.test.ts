// Text and watermark overlays: where they land, how big, what colour and opacity, on stills and
// animations, and how hostile text and watermark files are handled.
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { placeBox, textForPango } from "../../src/core/ops/overlay.js";
import { makeImage } from "../helpers/images.js";
import { countChanged, decode, type RawResult, rawPng, rgbAt, runOp } from "../helpers/run-op.js";

const black = (width: number, height: number, alpha?: number) => makeImage({ width, height, color: "#000000", alpha });

/** Bounding box of pixels whose red band is lit (on a black base; GIF palettes may tint the others). */
function inkBox(img: RawResult, top = 0, height = img.height) {
  let minX = Number.POSITIVE_INFINITY;
  let minY = Number.POSITIVE_INFINITY;
  let maxX = -1;
  let maxY = -1;
  for (let y = top; y < top + height; y++) {
    for (let x = 0; x < img.width; x++) {
      if (rgbAt(img, x, y)[0] > 20) {
        minX = Math.min(minX, x);
        maxX = Math.max(maxX, x);
        minY = Math.min(minY, y - top);
        maxY = Math.max(maxY, y - top);
      }
    }
  }
  return { minX, minY, maxX, maxY, width: maxX - minX + 1, height: maxY - minY + 1 };
}

describe("placeBox", () => {
  const frame = { width: 100, height: 50 };
  const box = { width: 20, height: 10 };
  it.each([
    ["top-left", 5, 5],
    ["top", 40, 5],
    ["top-right", 75, 5],
    ["left", 5, 20],
    ["center", 40, 20],
    ["right", 75, 20],
    ["bottom-left", 5, 35],
    ["bottom", 40, 35],
    ["bottom-right", 75, 35],
  ] as const)("%s", (position, left, top) => {
    expect(placeBox(position, frame, box, 5)).toEqual({ left, top });
  });
});

describe("textForPango", () => {
  it("escapes markup so user text is only ever text", () => {
    expect(textForPango(`<span foreground="red">x</span> & 'y'`, 10, { width: 1000, height: 1000 })).toBe(
      "&lt;span foreground=&quot;red&quot;&gt;x&lt;/span&gt; &amp; &#39;y&#39;",
    );
  });

  it("drops control characters but keeps newlines", () => {
    expect(textForPango("a\u0000b\u0007c\r\nd\te", 10, { width: 1000, height: 1000 })).toBe("abc\nd\te");
  });

  it("keeps no more characters than could be visible", () => {
    const s = textForPango("x".repeat(500), 100, { width: 100, height: 100 });
    expect(s.length).toBeLessThan(50);
    expect(s.length).toBeGreaterThan(4);
  });
});

describe("text", () => {
  it("changes pixels only in the chosen corner", async () => {
    const input = await black(240, 160);
    const before = await decode(input);
    for (const [position, inCorner] of [
      ["bottom-right", (x: number, y: number) => x >= 120 && y >= 80],
      ["top-left", (x: number, y: number) => x < 120 && y < 80],
      ["top-right", (x: number, y: number) => x >= 120 && y < 80],
    ] as const) {
      const out = await runOp(input, { op: "text", text: "(c) imgedit", position, opacity: 1 });
      const changed = countChanged(before, out, inCorner);
      expect(changed.inside, position).toBeGreaterThan(20);
      expect(changed.outside, position).toBe(0);
    }
  });

  it("defaults to about 5% of the image height, and honours an explicit size", async () => {
    const input = await black(600, 400);
    const auto = inkBox(await runOp(input, { op: "text", text: "Hg", opacity: 1 }));
    expect(auto.height).toBeGreaterThan(400 * 0.03);
    expect(auto.height).toBeLessThan(400 * 0.08);
    const big = inkBox(await runOp(input, { op: "text", text: "Hg", size: 80, opacity: 1 }));
    expect(big.height).toBeGreaterThan(60);
    expect(big.height).toBeLessThan(100);
  });

  it("draws in the colour asked for", async () => {
    const out = await runOp(await black(200, 100), {
      op: "text",
      text: "RED",
      size: 40,
      color: "red",
      opacity: 1,
      position: "center",
    });
    let reds = 0;
    for (let y = 0; y < out.height; y++)
      for (let x = 0; x < out.width; x++) {
        const [r, g, b] = rgbAt(out, x, y);
        if (r > 240 && g < 15 && b < 15) reds++;
      }
    expect(reds).toBeGreaterThan(50);
  });

  it("blends with the opacity (and the colour's own alpha)", async () => {
    const input = await black(200, 100);
    const peak = (img: RawResult) =>
      Math.max(...Array.from({ length: img.width * img.height }, (_, i) => img.data[i * img.channels]));
    expect(peak(await runOp(input, { op: "text", text: "M", size: 60, opacity: 1 }))).toBeGreaterThan(250);
    const half = peak(await runOp(input, { op: "text", text: "M", size: 60, opacity: 0.5 }));
    expect(Math.abs(half - 128)).toBeLessThanOrEqual(4);
    const quarter = peak(await runOp(input, { op: "text", text: "M", size: 60, opacity: 0.5, color: "#ffffff80" }));
    expect(Math.abs(quarter - 64)).toBeLessThanOrEqual(4);
    expect(peak(await runOp(input, { op: "text", text: "M", size: 60, opacity: 0 }))).toBe(0);
  });

  it("keeps the channel layout: no alpha added, alpha kept", async () => {
    expect((await runOp(await black(80, 40), { op: "text", text: "a" })).channels).toBe(3);
    const withAlpha = await runOp(await black(80, 40, 128), { op: "text", text: "a", position: "top-left" });
    expect(withAlpha.channels).toBe(4);
    expect(rgbAt(withAlpha, 79, 39)[3]).toBe(128);
  });

  it("draws colour on a one-band greyscale image", async () => {
    const grey = await rawPng(Buffer.alloc(120 * 60, 0), 120, 60, 1);
    const out = await runOp(grey, { op: "text", text: "X", size: 40, color: "red", opacity: 1, position: "center" });
    const [r, g] = rgbAt(out, 60, 30);
    expect(r).toBeGreaterThan(200);
    expect(g).toBeLessThan(40);
  });

  it("renders hostile text literally and bounds the work", async () => {
    const input = await black(120, 60);
    const markup = await runOp(input, { op: "text", text: '<span size="999999">x</span>', opacity: 1, size: 10 });
    expect([markup.width, markup.height]).toEqual([120, 60]);
    expect(inkBox(markup).width).toBeGreaterThan(60); // the tags are drawn as characters
    const huge = await runOp(input, { op: "text", text: "W".repeat(500), size: 2000, opacity: 1 });
    expect([huge.width, huge.height]).toEqual([120, 60]);
  });

  it("leaves the image alone when nothing printable is left of the text", async () => {
    const input = await black(40, 20);
    const out = await runOp(input, { op: "text", text: "\u0007\u0000 \n", opacity: 1 });
    expect(out.data.equals((await decode(input)).data)).toBe(true);
  });

  // libvips refuses text Pango draws no ink for ("no text to render"): like whitespace, no change
  it.each([
    ["a zero-width space", { text: "\u200b" }],
    ["a soft hyphen", { text: "\u00ad" }],
    ["zero-width joiners and a word joiner", { text: "\u200b\u200c\u200d\u2060\ufeff" }],
    [
      "a text that starts with more line breaks than fit, at a large size",
      { text: `${"\n".repeat(10)}x\u2028x`, size: 60 },
    ],
    ["the same, small", { text: `${"\n".repeat(10)}x`, size: 8 }],
  ])("leaves the image alone for %s", async (_, spec) => {
    const input = await black(60, 60);
    const out = await runOp(input, { op: "text", opacity: 1, ...spec });
    expect(out.data.equals((await decode(input)).data)).toBe(true);
  });

  it("still draws a visible character after invisible ones", async () => {
    const out = await runOp(await black(60, 60), { op: "text", text: "\u200bX", size: 20, opacity: 1 });
    expect(inkBox(out).width).toBeGreaterThan(5);
  });

  it("draws on every frame of an animation at the same place", async () => {
    const gif = await makeImage({ width: 80, height: 40, pages: 3, format: "gif", color: "#000000" });
    const out = await runOp(
      gif,
      { op: "text", text: "Hi", size: 16, opacity: 1, position: "top-left" },
      { animated: true },
    );
    expect([out.width, out.height]).toEqual([80, 120]);
    const boxes = [0, 1, 2].map((page) => inkBox(out, page * 40, 40));
    expect(boxes[0].width).toBeGreaterThan(5);
    expect(boxes[1]).toEqual(boxes[0]);
    expect(boxes[2]).toEqual(boxes[0]);
    expect(boxes[0].maxY).toBeLessThan(20);
  });
});

describe("watermark", () => {
  const redSquare = () =>
    sharp({ create: { width: 50, height: 50, channels: 3, background: "#ff0000" } })
      .png()
      .toBuffer();
  const url = "https://assets.example/logo.png";

  it("appears at the position, scaled to the base width, with the opacity", async () => {
    const logo = await redSquare();
    const seen: string[] = [];
    const out = await runOp(
      await black(200, 100),
      { op: "watermark", url, position: "top-left", opacity: 0.5, scale: 0.25 },
      {
        loadAsset: async (u) => {
          seen.push(u);
          return logo;
        },
      },
    );
    expect(seen).toEqual([url]);
    expect(out.channels).toBe(3);
    const box = inkBox(out);
    expect(box.width).toBe(50); // 25% of 200
    expect(box.height).toBe(50);
    expect(box.minX).toBeLessThan(10);
    expect(box.minY).toBeLessThan(10);
    const [r, g, b] = rgbAt(out, box.minX + 25, box.minY + 25);
    expect(Math.abs(r - 128)).toBeLessThanOrEqual(3);
    expect([g, b]).toEqual([0, 0]);
  });

  it("lands bottom-right by default and never outgrows a frame", async () => {
    const out = await runOp(
      await black(200, 40),
      { op: "watermark", url, scale: 1, opacity: 1 },
      { loadAsset: async () => redSquare() },
    );
    const box = inkBox(out);
    expect(box.height).toBeLessThanOrEqual(40);
    expect(box.maxX).toBeGreaterThan(190);
    expect(box.maxY).toBeGreaterThan(35);
  });

  it("is drawn on every frame of an animation", async () => {
    const gif = await makeImage({ width: 60, height: 30, pages: 2, format: "gif", color: "#000000" });
    const out = await runOp(
      gif,
      { op: "watermark", url, position: "center", opacity: 1, scale: 0.2 },
      { animated: true, loadAsset: async () => redSquare() },
    );
    expect(inkBox(out, 0, 30)).toEqual(inkBox(out, 30, 30));
    expect(inkBox(out, 0, 30).width).toBe(12);
  });

  const refuse = async (asset: Buffer, code: string, limits = {}) => {
    const run = runOp(await black(50, 50), { op: "watermark", url }, { loadAsset: async () => asset, limits });
    await expect(run).rejects.toMatchObject({ code, field: "url" });
  };

  it("refuses a watermark file over the byte limit", async () => {
    await refuse(await redSquare(), "IMAGE_TOO_LARGE", { maxImageBytes: 10 });
  });

  it("refuses a watermark over the dimension limit (from its header)", async () => {
    const wide = await sharp({ create: { width: 300, height: 10, channels: 3, background: "red" } })
      .png()
      .toBuffer();
    await refuse(wide, "DIMENSIONS_TOO_LARGE", { maxDimension: 200 });
    await expect(
      runOp(
        await black(50, 50),
        { op: "watermark", url },
        { loadAsset: async () => wide, limits: { maxDimension: 200 } },
      ),
    ).rejects.toThrow("watermark image is 300x10; the limit is 200 px per side");
  });

  it("refuses a watermark over the pixel limit", async () => {
    await refuse(await redSquare(), "PIXEL_LIMIT", { maxInputPixels: 1000 });
  });

  it("refuses bytes that are not an image, and SVG unless allowed", async () => {
    await refuse(Buffer.from("definitely not an image"), "UNSUPPORTED_FORMAT");
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="red"/></svg>',
    );
    await refuse(svg, "UNSUPPORTED_FORMAT");
    const out = await runOp(
      await black(50, 50),
      { op: "watermark", url, opacity: 1, scale: 0.5 },
      { loadAsset: async () => svg, limits: { allowSvg: true } },
    );
    expect(inkBox(out).width).toBe(25);
  });

  it("reports a truncated watermark file as corrupt", async () => {
    const png = await redSquare();
    await refuse(png.subarray(0, 60), "CORRUPT_IMAGE");
  });
});
