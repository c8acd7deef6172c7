// Mutations of image files: blind ones (bit flips, truncation, splices) and format-aware ones that
// keep a file plausible enough to reach the decoder (header sizes set huge with the checksum
// recomputed, chunk and box lengths that lie). Each returns a new buffer and a label for reports.
import { crc32 } from "node:zlib";
import type { Rng } from "./prng.js";

export type Kind = "jpeg" | "png" | "gif" | "webp" | "tiff" | "avif" | "other";

export interface Mutant {
  data: Buffer;
  /** What was done, e.g. "png-ihdr-size(2147483647x1) + truncate(812)". */
  label: string;
}

export function kindOf(b: Buffer): Kind {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "jpeg";
  if (b.length >= 8 && b.subarray(0, 8).equals(PNG_SIG)) return "png";
  if (b.length >= 6 && /^GIF8[79]a$/.test(b.subarray(0, 6).toString("latin1"))) return "gif";
  if (b.length >= 12 && b.toString("latin1", 0, 4) === "RIFF" && b.toString("latin1", 8, 12) === "WEBP") return "webp";
  if (b.length >= 4 && (b.toString("latin1", 0, 4) === "II*\0" || b.toString("latin1", 0, 4) === "MM\0*"))
    return "tiff";
  if (b.length >= 12 && b.toString("latin1", 4, 8) === "ftyp") return "avif";
  return "other";
}

const PNG_SIG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Sizes that trip overflow and allocation bugs. */
const HUGE32 = [0x7fffffff, 0xffffffff, 0x80000000, 65_500, 65_535, 100_000, 10_001, 0, 1];
const HUGE16 = [0xffff, 65_500, 0x8000, 0x7fff, 10_001, 0, 1];

type Mutator = (rng: Rng, b: Buffer) => Mutant | undefined;

// ---- blind mutations ----

const bitFlips: Mutator = (rng, b) => {
  const out = Buffer.from(b);
  const n = rng.int(1, 16);
  // Bias toward the header, where a flip changes structure rather than a pixel.
  const span = rng.chance(0.6) ? Math.min(out.length, 512) : out.length;
  for (let i = 0; i < n; i++) {
    const at = rng.int(0, span - 1);
    out[at] ^= 1 << rng.int(0, 7);
  }
  return { data: out, label: `bitflip(${n})` };
};

const byteSets: Mutator = (rng, b) => {
  const out = Buffer.from(b);
  const n = rng.int(1, 8);
  for (let i = 0; i < n; i++) out[rng.int(0, Math.min(out.length, 2048) - 1)] = rng.pick([0, 0xff, 0x7f, 0x80, 0x01]);
  return { data: out, label: `byteset(${n})` };
};

const truncate: Mutator = (rng, b) => {
  const len = rng.chance(0.3) ? rng.int(0, Math.min(64, b.length - 1)) : rng.int(1, b.length - 1);
  return { data: Buffer.from(b.subarray(0, len)), label: `truncate(${len}/${b.length})` };
};

const splice: Mutator = (rng, b) => {
  // Repeat or drop a region: shifts every offset after it.
  const at = rng.int(0, b.length - 1);
  const len = rng.int(1, Math.min(256, b.length - at));
  const data = rng.chance(0.5)
    ? Buffer.concat([b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len)])
    : Buffer.concat([b.subarray(0, at), b.subarray(at + len)]);
  return { data, label: `splice(${at},${len})` };
};

const zeroRun: Mutator = (rng, b) => {
  const out = Buffer.from(b);
  const at = rng.int(0, out.length - 1);
  const len = rng.int(1, Math.min(4096, out.length - at));
  out.fill(rng.pick([0, 0xff]), at, at + len);
  return { data: out, label: `fill(${at},${len})` };
};

// ---- PNG ----

/** Chunks of a PNG as [offset of the length field, data length, type]. */
function pngChunks(b: Buffer): { at: number; len: number; type: string }[] {
  const out: { at: number; len: number; type: string }[] = [];
  let at = 8;
  while (at + 12 <= b.length && out.length < 10_000) {
    const len = b.readUInt32BE(at);
    const type = b.toString("latin1", at + 4, at + 8);
    out.push({ at, len, type });
    if (at + 12 + len > b.length) break;
    at += 12 + len;
  }
  return out;
}

function fixPngCrc(b: Buffer, at: number, len: number): void {
  if (at + 12 + len <= b.length) b.writeUInt32BE(crc32(b.subarray(at + 4, at + 8 + len)), at + 8 + len);
}

