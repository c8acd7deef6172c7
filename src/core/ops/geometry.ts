// Size and shape: resize, scale, crop, trim, pad, border, rotate, flip, autoOrient.

import type { Sharp } from "sharp";
import { z } from "zod";
import { parseColor, type Rgba } from "../color.js";
import { ImageEditError } from "../errors.js";
import {
  colorSchema,
  defineOperation,
  type ImageMeta,
  opSchema,
  POSITIONS,
  type Position,
  type StepContext,
} from "./define.js";
import { paintable } from "./grey.js";
import { fromRaw, type RawImage, toRaw } from "./raster.js";

const side = z.number().int().min(1).max(100_000);
const insetSide = z.number().min(0).max(100_000).default(0);

export const resize = defineOperation({
  name: "resize",
  family: "geometry",
  summary: "Resize to a width and/or height; fit says how the aspect ratio is kept.",
  schema: opSchema("resize", {
    width: side.optional(),
    height: side.optional(),
    fit: z.enum(["inside", "cover", "contain", "fill", "outside"]).default("inside"),
    withoutEnlargement: z.boolean().default(false),
    background: colorSchema.optional(),
  }).refine((o) => o.width !== undefined || o.height !== undefined, {
    message: "resize needs a width, a height, or both",
    path: ["width"],
  }),
  describe: (o) => {
    const box = `${o.width ?? "auto"}x${o.height ?? "auto"}`;
    const verb = {
      inside: "Resize to fit",
      cover: "Resize to cover",
      contain: "Resize into",
      fill: "Stretch to",
      outside: "Resize to at least",
    }[o.fit];
    return `${verb} ${box}${o.withoutEnlargement ? " (never enlarge)" : ""}`;
  },
  words: [
    "resize",
    "size",
    "shrink",
    "enlarge",
    "downsize",
    "upsize",
    "downscale",
    "upscale",
    "stretch",
    "width",
    "height",
    "wide",
    "tall",
    "smaller",
    "bigger",
    "larger",
    "dimensions",
    "longest side",
    "resize and crop",
    "thumbnail",
    "icon",
    "fit",
    "instagram",
    "instagram portrait",
    "story",
    "twitter",
    "twitter header",
    "facebook",
    "facebook cover",
    "linkedin",
    "linkedin banner",
    "youtube",
    "avatar",
    "social card",
    "hd",
    "full hd",
    "4k",
  ],
  keepsAnimation: true,
  frames: "whole", // each frame on its own pixels: see resizeFrames
  outputSize: (meta, o) => resizeSize(meta, o),
  apply: (image, o, ctx) =>
    resizeFrames(image, ctx, {
      width: o.width,
      height: o.height,
      fit: o.fit,
      withoutEnlargement: o.withoutEnlargement,
      background: color(o.background) ?? (ctx.meta.hasAlpha ? TRANSPARENT : WHITE),
    }),
});

export const scale = defineOperation({
  name: "scale",
  family: "geometry",
  summary: "Scale both sides by a factor (0.5 = half size, 2 = double).",
  schema: opSchema("scale", { factor: z.number().positive().max(20) }),
  describe: (o) => `Scale by ${Math.round(o.factor * 1000) / 10}%`,
  words: ["scale", "half", "halve", "double", "triple", "quarter", "twice"],
  keepsAnimation: true,
  frames: "whole", // each frame on its own pixels: see resizeFrames
  outputSize: (meta, o) => scaledSize(meta, o.factor),
  apply: (image, o, ctx) =>
    resizeFrames(image, ctx, { ...scaledSize(ctx.meta, o.factor), fit: "fill", withoutEnlargement: false }),
});

