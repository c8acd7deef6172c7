// SVG at the header probe: refused by its bytes before any parser sees it when SVG is off; when
// on, every raster it embeds as a data: URL is held to the limits before librsvg decodes it.
import { crc32, gzipSync } from "node:zlib";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { ImageEditError } from "../../src/core/errors.js";
import { DEFAULT_LIMITS, type Limits } from "../../src/core/limits.js";
import { probeImage, processImage } from "../../src/core/pipeline.js";
import { validatePlan } from "../../src/core/plan.js";
import { MAX_SVG_BYTES } from "../../src/core/probe.js";
import { pixelAt, readPixels } from "../helpers/images.js";

const OFF: Limits = { ...DEFAULT_LIMITS, processTimeoutMs: 20_000 };
const ON: Limits = { ...OFF, allowSvg: true };
const NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"';
const svg = (body: string, prologue = "") =>
  Buffer.from(`${prologue}<svg ${NS} width="100" height="100">${body}</svg>`);

async function refusal(p: Promise<unknown>): Promise<ImageEditError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ImageEditError);
  return e as ImageEditError;
}

/** A small real PNG whose IHDR (CRC recomputed) claims width x height. */
function pngClaiming(png: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(png);
  out.writeUInt32BE(width, 16);
  out.writeUInt32BE(height, 20);
  out.writeUInt32BE(crc32(out.subarray(12, 29)), 29);
  return out;
}

let red: Buffer;
beforeAll(async () => {
  red = await sharp({ create: { width: 16, height: 16, channels: 3, background: "#ff0000" } })
    .png()
    .toBuffer();
});

describe("SVG off: refused by its bytes, never parsed", () => {
  const laughs = svg(
    "<text>&l9;</text>",
    `<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY l0 "ha">${Array.from(
      { length: 9 },
      (_, i) => `<!ENTITY l${i + 1} "${`&l${i};`.repeat(10)}">`,
    ).join("")}]>`,
  );
  it.each([
    ["a plain SVG", svg('<rect width="100" height="100"/>')],
    ["an entity bomb (once CORRUPT_IMAGE: libxml2 parsed it)", laughs],
    ["malformed XML (a parser would call it corrupt)", Buffer.from(`<svg ${NS} width="10" height="10"><rect`)],
    ["a gzipped SVG (sharp reads svgz)", gzipSync(svg('<rect width="100" height="100"/>'))],
    ["a UTF-8 BOM and a comment first", svg("", "\ufeff  <!-- hi -->\n")],
  ])("%s -> UNSUPPORTED_FORMAT", async (_name, input) => {
    const e = await refusal(probeImage(input, OFF));
    expect(e.code).toBe("UNSUPPORTED_FORMAT");
    const p = await refusal(processImage(input, validatePlan([{ op: "resize", width: 8 }], OFF), { limits: OFF }));
    expect(p.code).toBe("UNSUPPORTED_FORMAT");
  });

  it("with SVG on, a gzipped SVG is still refused (its data: URLs could not be checked)", async () => {
    const e = await refusal(probeImage(gzipSync(svg('<rect width="100" height="100"/>')), ON));
    expect(e.code).toBe("UNSUPPORTED_FORMAT");
  });
});

describe("SVG on: rasters embedded as data: URLs are held to the limits", () => {
  const b64 = (b: Buffer) => b.toString("base64");

  it("a small embedded PNG renders", async () => {
    const input = svg(`<image width="100" height="100" href="data:image/png;base64,${b64(red)}"/>`);
    expect(await probeImage(input, ON)).toMatchObject({ format: "svg", width: 100, height: 100 });
    const out = await processImage(input, validatePlan([{ op: "format", format: "png" }], ON), { limits: ON });
    expect(pixelAt(await readPixels(out.data), 50, 50).slice(0, 3)).toEqual([255, 0, 0]);
  });

  it.each([
    ["href", (d: string) => `<image width="100" height="100" href="${d}"/>`],
    ["xlink:href", (d: string) => `<image width="100" height="100" xlink:href='${d}'/>`],
    ["CSS url() in a style element", (d: string) => `<style>rect { fill: url("${d}") }</style><rect width="9"/>`],
    ["character references", (d: string) => `<image href="${d.replace("data", "&#100;&#x61;ta")}"/>`],
    ["a CSS escape", (d: string) => `<rect style="fill: url(\\64 ${d.slice(1)})"/>`],
    ["base64 with line breaks", (d: string) => `<image href="${d.replace(/(.{60})/g, "$1\n")}"/>`],
  ])("an embedded PNG claiming 12000x12000 (%s) -> DIMENSIONS_TOO_LARGE", async (_name, place) => {
    const bomb = pngClaiming(red, 12_000, 12_000);
    const input = svg(place(`data:image/png;base64,${b64(bomb)}`));
    const e = await refusal(probeImage(input, ON));
    expect(e.code, e.message).toBe("DIMENSIONS_TOO_LARGE");
    expect(e.message).toMatch(/embedded in the SVG/);
  });

  it("embedded images over maxInputPixels together -> PIXEL_LIMIT; a percent-encoded one is counted too", async () => {
    const limits = { ...ON, maxInputPixels: 1_000_000 };
    const big = pngClaiming(red, 800, 800);
    const one = svg(`<image href="data:image/png;base64,${b64(big)}"/>`);
    expect((await probeImage(one, limits)).format).toBe("svg");
    const pct = [...big].map((x) => `%${x.toString(16).padStart(2, "0")}`).join("");
    const two = svg(`<image href="data:image/png;base64,${b64(big)}"/><image href="data:image/png,${pct}"/>`);
    expect((await refusal(probeImage(two, limits))).code).toBe("PIXEL_LIMIT");
  });

  it("an embedded SVG, or a data: URL that is no image we read, is refused", async () => {
    const inner = svg('<rect width="100" height="100"/>');
    const nested = svg(`<image href="data:image/svg+xml;base64,${b64(inner)}"/>`);
    expect((await refusal(probeImage(nested, ON))).code).toBe("UNSUPPORTED_FORMAT");
    const gz = svg(`<image href="data:image/png;base64,${b64(gzipSync(red))}"/>`);
    expect((await refusal(probeImage(gz, ON))).code).toBe("UNSUPPORTED_FORMAT");
  });

  it(`an SVG over ${MAX_SVG_BYTES / 1024 / 1024} MB is refused whatever MAX_IMAGE_SIZE says`, async () => {
    const input = svg(`<!--${" ".repeat(MAX_SVG_BYTES)}-->`);
    expect((await refusal(probeImage(input, ON))).code).toBe("IMAGE_TOO_LARGE");
  });
});
