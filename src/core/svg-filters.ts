// SVG filter effects: librsvg renders each filter primitive into its own canvas-sized surface, in
// one uninterruptible call (libvips' time limit cannot stop it), so a 600-byte SVG applying one
// blur to a 10000x10000 canvas peaked at 2.8 GB and ran ~90 s past its time limit. The cost is
// read from the text (no XML parser runs on the input) and held to a budget before rendering.
import { ImageEditError } from "./errors.js";
import { svgText } from "./svg-embeds.js";

/** Filter primitives in one SVG: more is refused whatever the canvas. */
export const MAX_SVG_FILTER_PRIMITIVES = 32;
/**
 * Canvas pixels x (primitives + SURFACES): ~4 bytes each, so about 0.5 GB at most, and (at 0.5-2
 * microseconds per pixel and primitive, measured) well inside the time limit that cannot stop it.
 */
export const MAX_SVG_FILTER_PIXELS = 128_000_000;
/** Surfaces librsvg holds besides one per primitive (measured: 2.8 GB for one blur on 100 Mpx). */
const SURFACES = 6;
/** Canvas pixels x feMorphology radius (about 2.7 ns each: ~11 s). */
export const MAX_SVG_MORPHOLOGY_WORK = 4_000_000_000;

// <feGaussianBlur>, <svg:feMorphology>, ... (element names cannot be escaped in XML)
const PRIMITIVE = /<(?:[\w.-]+:)?fe[A-Z][\w]*/g;
// CSS filter functions (filter="blur(5px)", style="filter: drop-shadow(...)"): one primitive each
const CSS_FUNCTION =
  /\b(?:blur|drop-shadow|brightness|contrast|grayscale|hue-rotate|invert|opacity|saturate|sepia)\s*\(/gi;
const MORPHOLOGY = /<(?:[\w.-]+:)?feMorphology\b[^>]*>/g;

const int = (n: number) => n.toLocaleString("en-US");

/** Refuses an SVG whose filters would cost too much at its canvas size (width x height, px). */
export function checkSvgFilters(svg: Buffer, width: number, height: number): void {
  const text = svgText(svg);
  const primitives = (text.match(PRIMITIVE)?.length ?? 0) + (text.match(CSS_FUNCTION)?.length ?? 0);
  if (primitives === 0) return;
  const canvas = `${width}x${height}`;
  if (primitives > MAX_SVG_FILTER_PRIMITIVES)
    throw new ImageEditError(
      "PIXEL_LIMIT",
      `the SVG has ${primitives} filter primitives; at most ${MAX_SVG_FILTER_PRIMITIVES} are accepted`,
      { details: { primitives, limit: MAX_SVG_FILTER_PRIMITIVES } },
    );
  const pixels = width * height;
  const copies = pixels * (primitives + SURFACES);
  if (copies > MAX_SVG_FILTER_PIXELS) {
    const side = Math.floor(
      Math.sqrt(MAX_SVG_FILTER_PIXELS / (primitives + SURFACES) / pixels) * Math.max(width, height),
    );
    throw new ImageEditError(
      "PIXEL_LIMIT",
      `the SVG applies ${primitives} filter primitive${primitives > 1 ? "s" : ""} to a ${canvas} canvas: librsvg keeps a canvas-sized copy per primitive (${int(copies)} pixels in all; the limit is ${int(MAX_SVG_FILTER_PIXELS)}): give the SVG a width and height of at most ${side} px on the longer side, or use fewer filters`,
      { details: { width, height, primitives, pixels: copies, limit: MAX_SVG_FILTER_PIXELS } },
    );
  }
  for (const m of text.matchAll(MORPHOLOGY)) {
    const radius = /\bradius\s*=\s*["']([^"']*)["']/.exec(m[0])?.[1] ?? "0";
    const r = Math.max(
      0,
      ...radius
        .split(/[\s,]+/)
        .map(Number)
        .filter(Number.isFinite),
    );
    if (pixels * r > MAX_SVG_MORPHOLOGY_WORK)
      throw new ImageEditError(
        "PIXEL_LIMIT",
        `the SVG's feMorphology radius ${r} on a ${canvas} canvas is too much work (${int(Math.round(pixels * r))} pixel steps; the limit is ${int(MAX_SVG_MORPHOLOGY_WORK)}): use a smaller radius or canvas`,
        { details: { width, height, radius: r, limit: MAX_SVG_MORPHOLOGY_WORK } },
      );
  }
}