const pngIhdrSize: Mutator = (rng, b) => {
  const c = pngChunks(b)[0];
  if (c?.type !== "IHDR" || c.len < 10 || c.at + 12 + c.len > b.length) return undefined;
  const out = Buffer.from(b);
  const w = rng.chance(0.5) ? rng.pick(HUGE32) : out.readUInt32BE(c.at + 8);
  const h = rng.chance(0.5) || w === out.readUInt32BE(c.at + 8) ? rng.pick(HUGE32) : out.readUInt32BE(c.at + 12);
  out.writeUInt32BE(w >>> 0, c.at + 8);
  out.writeUInt32BE(h >>> 0, c.at + 12);
  if (rng.chance(0.3)) out[c.at + 16] = rng.pick([1, 2, 4, 8, 16, 3, 0, 255]); // bit depth
  if (rng.chance(0.3)) out[c.at + 17] = rng.pick([0, 2, 3, 4, 6, 1, 7, 255]); // colour type
  fixPngCrc(out, c.at, c.len);
  return { data: out, label: `png-ihdr(${w >>> 0}x${h >>> 0})` };
};

const pngChunkLength: Mutator = (rng, b) => {
  const chunks = pngChunks(b);
  if (chunks.length === 0) return undefined;
  const c = rng.pick(chunks);
  const out = Buffer.from(b);
  const lie = rng.pick([...HUGE32, c.len + 1, Math.max(0, c.len - 1), c.len * 2]);
  out.writeUInt32BE(lie >>> 0, c.at);
  return { data: out, label: `png-chunk-len(${c.type}:${c.len}->${lie >>> 0})` };
};

const pngChunkData: Mutator = (rng, b) => {
  // Corrupt a chunk's data but keep its CRC right, so the decoder (not the checksum) must cope.
  const chunks = pngChunks(b).filter((c) => c.len > 0 && c.at + 12 + c.len <= b.length);
  if (chunks.length === 0) return undefined;
  const c = rng.pick(chunks);
  const out = Buffer.from(b);
  const n = rng.int(1, 8);
  for (let i = 0; i < n; i++) out[c.at + 8 + rng.int(0, c.len - 1)] ^= 1 << rng.int(0, 7);
  fixPngCrc(out, c.at, c.len);
  return { data: out, label: `png-chunk-data(${c.type},${n})` };
};

// ---- JPEG ----

function jpegSegments(b: Buffer): { at: number; marker: number; len: number }[] {
  const out: { at: number; marker: number; len: number }[] = [];
  let at = 2;
  while (at + 4 <= b.length && out.length < 1000) {
    if (b[at] !== 0xff) break;
    const marker = b[at + 1];
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      at += 2;
      continue;
    }
    if (marker === 0xd9) break;
    const len = b.readUInt16BE(at + 2);
    out.push({ at, marker, len });
    if (marker === 0xda) break; // entropy-coded data follows
    at += 2 + len;
  }
  return out;
}

const isSof = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

const jpegSofSize: Mutator = (rng, b) => {
  const sof = jpegSegments(b).find((s) => isSof(s.marker));
  if (!sof || sof.at + 10 > b.length) return undefined;
  const out = Buffer.from(b);
  const h = rng.pick(HUGE16);
  const w = rng.pick(HUGE16);
  out.writeUInt16BE(h, sof.at + 5);
  out.writeUInt16BE(w, sof.at + 7);
  if (rng.chance(0.2)) out[sof.at + 9] = rng.pick([0, 2, 5, 255]); // component count
  return { data: out, label: `jpeg-sof(${w}x${h})` };
};

const jpegSegmentLength: Mutator = (rng, b) => {
  const segs = jpegSegments(b);
  if (segs.length === 0) return undefined;
  const s = rng.pick(segs);
  const out = Buffer.from(b);
  const lie = rng.pick([0, 1, 2, 0xffff, Math.min(0xffff, s.len + 1), Math.max(0, s.len - 1)]);
  out.writeUInt16BE(lie, s.at + 2);
  return { data: out, label: `jpeg-seg-len(${s.marker.toString(16)}:${s.len}->${lie})` };
};

