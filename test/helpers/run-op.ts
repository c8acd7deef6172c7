// Run one catalog operation's apply on its own, the way the pipeline does, and read the result
// back as raw pixels; plus channel statistics to assert effects with.
import sharp from "sharp";
import { DEFAULT_LIMITS, type Limits } from "../../src/core/limits.js";
import { getOperation } from "../../src/core/operations.js";
import type { StepContext } from "../../src/core/ops/define.js";

export interface RawResult {
  data: Buffer;
  width: number;
  height: number;
  channels: number;
}

export interface RunOptions {
  /** Read every frame of an animated input (stacked vertically, as the pipeline does). */
  animated?: boolean;
  loadAsset?: (url: string) => Promise<Buffer>;
  limits?: Partial<Limits>;
}

/**
 * StepContext.eachFrame as the pipeline provides it: each frame of `image` (pages of meta.height
 * rows) through `make` alone, the results stacked again as one animation.
 */
export function eachFrameOf(meta: StepContext["meta"]): StepContext["eachFrame"] {
  return async (image, make) => {
    const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
    const raw = { width: info.width, height: meta.height, channels: info.channels };
    const bytes = data.length / meta.pages;
    const frames: Buffer[] = [];
    let out = { width: 0, height: 0, channels: 0 as number };
    for (let k = 0; k < meta.pages; k++) {
      const frame = sharp(data.subarray(k * bytes, (k + 1) * bytes), { raw: raw as never });
      const r = await (await make(frame, { ...meta, pages: 1 })).raw().toBuffer({ resolveWithObject: true });
      frames.push(r.data);
      out = r.info;
    }
    const height = out.height * meta.pages;
    return sharp(Buffer.concat(frames), {
      raw: { width: out.width, height, channels: out.channels as 1 | 2 | 3 | 4, pageHeight: out.height },
      pages: -1,
    });
  };
}

/** The StepContext the pipeline would build for this encoded input. */
export async function contextFor(input: Buffer, opts: RunOptions = {}): Promise<StepContext> {
  const meta = await sharp(input, { animated: opts.animated ?? false }).metadata();
  const pages = opts.animated ? (meta.pages ?? 1) : 1;
  const m = {
    width: meta.width ?? 0,
    height: pages > 1 ? (meta.pageHeight ?? meta.height ?? 0) : (meta.height ?? 0),
    pages,
    channels: meta.channels ?? 3,
    hasAlpha: meta.hasAlpha ?? false,
    sourceFormat: meta.format ?? "unknown",
  };
  return {
    limits: { ...DEFAULT_LIMITS, ...opts.limits },
    loadAsset: opts.loadAsset ?? (async () => Promise.reject(new Error("no assets in this test"))),
    meta: m,
    eachFrame: eachFrameOf(m),
  };
}

/** Parse `op` with its catalog schema, apply it to `input` (encoded), return raw pixels. */
export async function runOp(input: Buffer, op: { op: string } & Record<string, unknown>, opts: RunOptions = {}) {
  const entry = getOperation(op.op);
  if (!entry?.apply) throw new Error(`${op.op} has no apply`);
  const ctx = await contextFor(input, opts);
  const chain = await entry.apply(sharp(input, { animated: opts.animated ?? false }), entry.schema.parse(op), ctx);
  const { data, info } = await chain.raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels } satisfies RawResult;
}

/** Decode an encoded image to raw pixels, unchanged (a baseline to compare a step against). */
export async function decode(input: Buffer): Promise<RawResult> {
  const { data, info } = await sharp(input).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** The first three bands (grey images: the one band three times) at x,y, then alpha if any. */
export function rgbAt(img: RawResult, x: number, y: number): number[] {
  const i = (y * img.width + x) * img.channels;
  const px = [...img.data.subarray(i, i + img.channels)];
  return img.channels <= 2 ? [px[0], px[0], px[0], ...px.slice(1)] : px;
}

/** Mean and standard deviation of one band over a region (default: everything). */
export function bandStats(
  img: RawResult,
  band: number,
  region: { left: number; top: number; width: number; height: number } = {
    left: 0,
    top: 0,
    width: img.width,
    height: img.height,
  },
): { mean: number; stdev: number } {
  let sum = 0;
  let sq = 0;
  let n = 0;
  for (let y = region.top; y < region.top + region.height; y++) {
    for (let x = region.left; x < region.left + region.width; x++) {
      const v = img.data[(y * img.width + x) * img.channels + band];
      sum += v;
      sq += v * v;
      n++;
    }
  }
  const mean = sum / n;
  return { mean, stdev: Math.sqrt(Math.max(0, sq / n - mean * mean)) };
}

/** Whether two raw images differ anywhere inside/outside a region. */
export function countChanged(
  a: RawResult,
  b: RawResult,
  inside: (x: number, y: number) => boolean,
): { inside: number; outside: number } {
  const out = { inside: 0, outside: 0 };
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) {
      const pa = rgbAt(a, x, y);
      const pb = rgbAt(b, x, y);
      const changed = pa.slice(0, 3).some((v, i) => Math.abs(v - pb[i]) > 2);
      if (changed) out[inside(x, y) ? "inside" : "outside"]++;
    }
  }
  return out;
}

/** Encode raw pixels as PNG (for inputs built from buffers). */
export function rawPng(data: Buffer, width: number, height: number, channels: 1 | 2 | 3 | 4): Promise<Buffer> {
  return sharp(data, { raw: { width, height, channels } }).png().toBuffer();
}