export const crop = defineOperation({
  name: "crop",
  family: "geometry",
  summary:
    'Crop a region (left, top, width, height), a size at a gravity, an aspect ratio ("16:9"), or an inset cut off the edges (inset: {top, right, bottom, left, unit: "px" or "%"}, against the step\'s input size); gravity attention/entropy with a size makes a smart thumbnail: the image scaled to cover that size, then its most interesting part kept.',
  schema: opSchema("crop", {
    left: z.number().int().min(0).optional(),
    top: z.number().int().min(0).optional(),
    width: side.optional(),
    height: side.optional(),
    aspectRatio: z
      .string()
      .regex(/^\d+(\.\d+)?:\d+(\.\d+)?$/, "aspect ratio looks like 16:9 or 1:1")
      .optional(),
    gravity: z.enum([...POSITIONS, "attention", "entropy"]).default("center"),
    /** What to cut off each edge, in px or percent of the step's input size ("10px off each side"). */
    inset: z
      .strictObject({
        top: insetSide,
        right: insetSide,
        bottom: insetSide,
        left: insetSide,
        unit: z.enum(["px", "%"]).default("px"),
      })
      .optional(),
  }).superRefine((o, ctx) => {
    const region = o.left !== undefined || o.top !== undefined;
    if (o.inset !== undefined) {
      const { top, right, bottom, left, unit } = o.inset;
      if (o.aspectRatio !== undefined || o.width !== undefined || o.height !== undefined || region)
        ctx.addIssue({ code: "custom", message: "crop takes an inset or a size, not both", path: ["inset"] });
      if (unit === "px" && ![top, right, bottom, left].every(Number.isInteger))
        ctx.addIssue({ code: "custom", message: "an inset in px must be whole pixels", path: ["inset"] });
      if (unit === "%" && (top + bottom >= 100 || left + right >= 100))
        ctx.addIssue({ code: "custom", message: "an inset of 100% or more leaves nothing", path: ["inset"] });
      return;
    }
    if (o.aspectRatio !== undefined) {
      if (o.width !== undefined || o.height !== undefined || region)
        ctx.addIssue({
          code: "custom",
          message: "crop takes an aspectRatio or a size, not both",
          path: ["aspectRatio"],
        });
      const [w, h] = o.aspectRatio.split(":").map(Number);
      if (!(w > 0 && h > 0))
        ctx.addIssue({ code: "custom", message: "aspect ratio sides must be above 0", path: ["aspectRatio"] });
      return;
    }
    if (o.width === undefined || o.height === undefined)
      ctx.addIssue({ code: "custom", message: "crop needs width and height (or an aspectRatio)", path: ["width"] });
  }),
  describe: (o) => {
    if (o.inset) {
      const { unit, ...sides } = o.inset;
      const cut = Object.entries(sides).filter(([, v]) => v > 0);
      if (cut.length === 4 && new Set(cut.map(([, v]) => v)).size === 1) return `Cut ${sides.top}${unit} off each edge`;
      if (cut.length === 0) return "Crop nothing off";
      return `Cut ${cut.map(([side, v]) => `${v}${unit} off the ${side}`).join(", ")}`;
    }
    if (o.aspectRatio) return `Crop to ${o.aspectRatio} (${o.gravity})`;
    if (o.left !== undefined || o.top !== undefined)
      return `Crop ${o.width}x${o.height} at (${o.left ?? 0}, ${o.top ?? 0})`;
    return `Crop to ${o.width}x${o.height} (${o.gravity})`;
  },
  words: ["crop", "cut", "square", "portrait", "landscape", "widescreen"],
  keepsAnimation: true,
  frames: "whole",
  outputSize: (meta, o) => {
    const r = cropRegion(meta, o);
    return r && { width: r.width, height: r.height };
  },
  apply: applyCrop,
});

export const trim = defineOperation({
  name: "trim",
  family: "geometry",
  summary: "Trim borders that match the top-left pixel's colour (threshold = tolerance 0-255).",
  schema: opSchema("trim", { threshold: z.number().min(0).max(255).default(10) }),
  describe: (o) => `Trim edges (tolerance ${o.threshold})`,
  words: ["trim", "autocrop", "whitespace", "edges"],
  keepsAnimation: false,
  apply: (image, o, { meta }) => {
    // sharp refuses to trim an image under 3x3 pixels; there is nothing to trim anyway
    if (meta.width < 3 || meta.height < 3)
      throw new ImageEditError(
        "INVALID_OPERATION",
        `trim needs an image of at least 3x3 pixels, not ${meta.width}x${meta.height}`,
      );
    return image.trim({ threshold: o.threshold });
  },
});

