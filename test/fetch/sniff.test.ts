import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { ImageEditError } from "../../src/core/errors.js";
import { requireImageType, sniffImageType } from "../../src/fetch/sniff.js";

const solid = () => sharp({ create: { width: 16, height: 12, channels: 3, background: "#c03040" } });

/** A real 2x2 24-bit BMP (BITMAPINFOHEADER), written by hand: sharp cannot encode BMP. */
function bmp(dibSize = 40): Buffer {
  const rowBytes = 8; // 2 px * 3 bytes, padded to 4
  const pixels = Buffer.alloc(rowBytes * 2, 0x7f);
  const header = Buffer.alloc(14 + 40);
  header.write("BM", 0, "ascii");
  header.writeUInt32LE(header.length + pixels.length, 2);
  header.writeUInt32LE(header.length, 10);
  header.writeUInt32LE(dibSize, 14);
  header.writeInt32LE(2, 18);
  header.writeInt32LE(2, 22);
  header.writeUInt16LE(1, 26);
  header.writeUInt16LE(24, 28);
  header.writeUInt32LE(pixels.length, 34);
  return Buffer.concat([header, pixels]);
}

/** An ISO-BMFF ftyp box with the given major and compatible brands. */
function ftyp(major: string, compatible: string[]): Buffer {
  const size = 16 + 4 * compatible.length;
  const box = Buffer.alloc(size + 16);
  box.writeUInt32BE(size, 0);
  box.write("ftyp", 4, "ascii");
  box.write(major, 8, "ascii");
  compatible.forEach((b, i) => {
    box.write(b, 16 + 4 * i, "ascii");
  });
  return box;
}

const made: Record<string, Buffer> = {};

beforeAll(async () => {
  made.jpeg = await solid().jpeg().toBuffer();
  made.png = await solid().png().toBuffer();
  made.gif = await solid().gif().toBuffer();
  made.webp = await solid().webp().toBuffer();
  made.webpLossless = await solid().webp({ lossless: true }).toBuffer();
  made.avif = await solid().avif().toBuffer();
  made.tiff = await solid().tiff().toBuffer();
  made.tiffBigEndian = Buffer.from("4d4d002a00000008", "hex");
});

describe("sniffImageType on images made by sharp", () => {
  it.each([
    ["jpeg", "jpeg", "image/jpeg", "jpg"],
    ["png", "png", "image/png", "png"],
    ["gif", "gif", "image/gif", "gif"],
    ["webp", "webp", "image/webp", "webp"],
    ["webpLossless", "webp", "image/webp", "webp"],
    ["avif", "avif", "image/avif", "avif"],
    ["tiff", "tiff", "image/tiff", "tiff"],
  ])("%s", async (key, format, mime, ext) => {
    const bytes = made[key];
    expect(sniffImageType(bytes)).toEqual({ format, mime, ext });
    // Only the first bytes are needed.
    expect(sniffImageType(bytes.subarray(0, 64))).toEqual({ format, mime, ext });
    // And it agrees with what libvips finds (sharp calls AVIF "heif").
    const meta = await sharp(bytes).metadata();
    expect(meta.format).toBe(format === "avif" ? "heif" : format);
  });
});

describe("sniffImageType on hand-made headers", () => {
  it("BMP with each DIB header size, and not a bare 'BM'", () => {
    for (const dib of [12, 40, 52, 56, 64, 108, 124]) {
      expect(sniffImageType(bmp(dib))?.format, String(dib)).toBe("bmp");
    }
    expect(sniffImageType(bmp(41))).toBeUndefined();
    expect(sniffImageType(Buffer.from("BM hello, this is text really"))).toBeUndefined();
    expect(sniffImageType(bmp())).toEqual({ format: "bmp", mime: "image/bmp", ext: "bmp" });
  });

  it("HEIC/HEIF and AVIF by ftyp brands; video containers are not images", () => {
    expect(sniffImageType(ftyp("heic", ["mif1", "heic"]))).toEqual({ format: "heif", mime: "image/heic", ext: "heic" });
    expect(sniffImageType(ftyp("mif1", ["heic"]))).toMatchObject({ mime: "image/heic" });
    expect(sniffImageType(ftyp("mif1", ["miaf"]))).toEqual({ format: "heif", mime: "image/heif", ext: "heif" });
    expect(sniffImageType(ftyp("avis", ["avis", "msf1"]))).toMatchObject({ format: "avif" });
    expect(sniffImageType(ftyp("mif1", ["avif"]))).toMatchObject({ format: "avif" });
    expect(sniffImageType(ftyp("isom", ["isom", "iso2", "mp41"]))).toBeUndefined();
    expect(sniffImageType(ftyp("qt  ", []))).toBeUndefined();
  });

  it("TIFF in both byte orders, and BigTIFF", () => {
    expect(sniffImageType(made.tiffBigEndian)?.format).toBe("tiff");
    expect(sniffImageType(Buffer.from("49492b0008000000", "hex"))?.format).toBe("tiff");
    expect(sniffImageType(Buffer.from("4d4d002b00080000", "hex"))?.format).toBe("tiff");
  });

  it("GIF87a as well as GIF89a", () => {
    expect(sniffImageType(Buffer.from("GIF87a\x01\x00\x01\x00", "latin1"))?.format).toBe("gif");
  });
});

