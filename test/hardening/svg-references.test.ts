// SVG (ALLOW_SVG) written to slip past the checks made before librsvg renders it:
// - data: URLs spelled the many ways librsvg's URL parser accepts (whitespace in the header, case,
//   character references, CSS escapes, quotes): each must be found and probed, or the embedded
//   bomb, the "SVG inside SVG" and the 64-URL checks are bypassed. Every spelling below is first
//   shown to be live: librsvg draws the small red PNG it carries.
// - work multiplied through references: one filter or a full-canvas shape drawn again through
//   nested <use> (and patterns, markers, style sheets) runs in one call the time limit cannot stop.
import { crc32 } from "node:zlib";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { ImageEditError } from "../../src/core/errors.js";
import { DEFAULT_LIMITS, type Limits } from "../../src/core/limits.js";
import { probeImage, processImage } from "../../src/core/pipeline.js";
import { validatePlan } from "../../src/core/plan.js";

const ON: Limits = { ...DEFAULT_LIMITS, allowSvg: true, processTimeoutMs: 30_000 };
const NS = `xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"`;
const svg = (body: string, size = 100, prolog = "") =>
  Buffer.from(
    `${prolog}<svg ${NS} width="${size}" height="${size}"><rect width="${size}" height="${size}" fill="#fff"/>${body}</svg>`,
  );
const b64 = (b: Buffer) => b.toString("base64");

async function refusal(p: Promise<unknown>): Promise<ImageEditError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, "should have been refused").toBeInstanceOf(ImageEditError);
  return e as ImageEditError;
}

/** Red pixels librsvg draws for `input` (0 when it ignores what the SVG embeds). */
async function redPixels(input: Buffer): Promise<number> {
  const { data, info } = await sharp(input).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let red = 0;
  for (let i = 0; i < data.length; i += info.channels) if (data[i] > 180 && data[i + 1] < 90 && data[i + 2] < 90) red++;
  return red;
}

let red: Buffer;
let bomb: Buffer;
beforeAll(async () => {
  red = await sharp({ create: { width: 16, height: 16, channels: 3, background: "#ff0000" } })
    .png()
    .toBuffer();
  // The same PNG with an IHDR (CRC recomputed) claiming 20000x20000: the probe reads only headers.
  bomb = Buffer.from(red);
  bomb.writeUInt32BE(20_000, 16);
  bomb.writeUInt32BE(20_000, 20);
  bomb.writeUInt32BE(crc32(bomb.subarray(12, 29)), 29);
});