const edge = z.number().int().min(0).max(10_000).default(0);
export const pad = defineOperation({
  name: "pad",
  family: "geometry",
  summary: "Add space around the image (per side, in px) filled with a colour.",
  schema: opSchema("pad", { top: edge, right: edge, bottom: edge, left: edge, color: colorSchema.default("white") }),
  describe: (o) => `Pad ${o.top}/${o.right}/${o.bottom}/${o.left} px with ${o.color}`,
  words: ["pad", "padding", "extend", "margin", "space"],
  keepsAnimation: true,
  frames: "whole",
  outputSize: (meta, o) => ({ width: meta.width + o.left + o.right, height: meta.height + o.top + o.bottom }),
  apply: (image, o, ctx) => grow(image, ctx, o, o.color),
});

/** The canvas grown by each side, painted in a colour (on greyscale images too: see paintable). */
async function grow(
  image: Sharp,
  ctx: { meta: ImageMeta },
  sides: { top: number; right: number; bottom: number; left: number },
  colour: string,
): Promise<Sharp> {
  const { top, right, bottom, left } = sides;
  return (await paintable(image, ctx.meta)).extend({ top, right, bottom, left, background: color(colour) });
}

export const border = defineOperation({
  name: "border",
  family: "geometry",
  summary: "Add a border of the given width (px) and colour on every side.",
  schema: opSchema("border", { width: z.number().int().min(1).max(5_000), color: colorSchema.default("black") }),
  describe: (o) => `Add a ${o.width}px ${o.color} border`,
  words: ["border", "borders", "frame", "outline"],
  keepsAnimation: true,
  frames: "whole",
  outputSize: (meta, o) => ({ width: meta.width + 2 * o.width, height: meta.height + 2 * o.width }),
  apply: (image, o, ctx) => grow(image, ctx, { top: o.width, right: o.width, bottom: o.width, left: o.width }, o.color),
});

export const rotate = defineOperation({
  name: "rotate",
  family: "geometry",
  summary: "Rotate clockwise by any angle in degrees; the uncovered corners take the background colour.",
  schema: opSchema("rotate", {
    angle: z.number().min(-3600).max(3600),
    background: colorSchema.default("white"),
  }),
  describe: (o) => (o.angle < 0 ? `Rotate ${-o.angle}° counter-clockwise` : `Rotate ${o.angle}° clockwise`),
  words: [
    "rotate",
    "turn",
    "spin",
    "tilt",
    "straighten",
    "clockwise",
    "counterclockwise",
    "anticlockwise",
    "quarter turn",
    "half turn",
    "upside down",
  ],
  keepsAnimation: true,
  outputSize: (meta, o) => rotatedSize(meta, o.angle),
  apply: async (image, o, ctx) => {
    const background = color(o.background);
    // a quarter turn uncovers no corner (and may share a chain: ../fusion.ts)
    return (o.angle % 90 === 0 ? image : await paintable(image, ctx.meta)).rotate(o.angle, { background });
  },
});

export const flip = defineOperation({
  name: "flip",
  family: "geometry",
  summary: "Mirror horizontally (left-right) or flip vertically (upside down).",
  schema: opSchema("flip", { direction: z.enum(["horizontal", "vertical"]).default("horizontal") }),
  describe: (o) => (o.direction === "horizontal" ? "Mirror left-right" : "Flip upside down"),
  words: ["flip", "mirror", "flop", "reflect", "upside", "mirrored", "flipped"],
  keepsAnimation: true,
  apply: (image, o) => (o.direction === "horizontal" ? image.flop() : image.flip()),
});

export const autoOrient = defineOperation({
  name: "autoOrient",
  family: "geometry",
  summary: "Turn the image upright from its EXIF orientation (always done first anyway).",
  schema: opSchema("autoOrient", {}),
  describe: () => "Auto-orient from EXIF",
  words: ["orient", "upright", "autoorient", "auto-orient", "orientation", "auto rotate"],
  keepsAnimation: true,
  frames: "whole",
  apply: (image) => image.autoOrient(),
});

// --- implementation helpers ------------------------------------------------------------------

const WHITE: Rgba = { r: 255, g: 255, b: 255, alpha: 1 };
const TRANSPARENT: Rgba = { r: 0, g: 0, b: 0, alpha: 0 };

function color(value: string | undefined): Rgba | undefined {
  return value === undefined ? undefined : parseColor(value);
}

type Size = { width: number; height: number };

