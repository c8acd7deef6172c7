// Things drawn on top: text and image watermarks.

import sharp, { type OutputInfo, type Sharp } from "sharp";
import { z } from "zod";
import { parseColor } from "../color.js";
import { ImageEditError, toImageEditError } from "../errors.js";
import { decodeToSrgb, type Header, readHeader } from "../probe.js";
import { colorSchema, defineOperation, opSchema, type Position, positionSchema, type StepContext } from "./define.js";
import { paintable } from "./grey.js";

// Fonts come from fontconfig; DejaVu Sans covers Latin, Greek and Cyrillic and is usually installed.
const FONT = "DejaVu Sans";

/** An RGBA overlay in memory. */
interface Overlay {
  data: Buffer;
  width: number;
  height: number;
}

/** Space kept between an overlay and the image edge. */
function marginFor(width: number, height: number): number {
  return Math.max(2, Math.round(Math.min(width, height) * 0.02));
}

/** Top-left corner of a w x h box placed at `position` inside a frame, `margin` from its edges. */
export function placeBox(
  position: Position,
  frame: { width: number; height: number },
  box: { width: number; height: number },
  margin: number,
): { left: number; top: number } {
  const horizontal = position.includes("left") ? "start" : position.includes("right") ? "end" : "middle";
  const vertical = position.startsWith("top") ? "start" : position.startsWith("bottom") ? "end" : "middle";
  const at = (axis: string, outer: number, inner: number) =>
    Math.max(0, Math.round(axis === "start" ? margin : axis === "end" ? outer - inner - margin : (outer - inner) / 2));
  return { left: at(horizontal, frame.width, box.width), top: at(vertical, frame.height, box.height) };
}

/** Multiply an RGBA buffer's alpha by `opacity` (0-1), in place. */
function fade(data: Buffer, opacity: number): void {
  if (opacity >= 1) return;
  for (let i = 3; i < data.length; i += 4) data[i] = Math.round(data[i] * opacity);
}

/**
 * Draw the overlay at the same place on every frame (animations are frames stacked vertically),
 * cropping it to the frame first. Keeps the base's channel layout: alpha only if it had one.
 */
async function drawOverlay(image: Sharp, overlay: Overlay, position: Position, ctx: StepContext): Promise<Sharp> {
  const { width, height, pages, hasAlpha } = ctx.meta;
  let ov = overlay;
  if (ov.width > width || ov.height > height) {
    const { data, info } = await sharp(ov.data, { raw: { width: ov.width, height: ov.height, channels: 4 } })
      .extract({ left: 0, top: 0, width: Math.min(ov.width, width), height: Math.min(ov.height, height) })
      .raw()
      .toBuffer({ resolveWithObject: true });
    ov = { data, width: info.width, height: info.height };
  }
  const { left, top } = placeBox(position, { width, height }, ov, marginFor(width, height));
  const raw = { width: ov.width, height: ov.height, channels: 4 as const };
  const layers = Array.from({ length: pages }, (_, page) => ({ input: ov.data, raw, left, top: top + page * height }));
  // Grey bases would turn a coloured overlay grey: composite in sRGB.
  const out = (await paintable(image, ctx.meta)).composite(layers);
  return hasAlpha ? out : out.removeAlpha();
}

const MARKUP_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/**
 * User text as inert Pango markup: markup characters escaped, control characters (other than
 * newlines and tabs) removed, and no more characters than could be visible in the frame at this
 * size (a bound on rendering work; whatever does not fit is clipped anyway).
 */
export function textForPango(text: string, size: number, frame: { width: number; height: number }): string {
  return escapeMarkup(visibleChars(text, size, frame).join(""));
}

/** The characters of textForPango, unescaped (one entry per code point). */
function visibleChars(text: string, size: number, frame: { width: number; height: number }): string[] {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
  const clean = text.replace(/\r\n?/g, "\n").replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "");
  const perLine = Math.ceil(frame.width / (0.25 * size)) + 1;
  const lines = Math.ceil(frame.height / (0.8 * size)) + 1;
  return [...clean].slice(0, perLine * lines);
}