describe("SVG data: URLs: every spelling librsvg decodes is probed", () => {
  const image = (href: string, q = '"') => `<image width="100" height="100" href=${q}${href}${q}/>`;
  // [name, body from (base64 of a PNG)]
  const spellings: [string, (data: string) => string][] = [
    ["a space after ';'", (d) => image(`data:image/png; base64,${d}`)],
    ["spaces around ';' and before ','", (d) => image(`data:image/png ;  base64  ,${d}`)],
    ["a space after 'data:'", (d) => image(`data: image/png;base64,${d}`)],
    ["leading spaces", (d) => image(`   data:image/png;base64,${d}`)],
    ["a tab reference in the header", (d) => image(`data:image/png;&#9;base64,${d}`)],
    ["a literal tab in the header", (d) => image(`data:image/png;\tbase64,${d}`)],
    ["a newline reference inside 'data'", (d) => image(`da&#10;ta:image/png;base64,${d}`)],
    ["tab and CR references in scheme and 'base64'", (d) => image(`d&#9;at&#13;a:image/png;bas&#9;e64,${d}`)],
    ["upper case DATA: and BASE64", (d) => image(`DATA:image/png;BASE64,${d}`)],
    ["&#100;ata:", (d) => image(`&#100;ata:image/png;base64,${d}`)],
    ["data&#58;", (d) => image(`data&#58;image/png;base64,${d}`)],
    ["a ';' and a ',' as references", (d) => image(`data:image/png&#59;base64&#44;${d}`)],
    ["&quot; in the header of a single-quoted value", (d) => image(`data:image/png&quot;;base64,${d}`, "'")],
    ["&lt; in the header", (d) => image(`data:image/png&lt;;base64,${d}`)],
    ["no media type", (d) => image(`data:;base64,${d}`)],
    [
      "a percent-escaped base64 payload",
      (d) => image(`data:image/png;base64,%${d.charCodeAt(0).toString(16)}${d.slice(1)}`),
    ],
    [
      "xlink:href under another prefix",
      (d) =>
        `<image width="100" height="100" xmlns:q="http://www.w3.org/1999/xlink" q:href="Data: image/png;Base64,${d}"/>`,
    ],
    [
      "feImage",
      (d) =>
        `<filter id="f" x="0" y="0" width="1" height="1"><feImage width="100" height="100" href="data:image/png; base64,${d}"/></filter><rect width="100" height="100" filter="url(#f)"/>`,
    ],
  ];

  it.each(spellings)(
    "%s: librsvg decodes it, so a 20000x20000 one is refused before rendering",
    async (_name, place) => {
      const live = svg(place(b64(red)));
      expect(await redPixels(live), "librsvg draws the embedded image").toBeGreaterThan(0);
      expect((await probeImage(live, ON)).format).toBe("svg");
      const e = await refusal(probeImage(svg(place(b64(bomb))), ON));
      expect(e.code, e.message).toBe("DIMENSIONS_TOO_LARGE");
      expect(e.message).toMatch(/^image 1 embedded in the SVG as a data: URL: image is 20000x20000/);
    },
  );

  it("the full pipeline refuses the spaced bomb (data:image/png; base64,...) too", async () => {
    const input = svg(image(`data:image/png; base64,${b64(bomb)}`));
    const e = await refusal(processImage(input, validatePlan([{ op: "resize", width: 50 }], ON), { limits: ON }));
    expect(e.code).toBe("DIMENSIONS_TOO_LARGE");
  });

  it("more than 64 data: URLs are refused however they are spelled", async () => {
    const spelled = ["data: image/png;base64,", "DATA:image/png; base64,", "&#100;ata:image/png;base64,"];
    const input = svg(
      Array.from({ length: 65 }, (_, i) => image(`${spelled[i % spelled.length]}${b64(red)}`)).join(""),
    );
    const e = await refusal(probeImage(input, ON));
    expect([e.code, e.message]).toEqual([
      "UNSUPPORTED_FORMAT",
      "the SVG embeds 65 data: URLs; at most 64 are accepted",
    ]);
  });

  describe("an SVG inside the SVG is refused however it is referenced and spelled", () => {
    const inner = Buffer.from(
      `<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><linearGradient id="g"><stop stop-color="#f00"/></linearGradient><rect id="r" width="100" height="100" fill="#f00"/></svg>`,
    );
    it.each([
      [
        "<image>, a space in the header",
        `<image width="100" height="100" href="data:image/svg+xml; base64,${b64(inner)}"/>`,
      ],
      ["<use>, upper case", `<use href="DATA:image/svg+xml;base64,${b64(inner)}#r"/>`],
      [
        "a CSS escape in a style attribute",
        `<rect width="100" height="100" style="fill: url('\\64 ata:image/svg+xml;base64,${b64(inner)}#g')"/>`,
      ],
      [
        "an escaped newline inside 'data' in a style attribute",
        `<rect width="100" height="100" style="fill: url('da\\a ta:image/svg+xml;base64,${b64(inner)}#g')"/>`,
      ],
    ])("%s", async (_name, body) => {
      expect(await redPixels(svg(body)), "librsvg draws the inner SVG").toBeGreaterThan(0);
      const e = await refusal(probeImage(svg(body), ON));
      expect([e.code, e.message]).toEqual([
        "UNSUPPORTED_FORMAT",
        "image 1 embedded in the SVG as a data: URL is an SVG; an SVG may embed only raster images",
      ]);
    });
  });

  it.each([
    [
      "@import of a data: URL",
      (css: string) =>
        svg(`<style>@import url("data:text/css; base64,${css}");</style><rect class="x" width="100" height="100"/>`),
    ],
    [
      "@import of a data: URL labelled image/png",
      (css: string) =>
        svg(`<style>@import "data:image/png;base64,${css}";</style><rect class="x" width="100" height="100"/>`),
    ],
    [
      "an xml-stylesheet instruction",
      (css: string) =>
        svg(
          `<rect class="x" width="100" height="100"/>`,
          100,
          `<?xml-stylesheet type="text/css" href="&#100;ata:text/css;base64,${css}"?>`,
        ),
    ],
  ])("a style sheet loaded from a data: URL (%s) is refused: no check could see what it draws", async (_n, make) => {
    const input = make(Buffer.from("rect.x { fill: #f00 }").toString("base64"));
    expect(await redPixels(input), "librsvg applies the style sheet").toBeGreaterThan(0);
    const e = await refusal(probeImage(input, ON));
    expect(e.code).toBe("UNSUPPORTED_FORMAT");
    expect(e.message).toMatch(
      /^the SVG has a data: URL holding text in a <style> element or xml-stylesheet instruction/,
    );
  });

  it("text that only looks like a data: URL is not probed (metadata:, a label)", async () => {
    const input = svg(
      `<metadata>data: 2020, 2021</metadata><text x="0" y="50" aria-label="metadata:x,y">Source data: a, b</text>`,
    );
    expect((await probeImage(input, ON)).format).toBe("svg");
  });
});