const jpegTableData: Mutator = (rng, b) => {
  // Scribble inside a DQT/DHT/SOS header (the quantisation and Huffman tables).
  const segs = jpegSegments(b).filter((s) => [0xdb, 0xc4, 0xda].includes(s.marker) && s.len > 2);
  if (segs.length === 0) return undefined;
  const s = rng.pick(segs);
  const out = Buffer.from(b);
  const n = rng.int(1, 6);
  for (let i = 0; i < n; i++) {
    const at = s.at + 4 + rng.int(0, s.len - 3);
    if (at < out.length) out[at] = rng.int(0, 255);
  }
  return { data: out, label: `jpeg-table(${s.marker.toString(16)},${n})` };
};

// ---- GIF ----

const gifScreen: Mutator = (rng, b) => {
  if (b.length < 13) return undefined;
  const out = Buffer.from(b);
  const w = rng.pick(HUGE16);
  const h = rng.pick(HUGE16);
  out.writeUInt16LE(w, 6);
  out.writeUInt16LE(h, 8);
  let label = `gif-screen(${w}x${h})`;
  // The first image descriptor after the global colour table (when there is one).
  const gct = out[10] & 0x80 ? 3 * 2 ** ((out[10] & 7) + 1) : 0;
  const desc = out.indexOf(0x2c, 13 + gct);
  if (desc > 0 && desc + 10 <= out.length && rng.chance(0.6)) {
    const fw = rng.pick(HUGE16);
    const fh = rng.pick(HUGE16);
    out.writeUInt16LE(rng.pick([0, fw]), desc + 1);
    out.writeUInt16LE(fw, desc + 5);
    out.writeUInt16LE(fh, desc + 7);
    label += ` frame(${fw}x${fh})`;
  }
  if (rng.chance(0.2)) out[10] = rng.int(0, 255); // packed flags: colour table size
  return { data: out, label };
};

// ---- WebP (RIFF) ----

const webpHeader: Mutator = (rng, b) => {
  if (b.length < 30) return undefined;
  const out = Buffer.from(b);
  const chunk = out.toString("latin1", 12, 16);
  const choice = rng.int(0, 2);
  if (choice === 0) {
    const lie = rng.pick([...HUGE32, b.length * 2]);
    out.writeUInt32LE(lie >>> 0, 4);
    return { data: out, label: `riff-size(${lie >>> 0})` };
  }
  if (choice === 1) {
    const lie = rng.pick(HUGE32);
    out.writeUInt32LE(lie >>> 0, 16);
    return { data: out, label: `webp-chunk-len(${chunk}->${lie >>> 0})` };
  }
  if (chunk === "VP8X") {
    const w = rng.pick([0xffffff, 16383, 65_500, 0]);
    const h = rng.pick([0xffffff, 16383, 65_500, 0]);
    out.writeUIntLE(w, 24, 3);
    out.writeUIntLE(h, 27, 3);
    if (rng.chance(0.3)) out[20] = rng.int(0, 255); // feature flags (animation, alpha, ICC)
    return { data: out, label: `webp-vp8x(${w + 1}x${h + 1})` };
  }
  if (chunk === "VP8 ") {
    const w = rng.pick([0x3fff, 0, 0xffff]);
    const h = rng.pick([0x3fff, 0, 0xffff]);
    out.writeUInt16LE(w, 26);
    out.writeUInt16LE(h, 28);
    return { data: out, label: `webp-vp8(${w}x${h})` };
  }
  // VP8L: 14-bit width-1 and height-1 packed after the 0x2f signature.
  const w = rng.pick([0x3fff, 0]);
  const h = rng.pick([0x3fff, 0]);
  const bits = (out.readUInt32LE(21) & ~0x0fffffff) | (w & 0x3fff) | ((h & 0x3fff) << 14);
  out.writeUInt32LE(bits >>> 0, 21);
  return { data: out, label: `webp-vp8l(${w + 1}x${h + 1})` };
};

// ---- TIFF ----