interface ResizeOptions {
  width?: number;
  height?: number;
  fit: "inside" | "cover" | "contain" | "fill" | "outside";
  withoutEnlargement: boolean;
  background?: Rgba;
}

/**
 * sharp's resize, each frame of an animation on its own pixels. sharp resizes the strip of
 * frames as one tall image, so its kernel reads the neighbouring frames across every frame edge
 * (enlarging 4 solid frames 2.5x gave a top row of half the previous frame's colour; halving a
 * GIF of them, 14 levels of it). So frames are resized one by one, except where the strip is
 * proven to give the same pixels (test/core/anim-resize.test.ts): a WebP that libwebp decodes
 * at the target size (frame by frame), and shrinks under 4x, each frame padded with its own
 * edge rows, or not padded at all where the rows around each frame edge are already alike. From 4x down libvips first averages blocks of rows, and past a lone frame's edge
 * it repeats the averaged edge block, which no padding gives.
 */
async function resizeFrames(image: Sharp, ctx: StepContext, o: ResizeOptions): Promise<Sharp> {
  const { meta } = ctx;
  const resizeOne = async (one: Sharp, m: ImageMeta) => (o.fit === "contain" ? await paintable(one, m) : one).resize(o);
  if (meta.pages === 1) return resizeOne(image, meta);
  const { width: W, height: H, pages, channels } = meta;
  const s = frameShrink(meta, o);
  if (s && (await scaledOnLoad(image, meta, s, o))) return resizeOne(image, meta);
  // no enlarging (sharp's upsizing interpolates across rows and columns), no box shrink
  if (!s || s.h < 1 || s.v < 1 || s.v >= 4 || channels < 3) return ctx.eachFrame(image, resizeOne);
  const w = Math.round(W / s.h);
  const h = Math.round(H / s.v);
  if (W / w !== s.h || H / h !== s.v) return ctx.eachFrame(image, resizeOne);
  if (s.v === 1) return resizeOne(image, meta); // only rows are resized: nothing crosses a frame edge
  // Each frame padded with copies of its edge rows (what libvips reads past a lone frame's edge):
  // p rows of output, P = p * H / h of input, so the scale and the sampling positions stay those
  // of the frame alone; p >= 4 covers lanczos3's reach (3 output rows' worth) past the edge.
  const g = gcd(H, h);
  const step = h / g;
  const p = Math.ceil(4 / step) * step;
  const P = (p / step) * (H / g);
  // a padded strip at most 1.5x the frames (memory), else one by one
  if (4 * P > H) return ctx.eachFrame(image, resizeOne);
  const raw = await toRaw(image);
  // Where the rows the kernel reads across each frame edge already are copies of the edge row
  // (a plain background, as in most animations), the strip needs no padding and its resize can
  // run in the chain that encodes it.
  if (edgesPlain(raw, pages, P)) return resizeOne(fromRaw(raw, pages), meta);
  // (rows copied here: sharp's per-page extend and extract cost more than the resize itself)
  const padded = padFrames(raw, pages, P);
  const out = await toRaw(fromRaw(padded, pages).resize({ width: w, height: h + 2 * p, fit: "fill" }));
  return fromRaw(padFrames(out, pages, -p), pages);
}

/**
 * Whether the `reach` rows on either side of every edge between two frames are all the same row:
 * then the neighbouring frame's rows are the copies of its own edge row that a frame alone is
 * read with, and resizing the strip gives each frame's own pixels.
 */
function edgesPlain(raw: RawImage, pages: number, reach: number): boolean {
  const row = raw.width * raw.channels;
  const frame = raw.height / pages;
  for (let k = 1; k < pages; k++) {
    const edge = k * frame * row;
    for (let y = -reach; y < reach; y++) {
      if (y !== 0 && raw.data.compare(raw.data, edge, edge + row, edge + y * row, edge + (y + 1) * row) !== 0)
        return false;
    }
  }
  return true;
}