const escapeMarkup = (text: string) => text.replace(/[&<>"']/g, (c) => MARKUP_ESCAPES[c]);

interface TextStyle {
  hex: string;
  size: number;
  wrapWidth: number;
  align: "left" | "centre" | "right";
}

/** Pango renders text at this font size (px) to measure it before rendering it large. */
const MEASURE_SIZE = 40;

function textImage(chars: string[], style: TextStyle, scale = 1) {
  return sharp({
    text: {
      text: `<span foreground="#${style.hex}">${escapeMarkup(chars.join(""))}</span>`,
      font: `${FONT} ${style.size / scale}`,
      dpi: 72, // at 72 dpi a point is a pixel: `size` is the font size in px
      rgba: true,
      width: Math.max(1, Math.round(style.wrapWidth / scale)),
      wrap: "word-char",
      align: style.align,
    },
  });
}

/**
 * The leading characters worth rendering: all of them, unless wrapped at this size they run far
 * below the frame. visibleChars guesses from the narrowest glyphs, so wide ones (W, CJK) could
 * make the overlay several frames tall: 1.9 GB at 1000 px on a 10000 px image, or a cairo
 * surface over its 32767 px limit. Measured at a small size (the layout scales), the text is cut
 * where its lines pass the frame by two more, so every line that reaches into the frame is
 * wrapped and drawn exactly as before (Pango fills lines greedily: a cut only changes its line).
 */
async function fitText(chars: string[], style: TextStyle, frameHeight: number): Promise<string[]> {
  if (style.size <= MEASURE_SIZE) return chars; // visibleChars already bounds it to a few frames
  const scale = style.size / MEASURE_SIZE;
  const budget = frameHeight + 2.5 * style.size;
  const fits = async (n: number) => {
    try {
      return (await textImage(chars.slice(0, n), style, scale).metadata()).height * scale <= budget;
    } catch (e) {
      if (drewNothing(e)) return true; // no ink at all (only line breaks so far): nothing to overflow
      throw e;
    }
  };
  if (await fits(chars.length)) return chars;
  let lo = 1; // a single line always fits: the font size is at most the frame height
  let hi = chars.length;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (await fits(mid)) lo = mid;
    else hi = mid;
  }
  return chars.slice(0, lo);
}

/** The text as an RGBA overlay; undefined when nothing visible is left of it. */
async function renderText(
  o: { text: string; size?: number; color: string; opacity: number; position: Position },
  frame: { width: number; height: number },
): Promise<Overlay | undefined> {
  const color = parseColor(o.color) ?? { r: 255, g: 255, b: 255, alpha: 1 };
  const size = Math.min(o.size ?? Math.max(8, Math.round(frame.height * 0.05)), Math.max(4, frame.height));
  const visible = visibleChars(o.text, size, frame);
  if (visible.join("").trim() === "") return undefined;
  const hex = [color.r, color.g, color.b].map((v) => v.toString(16).padStart(2, "0")).join("");
  const margin = marginFor(frame.width, frame.height);
  const align = o.position.includes("left") ? "left" : o.position.includes("right") ? "right" : "centre";
  const style: TextStyle = { hex, size, wrapWidth: Math.max(1, frame.width - 2 * margin), align };
  let rendered: { data: Buffer; info: OutputInfo };
  try {
    rendered = await textImage(await fitText(visible, style, frame.height), style)
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    if (drewNothing(e)) return undefined; // like whitespace: the image stays as it is
    throw e;
  }
  const { data, info } = rendered;
  fade(data, o.opacity * color.alpha);
  return { data, width: info.width, height: info.height };
}

/**
 * libvips refuses to make an image of text that Pango lays out without ink: zero-width or
 * invisible characters (U+200B, a soft hyphen), or line breaks before anything that fits.
 */
function drewNothing(e: unknown): boolean {
  return e instanceof Error && e.message.includes("no text to render");
}

async function applyText(
  image: Sharp,
  o: { text: string; size?: number; color: string; opacity: number; position: Position },
  ctx: StepContext,
): Promise<Sharp> {
  const overlay = await renderText(o, ctx.meta);
  return overlay ? drawOverlay(image, overlay, o.position, ctx) : image;
}

/**
 * Load a watermark image and hold it to the same limits as an input image (bytes, format,
 * dimensions, pixels), from its header, before any of it is decoded.
 */
async function loadWatermark(url: string, ctx: StepContext): Promise<{ data: Buffer; header: Header }> {
  const data = await ctx.loadAsset(url);
  try {
    return { data, header: await readHeader(data, ctx.limits) };
  } catch (e) {
    const err = toImageEditError(e, "CORRUPT_IMAGE");
    throw new ImageEditError(err.code, `watermark ${err.message}`, { field: "url", details: err.details, cause: e });
  }
}

async function applyWatermark(
  image: Sharp,
  o: { url: string; position: Position; opacity: number; scale: number },
  ctx: StepContext,
): Promise<Sharp> {
  const { width, height } = ctx.meta;
  const source = await loadWatermark(o.url, ctx);
  const margin = marginFor(width, height);
  let rendered: { data: Buffer; info: OutputInfo };
  try {
    rendered = await decodeToSrgb(
      sharp(source.data, { limitInputPixels: ctx.limits.maxInputPixels, failOn: "error" }),
      source.header,
    )
      .autoOrient()
      // Width relative to the base image; never taller than a frame.
      .resize({
        width: Math.max(1, Math.round(width * o.scale)),
        height: Math.max(1, height - 2 * margin),
        fit: "inside",
      })
      .toColourspace("srgb")
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new ImageEditError("CORRUPT_IMAGE", `watermark image could not be decoded: ${(e as Error).message}`, {
      field: "url",
      cause: e,
    });
  }
  fade(rendered.data, o.opacity);
  return drawOverlay(
    image,
    { data: rendered.data, width: rendered.info.width, height: rendered.info.height },
    o.position,
    ctx,
  );
}

export const text = defineOperation({
  name: "text",
  family: "overlay",
  summary: "Draw text at a position; size in px (default 5% of the image height), colour, opacity 0-1.",
  schema: opSchema("text", {
    text: z.string().min(1).max(500),
    position: positionSchema.default("bottom-right"),
    size: z.number().int().min(4).max(2000).optional(),
    color: colorSchema.default("white"),
    opacity: z.number().min(0).max(1).default(0.8),
  }),
  describe: (o) => `Add text "${o.text}" at ${o.position}`,
  words: ["text", "caption", "label", "write", "copyright", "put", "add", "stamp", "say", "words"],
  keepsAnimation: true,
  frames: "whole", // drawn once, composited at the same place on every frame
  apply: applyText,
});

export const watermark = defineOperation({
  name: "watermark",
  family: "overlay",
  summary: "Overlay another image (by URL) at a position; scale is its width relative to the image's (0.01-1).",
  schema: opSchema("watermark", {
    url: z.string().url().max(2048),
    position: positionSchema.default("bottom-right"),
    opacity: z.number().min(0).max(1).default(0.5),
    scale: z.number().min(0.01).max(1).default(0.25),
  }),
  describe: (o) => `Watermark with ${o.url} at ${o.position}`,
  words: ["watermark", "logo", "overlay"],
  keepsAnimation: true,
  frames: "whole", // drawn once, composited at the same place on every frame
  apply: applyWatermark,
});