describe("SVG text sniffing", () => {
  const ok = [
    '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>',
    "<svg>",
    "<svg/>",
    '\uFEFF<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>',
    '  \n<?xml version="1.0"?>\n<!-- made by hand -->\n<!-- two comments --><svg\nwidth="1"/>',
    '<?xml version="1.0"?><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd"><svg/>',
    '<?xml version="1.0"?><?xml-stylesheet href="a.css"?><svg/>',
    '<svg:svg xmlns:svg="http://www.w3.org/2000/svg"/>',
    // a `>` or `[` inside a quoted literal does not end the DOCTYPE or open a subset
    '<!DOCTYPE svg SYSTEM "x> [y]"><svg xmlns="http://www.w3.org/2000/svg"/>',
    "<!DOCTYPE svg PUBLIC '-//W3C//DTD SVG 1.1//EN' 'a>b'>\n<svg/>",
  ];
  it.each(ok)("%j is svg", (text) => {
    expect(sniffImageType(Buffer.from(text))).toEqual({ format: "svg", mime: "image/svg+xml", ext: "svg" });
  });

  const notSvg = [
    "<html><body><svg/></body></html>",
    "<svgfoo/>",
    "<!DOCTYPE html><svg/>",
    '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><svg>&b;</svg>',
    // an internal subset after a quoted `>`: the DOCTYPE does not end inside the quotes
    '<!DOCTYPE svg SYSTEM "x> <svg " [<!ENTITY a "x">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>',
    "<!DOCTYPE svg SYSTEM 'x>' [<!ENTITY a \"x\">]><svg>&a;</svg>",
    '<!DOCTYPE svg PUBLIC "p" "s" [<!ENTITY a "x">]><svg>&a;</svg>',
    '<!DOCTYPE svg SYSTEM "unterminated><svg/>',
    '<!DOCTYPE svg <!ENTITY a "x">><svg/>',
    "<!DOCTYPE svgfoo><svg/>",
    "<!-- unterminated comment <svg/>",
    "hello <svg/>",
    '<?xml version="1.0"?><rss/>',
    "",
  ];
  it.each(notSvg)("%j is not svg", (text) => {
    expect(sniffImageType(Buffer.from(text))).toBeUndefined();
  });

  it("real SVG bytes render with sharp", async () => {
    const svg = Buffer.from(ok[0]);
    expect((await sharp(svg).metadata()).format).toBe("svg");
  });
});

describe("not images", () => {
  it.each([
    ["empty", Buffer.alloc(0)],
    ["one byte of a jpeg", Buffer.from([0xff])],
    ["a truncated png signature", Buffer.from([0x89, 0x50, 0x4e, 0x47])],
    ["pdf", Buffer.from("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "latin1")],
    ["zip", Buffer.from("504b030414000000", "hex")],
    ["html", Buffer.from("<!doctype html><title>x</title>")],
    ["json", Buffer.from('{"image":"no"}')],
    ["RIFF but WAVE", Buffer.from("RIFF\x24\x00\x00\x00WAVEfmt ", "latin1")],
    ["random", Buffer.from("8f3ac2990b1e44d7a6", "hex")],
  ])("%s", (_name, bytes) => {
    expect(sniffImageType(bytes)).toBeUndefined();
  });
});

describe("requireImageType", () => {
  it("returns the type or throws UNSUPPORTED_FORMAT naming the thing and its first bytes", () => {
    expect(requireImageType(made.png, "the upload").format).toBe("png");
    try {
      requireImageType(Buffer.from("%PDF-1.7 nope"), "the upload");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ImageEditError);
      expect((e as ImageEditError).code).toBe("UNSUPPORTED_FORMAT");
      expect((e as ImageEditError).message).toMatch(
        /^the upload is not a supported image .*starts with 0x255044462d312e37$/,
      );
      // it lists what is read, not what is only recognised to be refused (BMP, HEIC)
      expect((e as ImageEditError).message).toContain("(jpeg, png, webp, gif, tiff, avif; svg where ALLOW_SVG is on)");
    }
    expect(() => requireImageType(Buffer.alloc(0), "the upload")).toThrow("the upload is empty");
  });
});