/** Each frame of a strip with `pad` copies of its top and bottom rows added (or, below 0, cut off). */
function padFrames(raw: RawImage, pages: number, pad: number): RawImage {
  const row = raw.width * raw.channels;
  const from = raw.height / pages;
  const to = from + 2 * pad;
  const data = Buffer.allocUnsafe(row * to * pages);
  for (let k = 0; k < pages; k++) {
    const src = k * from * row;
    const dst = k * to * row;
    if (pad < 0) {
      raw.data.copy(data, dst, src - pad * row, src + (from + pad) * row);
      continue;
    }
    raw.data.copy(data, dst + pad * row, src, src + from * row);
    for (let y = 0; y < pad; y++) {
      raw.data.copy(data, dst + y * row, src, src + row);
      raw.data.copy(data, dst + (pad + from + y) * row, src + (from - 1) * row, src + from * row);
    }
  }
  return { ...raw, height: to * pages, data };
}

/**
 * Whether sharp has libwebp decode this animated WebP at the target size (its WebP
 * shrink-on-load: libwebp scales each frame on its own), leaving no resize of the strip to do.
 * Not when the chain crops first (that turns shrink-on-load off).
 */
async function scaledOnLoad(
  image: Sharp,
  meta: ImageMeta,
  s: { h: number; v: number },
  o: ResizeOptions,
): Promise<boolean> {
  const shrink = Math.min(s.h, s.v);
  const pending = (image as unknown as { options?: { topOffsetPre?: number } }).options?.topOffsetPre;
  if (!(shrink > 1) || pending !== -1 || meta.sourceFormat !== "webp") return false;
  if ((await image.metadata()).format !== "webp") return false; // raw pixels of an earlier step
  // libvips' frame size: the canvas times 1 / shrink, rounded (a tie could round either way)
  const [w, h] = [meta.width * (1 / shrink), meta.height * (1 / shrink)];
  if (w < 1 || h < 1 || w % 1 === 0.5 || h % 1 === 0.5) return false;
  const rest = frameShrink({ ...meta, width: Math.round(w), height: Math.round(h) }, o);
  return rest?.h === 1 && rest.v === 1;
}