const tiffTags: Mutator = (rng, b) => {
  if (b.length < 16) return undefined;
  const le = b[0] === 0x49;
  const u16 = (at: number) => (le ? b.readUInt16LE(at) : b.readUInt16BE(at));
  const u32 = (at: number) => (le ? b.readUInt32LE(at) : b.readUInt32BE(at));
  const ifd = u32(4);
  if (ifd + 2 > b.length) return undefined;
  const n = u16(ifd);
  const entries: { at: number; tag: number; type: number }[] = [];
  for (let i = 0; i < n && ifd + 2 + 12 * (i + 1) <= b.length; i++) {
    const at = ifd + 2 + 12 * i;
    entries.push({ at, tag: u16(at), type: u16(at + 2) });
  }
  // Width, length, bits per sample, samples per pixel, strip offsets/counts, rows per strip, tile sizes.
  const targets = entries.filter((e) => [256, 257, 258, 277, 273, 279, 278, 322, 323, 324, 325].includes(e.tag));
  if (targets.length === 0) return undefined;
  const out = Buffer.from(b);
  const picks = rng.int(1, 3);
  const labels: string[] = [];
  for (let i = 0; i < picks; i++) {
    const e = rng.pick(targets);
    if (e.type === 3) {
      const v = rng.pick(HUGE16);
      le ? out.writeUInt16LE(v, e.at + 8) : out.writeUInt16BE(v, e.at + 8);
      labels.push(`${e.tag}=${v}`);
    } else {
      const v = rng.pick(HUGE32) >>> 0;
      le ? out.writeUInt32LE(v, e.at + 8) : out.writeUInt32BE(v, e.at + 8);
      labels.push(`${e.tag}=${v}`);
    }
    if (rng.chance(0.2)) {
      const count = rng.pick(HUGE32) >>> 0; // the value count lies too
      le ? out.writeUInt32LE(count, e.at + 4) : out.writeUInt32BE(count, e.at + 4);
      labels.push(`${e.tag}#${count}`);
    }
  }
  return { data: out, label: `tiff-tags(${labels.join(",")})` };
};

// ---- AVIF / HEIF (ISOBMFF boxes) ----

const avifBoxes: Mutator = (rng, b) => {
  const out = Buffer.from(b);
  const ispe = out.indexOf("ispe", 0, "latin1");
  if (ispe > 0 && ispe + 16 <= out.length && rng.chance(0.5)) {
    const w = rng.pick(HUGE32) >>> 0;
    const h = rng.pick(HUGE32) >>> 0;
    out.writeUInt32BE(w, ispe + 8);
    out.writeUInt32BE(h, ispe + 12);
    return { data: out, label: `avif-ispe(${w}x${h})` };
  }
  // Lie about a box size: pick one of the well-known box types and rewrite the size before it.
  const names = ["ftyp", "meta", "iinf", "iloc", "iprp", "ipco", "ipma", "mdat", "pitm", "av1C", "pixi", "colr"];
  const found = names.map((n) => ({ n, at: out.indexOf(n, 0, "latin1") - 4 })).filter((x) => x.at >= 0);
  if (found.length === 0) return undefined;
  const box = rng.pick(found);
  const lie = rng.pick([...HUGE32, 7, 8]) >>> 0;
  out.writeUInt32BE(lie, box.at);
  return { data: out, label: `avif-box-len(${box.n}->${lie})` };
};

const BLIND: Mutator[] = [bitFlips, byteSets, truncate, splice, zeroRun];
const AWARE: Record<Kind, Mutator[]> = {
  png: [pngIhdrSize, pngChunkLength, pngChunkData],
  jpeg: [jpegSofSize, jpegSegmentLength, jpegTableData],
  gif: [gifScreen],
  webp: [webpHeader],
  tiff: [tiffTags],
  avif: [avifBoxes],
  other: [],
};

/** One to three mutations, format-aware ones about half the time. */
export function mutate(rng: Rng, seed: Buffer): Mutant {
  let data = seed;
  const labels: string[] = [];
  const rounds = rng.pick([1, 1, 1, 2, 2, 3]);
  for (let r = 0; r < rounds; r++) {
    const aware = AWARE[kindOf(data)];
    const m = aware.length > 0 && rng.chance(0.55) ? rng.pick(aware) : rng.pick(BLIND);
    let res: Mutant | undefined;
    try {
      res = data.length > 1 ? m(rng, data) : undefined;
    } catch (e) {
      // A structure parsed from an already-mutated file can point past its end: skip that round.
      if (!(e instanceof RangeError)) throw e;
    }
    if (!res) continue;
    data = res.data;
    labels.push(res.label);
  }
  if (labels.length === 0 || data.equals(seed)) {
    const res = bitFlips(rng, seed) as Mutant;
    return res;
  }
  return { data, label: labels.join(" + ") };
}

// ---- deterministic header edits (the named hostile cases in fuzz.test.ts) ----