describe("SVG work multiplied through references is bounded before rendering", () => {
  const blur = (size: number) =>
    `<filter id="f" filterUnits="userSpaceOnUse" x="0" y="0" width="${size}" height="${size}"><feGaussianBlur stdDeviation="20"/></filter>`;
  /** `fan` <use> of the level below, `depth` levels over `leaf` (id g0); one <use> of the top. */
  const fanOut = (leaf: string, fan: number, depth: number) => {
    let s = leaf;
    for (let d = 1; d <= depth; d++) s += `<g id="g${d}">${`<use href="#g${d - 1}"/>`.repeat(fan)}</g>`;
    return `<defs>${s}</defs><use href="#g${depth}"/>`;
  };

  it("one blur drawn 100 times through <use> on a 2000x2000 canvas is refused, naming what is over which limit", async () => {
    const input = svg(
      fanOut(`${blur(2000)}<rect id="g0" width="2000" height="2000" fill="red" filter="url(#f)"/>`, 100, 1),
      2000,
    );
    const e = await refusal(probeImage(input, ON));
    expect(e.code).toBe("PIXEL_LIMIT");
    expect(e.message).toMatch(
      /^the SVG applies filter primitives 100 times to a 2000x2000 canvas \(its 1 primitive drawn through <use> or other references, or on several elements\): librsvg renders a canvas-sized copy per primitive applied \(424,000,000 pixels in all; the limit is 128,000,000\): give the SVG a width and height of at most 1098 px on the longer side, or use fewer filters$/,
    );
    expect(e.details).toMatchObject({ width: 2000, height: 2000, primitives: 100, limit: 128_000_000 });
  });

  it("10,000 applications (four levels of ten <use>) are refused as well", async () => {
    const input = svg(
      fanOut(`${blur(2000)}<rect id="g0" width="2000" height="2000" fill="red" filter="url(#f)"/>`, 10, 4),
      2000,
    );
    const e = await refusal(probeImage(input, ON));
    expect(e.code).toBe("PIXEL_LIMIT");
    expect(e.message).toMatch(/^the SVG applies filter primitives 10,000 times to a 2000x2000 canvas/);
  });

  it("a 'billion laughs' of <use> over a plain full-canvas rect is refused by count", async () => {
    const input = svg(fanOut(`<rect id="g0" width="100" height="100" fill="red"/>`, 10, 9));
    const e = await refusal(probeImage(input, ON));
    expect(e.code).toBe("PIXEL_LIMIT");
    expect(e.message).toBe(
      "the SVG draws 2,222,222,221 elements again through <use> and other references (patterns, markers, masks, clip paths, filters); at most 100,000 are accepted",
    );
  });

  it("1,000 full-canvas copies on a 2000x2000 canvas are refused by their pixels", async () => {
    const input = svg(fanOut(`<rect id="g0" width="2000" height="2000" fill="red" opacity="0.5"/>`, 10, 3), 2000);
    const e = await refusal(probeImage(input, ON));
    expect(e.code).toBe("PIXEL_LIMIT");
    expect(e.message).toMatch(
      /^the SVG draws 2,221 elements again through <use> and other references on a 2000x2000 canvas: .*the limit is 4,000,000,000\): give the SVG a width and height of at most 1342 px on the longer side, or use fewer copies$/,
    );
  });

  it.each([
    [
      "a pattern whose tile holds 100 filtered rects, filling 100 rects",
      svg(
        `${blur(1000)}<defs><rect id="b" width="10" height="10" filter="url(#f)"/><pattern id="p" width="1000" height="1000" patternUnits="userSpaceOnUse">${'<use href="#b"/>'.repeat(100)}</pattern></defs>${'<rect width="1000" height="1000" fill="url(#p)"/>'.repeat(100)}`,
        1000,
      ),
      /^the SVG applies filter primitives 10,000 times/,
    ],
    [
      "a filtered marker on every vertex of a path drawn ten times",
      svg(
        `${blur(1000)}<defs><marker id="m" markerWidth="1000" markerHeight="1000"><rect width="1000" height="1000" filter="url(#f)"/></marker><path id="l" d="M0 0${" L1 1".repeat(200)}" marker-mid="url(#m)"/></defs>${'<use href="#l"/>'.repeat(10)}`,
        1000,
      ),
      /^the SVG applies filter primitives [\d,]+ times/,
    ],
    [
      "a filter given by a style sheet rule to a class drawn 10,000 times",
      svg(
        `${blur(1000)}<style>.s { filter: url(#f) }</style>${fanOut(`<rect id="g0" class="s" width="1000" height="1000"/>`, 10, 4)}`,
        1000,
      ),
      /^the SVG applies filter primitives 10,000 times/,
    ],
    [
      "a CSS blur() drawn 10,000 times",
      svg(fanOut(`<rect id="g0" width="1000" height="1000" style="filter: blur(20px)"/>`, 10, 4), 1000),
      /^the SVG applies filter primitives 10,000 times/,
    ],
    [
      "a 1,000-character text drawn 100 times",
      svg(fanOut(`<text id="g0" x="0" y="50">${"abcdefghij".repeat(100)}</text>`, 100, 1)),
      /^the SVG draws 100,000 characters of text again through <use>/,
    ],
    [
      "a 50 KB path drawn 100 times",
      svg(fanOut(`<path id="g0" d="M0 0${" L7 13 L2 90".repeat(4000)}"/>`, 100, 1)),
      /^the SVG draws elements whose path data and other attributes add up to [\d,]+ characters again through <use>/,
    ],
  ])("%s is refused", async (_name, input, message) => {
    const e = await refusal(probeImage(input, ON));
    expect(e.code).toBe("PIXEL_LIMIT");
    expect(e.message).toMatch(message);
  });

  it("an embedded 5000x5000 PNG drawn 1,000 times is refused: librsvg scales all of it for every copy", async () => {
    // Within the embedded-image limits; the IHDR claims 5000x5000 (CRC recomputed).
    const big = Buffer.from(red);
    big.writeUInt32BE(5000, 16);
    big.writeUInt32BE(5000, 20);
    big.writeUInt32BE(crc32(big.subarray(12, 29)), 29);
    const image = (png: Buffer) => `<image id="g0" width="10" height="10" href="data:image/png;base64,${b64(png)}"/>`;
    const e = await refusal(probeImage(svg(fanOut(image(big), 10, 3), 10), ON));
    expect(e.code).toBe("PIXEL_LIMIT");
    expect(e.message).toBe(
      "the SVG draws embedded images with 25,000,000,000 pixels in all again through <use> and other references (patterns, markers, masks, clip paths, filters); the limit is 4,000,000,000",
    );
    // The small one drawn as often is fine.
    expect((await probeImage(svg(fanOut(image(red), 10, 3), 10), ON)).format).toBe("svg");
  });

  it("icons and logos with a few uses still render", async () => {
    const plan = validatePlan([{ op: "format", format: "png" }], ON);
    const icons = svg(
      `<defs><symbol id="star" viewBox="0 0 24 24"><path d="M12 2l3 7h7l-6 4 2 7-6-4-6 4 2-7-6-4h7z" fill="red"/></symbol></defs>${Array.from(
        { length: 50 },
        (_, i) => `<use href="#star" x="${(i % 10) * 100}" y="${Math.floor(i / 10) * 100}" width="90" height="90"/>`,
      ).join("")}`,
      1024,
    );
    expect(await processImage(icons, plan, { limits: ON })).toMatchObject({ width: 1024, format: "png" });
    const logo = svg(
      `<defs><filter id="s"><feGaussianBlur in="SourceAlpha" stdDeviation="4"/><feOffset dx="4" dy="4"/><feMerge><feMergeNode/><feMergeNode in="SourceGraphic"/></feMerge></filter><g id="mark"><circle cx="100" cy="100" r="80" fill="teal"/><path d="M60 100h80" stroke="#fff" stroke-width="12"/></g></defs><use href="#mark" filter="url(#s)"/><use href="#mark" x="250" filter="url(#s)"/><use href="#mark" x="500"/>`,
      800,
    );
    expect(await processImage(logo, plan, { limits: ON })).toMatchObject({ width: 800, format: "png" });
  });

  it("a circular <use> is neither followed forever nor refused", async () => {
    const input = svg(`<defs><g id="a"><use href="#b"/></g><g id="b"><use href="#a"/></g></defs><use href="#a"/>`);
    expect((await probeImage(input, ON)).format).toBe("svg");
  });
});