/** sharp's horizontal and vertical shrink factors for one frame (its ResolveShrink); undefined for cover/contain. */
function frameShrink(meta: ImageMeta, o: ResizeOptions): { h: number; v: number } | undefined {
  if (o.fit === "cover" || o.fit === "contain") return undefined;
  const { width: W, height: H } = meta;
  let h = 1;
  let v = 1;
  if (o.width !== undefined && o.height !== undefined) {
    h = W / o.width;
    v = H / o.height;
    if (o.fit === "inside") h = v = Math.max(h, v);
    if (o.fit === "outside") h = v = Math.min(h, v);
  } else if (o.width !== undefined) {
    h = W / o.width;
    if (o.fit !== "fill") v = h;
  } else if (o.height !== undefined) {
    v = H / o.height;
    if (o.fit !== "fill") h = v;
  }
  if (o.withoutEnlargement) {
    h = Math.max(1, h);
    v = Math.max(1, v);
  }
  return { h: Math.min(h, W), v: Math.min(v, H) };
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** The size sharp's resize will produce (used to refuse oversized results before running). */
function resizeSize(
  meta: ImageMeta,
  o: { width?: number; height?: number; fit: string; withoutEnlargement: boolean },
): Size {
  const { width: W, height: H } = meta;
  const cap = (f: number) => (o.withoutEnlargement ? Math.min(f, 1) : f);
  const px = (n: number) => Math.max(1, Math.round(n));
  const sx = o.width !== undefined ? o.width / W : undefined;
  const sy = o.height !== undefined ? o.height / H : undefined;
  // fill scales each side on its own; a side not given keeps its size (sharp's ignore-aspect)
  if (o.fit === "fill") return { width: px(W * cap(sx ?? 1)), height: px(H * cap(sy ?? 1)) };
  const both = sx !== undefined && sy !== undefined;
  // cover fills the box and crops to it: the box, within the image where it may not grow
  if (both && o.fit === "cover")
    return o.withoutEnlargement
      ? { width: Math.min(o.width as number, W), height: Math.min(o.height as number, H) }
      : { width: o.width as number, height: o.height as number };
  const s = cap(both ? (o.fit === "outside" ? Math.max(sx, sy) : Math.min(sx, sy)) : ((sx ?? sy) as number));
  const scaled = { width: px(W * s), height: px(H * s) };
  if (o.fit !== "contain") return scaled;
  // contain letterboxes into the box, enlarged or not; a side not given is the picture's
  return { width: o.width ?? scaled.width, height: o.height ?? scaled.height };
}

function scaledSize(meta: ImageMeta, factor: number): Size {
  return {
    width: Math.max(1, Math.round(meta.width * factor)),
    height: Math.max(1, Math.round(meta.height * factor)),
  };
}

function rotatedSize(meta: ImageMeta, angle: number): Size {
  const rad = (angle * Math.PI) / 180;
  const c = Math.abs(Math.cos(rad));
  const s = Math.abs(Math.sin(rad));
  const round = (n: number) => Math.max(1, Math.round(n - 1e-9));
  return { width: round(meta.width * c + meta.height * s), height: round(meta.width * s + meta.height * c) };
}

type CropOp = {
  left?: number;
  top?: number;
  width?: number;
  height?: number;
  aspectRatio?: string;
  gravity: Position | "attention" | "entropy";
  inset?: { top: number; right: number; bottom: number; left: number; unit: "px" | "%" };
};
type Region = Size & { left: number; top: number };

/** The region a crop keeps, clipped to the image; undefined when a smart (attention) crop decides. */
function cropRegion(meta: ImageMeta, o: CropOp): Region | undefined {
  const { width: W, height: H } = meta;
  if (o.inset) {
    const { unit } = o.inset;
    const px = (v: number, of: number) => Math.round(unit === "%" ? (v * of) / 100 : v);
    const [top, right, bottom, left] = [
      px(o.inset.top, H),
      px(o.inset.right, W),
      px(o.inset.bottom, H),
      px(o.inset.left, W),
    ];
    if (left + right >= W || top + bottom >= H)
      throw new ImageEditError(
        "INVALID_OPERATION",
        `cutting ${top}/${right}/${bottom}/${left} px (top/right/bottom/left) off the ${W}x${H} image leaves nothing`,
      );
    return { left, top, width: W - left - right, height: H - top - bottom };
  }
  if (o.left !== undefined || o.top !== undefined) {
    const left = o.left ?? 0;
    const top = o.top ?? 0;
    if (left >= W || top >= H)
      throw new ImageEditError("INVALID_OPERATION", `crop starts at (${left}, ${top}), outside the ${W}x${H} image`);
    // A region reaching past the edge keeps the part that is inside the image.
    return { left, top, width: Math.min(o.width as number, W - left), height: Math.min(o.height as number, H - top) };
  }
  let width: number;
  let height: number;
  if (o.aspectRatio) {
    const [a, b] = o.aspectRatio.split(":").map(Number);
    if (W / H > a / b) {
      height = H;
      width = Math.max(1, Math.min(W, Math.round((H * a) / b)));
    } else {
      width = W;
      height = Math.max(1, Math.min(H, Math.round((W * b) / a)));
    }
  } else {
    width = Math.min(o.width as number, W);
    height = Math.min(o.height as number, H);
  }
  if ((o.gravity === "attention" || o.gravity === "entropy") && meta.pages === 1) return undefined;
  return { ...gravityOffset(o.gravity, W, H, width, height), width, height };
}

function gravityOffset(gravity: string, W: number, H: number, w: number, h: number): { left: number; top: number } {
  const cx = Math.floor((W - w) / 2);
  const cy = Math.floor((H - h) / 2);
  const left = gravity.includes("left") ? 0 : gravity.includes("right") ? W - w : cx;
  const top = gravity.includes("top") ? 0 : gravity.includes("bottom") ? H - h : cy;
  return { left, top };
}

function applyCrop(image: Sharp, o: CropOp, ctx: { meta: ImageMeta }): Sharp {
  const region = cropRegion(ctx.meta, o);
  if (region) return image.extract(region);
  // Smart crop (still images; animations use the centre): with an aspect ratio the box is the
  // largest of that shape, so "cover" does not scale and this is a pure crop; with a size smaller
  // than the image, the image is first scaled down to cover that size, like a smart thumbnail.
  const { width: W, height: H } = ctx.meta;
  let width: number;
  let height: number;
  if (o.aspectRatio) {
    const box = cropRegion(ctx.meta, { ...o, gravity: "center" }) as Region;
    width = box.width;
    height = box.height;
  } else {
    width = Math.min(o.width as number, W);
    height = Math.min(o.height as number, H);
  }
  return image.resize({ width, height, fit: "cover", position: o.gravity });
}