/** PNG with IHDR width/height replaced and the IHDR CRC recomputed (so only the size lies). */
export function pngWithSize(b: Buffer, width: number, height: number): Buffer {
  const c = pngChunks(b)[0];
  if (c?.type !== "IHDR") throw new Error("not a PNG with IHDR first");
  const out = Buffer.from(b);
  out.writeUInt32BE(width >>> 0, c.at + 8);
  out.writeUInt32BE(height >>> 0, c.at + 12);
  fixPngCrc(out, c.at, c.len);
  return out;
}

/** PNG whose chunk of the given type claims `length` bytes of data. */
export function pngWithChunkLength(b: Buffer, type: string, length: number): Buffer {
  const c = pngChunks(b).find((x) => x.type === type);
  if (!c) throw new Error(`no ${type} chunk`);
  const out = Buffer.from(b);
  out.writeUInt32BE(length >>> 0, c.at);
  return out;
}

/** JPEG whose SOF segment says width x height. */
export function jpegWithSize(b: Buffer, width: number, height: number): Buffer {
  const sof = jpegSegments(b).find((s) => isSof(s.marker));
  if (!sof) throw new Error("no SOF segment");
  const out = Buffer.from(b);
  out.writeUInt16BE(height, sof.at + 5);
  out.writeUInt16BE(width, sof.at + 7);
  return out;
}

/** JPEG whose segment with this marker claims `length` bytes. */
export function jpegWithSegmentLength(b: Buffer, marker: number, length: number): Buffer {
  const seg = jpegSegments(b).find((s) => s.marker === marker);
  if (!seg) throw new Error(`no marker ${marker.toString(16)}`);
  const out = Buffer.from(b);
  out.writeUInt16BE(length, seg.at + 2);
  return out;
}

/** GIF whose logical screen (and, with `frame`, first image descriptor) says width x height. */
export function gifWithScreen(b: Buffer, width: number, height: number, frame = false): Buffer {
  const out = Buffer.from(b);
  out.writeUInt16LE(width, 6);
  out.writeUInt16LE(height, 8);
  if (frame) {
    const gct = out[10] & 0x80 ? 3 * 2 ** ((out[10] & 7) + 1) : 0;
    const desc = 13 + gct;
    let at = desc;
    // Skip extension blocks (0x21 label, sub-blocks) to reach the image descriptor (0x2c).
    while (out[at] === 0x21) {
      at += 2;
      while (out[at] !== 0) at += out[at] + 1;
      at += 1;
    }
    if (out[at] !== 0x2c) throw new Error("no image descriptor");
    out.writeUInt16LE(width, at + 5);
    out.writeUInt16LE(height, at + 7);
  }
  return out;
}

/** WebP (VP8X) whose canvas says width x height; the RIFF size may lie too. */
export function webpWithCanvas(b: Buffer, width: number, height: number): Buffer {
  if (b.toString("latin1", 12, 16) !== "VP8X") throw new Error("not an extended WebP");
  const out = Buffer.from(b);
  out.writeUIntLE(width - 1, 24, 3);
  out.writeUIntLE(height - 1, 27, 3);
  return out;
}

/** TIFF whose first IFD's ImageWidth/ImageLength tags say width x height (LONG or SHORT). */
export function tiffWithSize(b: Buffer, width: number, height: number): Buffer {
  const le = b[0] === 0x49;
  const out = Buffer.from(b);
  const u16 = (at: number) => (le ? out.readUInt16LE(at) : out.readUInt16BE(at));
  const ifd = le ? out.readUInt32LE(4) : out.readUInt32BE(4);
  for (let i = 0; i < u16(ifd); i++) {
    const at = ifd + 2 + 12 * i;
    const tag = u16(at);
    if (tag !== 256 && tag !== 257) continue;
    const v = tag === 256 ? width : height;
    // Rewrite as a LONG so values above 65535 fit.
    le ? out.writeUInt16LE(4, at + 2) : out.writeUInt16BE(4, at + 2);
    le ? out.writeUInt32LE(v >>> 0, at + 8) : out.writeUInt32BE(v >>> 0, at + 8);
  }
  return out;
}

/** AVIF whose ispe (image spatial extents) box says width x height. */
export function avifWithSize(b: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(b);
  const ispe = out.indexOf("ispe", 0, "latin1");
  if (ispe < 0) throw new Error("no ispe box");
  out.writeUInt32BE(width >>> 0, ispe + 8);
  out.writeUInt32BE(height >>> 0, ispe + 12);
  return out;
}
