// The grammar of one clause: given the items of a clause and the operation its trigger names,
// each parser consumes the parameter phrases it understands (numbers with units, colours,
// positions, directions, amounts) and builds the operation. Whatever no parser consumes is
// reported by the planner as not understood. Operations without a parser here still work when
// they need no parameters (the generic parser), so a new catalog entry is reachable at once.
import { NAMED_COLORS, parseColor } from "../color.js";
import type { OperationInput, OperationName } from "../operations.js";
import type { Position } from "../ops/define.js";
import { scale } from "../ops/geometry.js";
import { type Item, registerKnownWords } from "./vocabulary.js";

export type Amount = "little" | "lot" | undefined;

export class Clause {
  readonly used: boolean[];
  constructor(readonly items: Item[]) {
    this.used = items.map(() => false);
  }
  /** First unused item matching, marked used. */
  take(pred: (it: Item, i: number) => boolean): Item | undefined {
    const i = this.items.findIndex((it, k) => !this.used[k] && pred(it, k));
    if (i < 0) return undefined;
    this.used[i] = true;
    return this.items[i];
  }
  takeKey(...keys: string[]): Item | undefined {
    return this.take((it) => keys.includes(it.key));
  }
  /** Marks every unused item with one of the keys; returns how many. */
  takeAll(...keys: string[]): number {
    const set = new Set(keys);
    let n = 0;
    for (let i = 0; i < this.items.length; i++) {
      if (this.used[i] || !set.has(this.items[i].key)) continue;
      this.used[i] = true;
      n++;
    }
    return n;
  }
  has(...keys: string[]): boolean {
    return this.items.some((it) => keys.includes(it.key));
  }
  indexOf(item: Item): number {
    return this.items.indexOf(item);
  }
  /** The item just before `item` (used or not). */
  before(item: Item, distance = 1): Item | undefined {
    return this.items[this.indexOf(item) - distance];
  }
  after(item: Item, distance = 1): Item | undefined {
    return this.items[this.indexOf(item) + distance];
  }
  /** Whether one of the keys sits within `span` items before or after `item`. */
  near(item: Item, keys: string[], span = 2): Item | undefined {
    const i = this.indexOf(item);
    for (let d = 1; d <= span; d++) {
      for (const j of [i - d, i + d]) {
        const it = this.items[j];
        if (it && keys.includes(it.key)) return it;
      }
    }
    return undefined;
  }
  mark(item: Item | undefined): void {
    if (item) this.used[this.indexOf(item)] = true;
  }
}

/** What a parser returns: the steps, or a message saying what is missing. */
export type ClauseResult = { ops: OperationInput[] } | { error: string };

export interface ParseContext {
  /** The operation whose trigger started the clause. */
  op: OperationName;
  /** The trigger words of that operation present in the clause. */
  triggers: Item[];
}

type Parser = (c: Clause, ctx: ParseContext) => ClauseResult;

// ---------------------------------------------------------------- shared parameter phrases

const POSITION_KEYS: Record<string, Position> = {
  "top-left": "top-left",
  "top-right": "top-right",
  "bottom-left": "bottom-left",
  "bottom-right": "bottom-right",
  center: "center",
  centre: "center",
  middle: "center",
  centered: "center",
  centred: "center",
  central: "center",
  top: "top",
  upper: "top",
  bottom: "bottom",
  lower: "bottom",
  left: "left",
  right: "right",
};
/** A word that places something: "top left", "centre", "bottom". */
export function isPositionItem(it: Item): boolean {
  return it.key in POSITION_KEYS;
}
const CORNER_WORDS = ["corner", "corners", "side", "edge", "position", "positioned", "placed", "area", "part"];

function position(c: Clause): Position | undefined {
  const it = c.take((i) => i.key in POSITION_KEYS);
  if (!it) return undefined;
  c.takeAll(...CORNER_WORDS);
  let pos = POSITION_KEYS[it.key];
  // "top center" is top; "top" + "left" is top-left
  const second = c.take((i) => i.key in POSITION_KEYS);
  if (second) {
    const b = POSITION_KEYS[second.key];
    const pair = new Set([pos, b]);
    if (pair.has("center")) pos = pos === "center" ? b : pos;
    else {
      const v = pair.has("top") ? "top" : pair.has("bottom") ? "bottom" : undefined;
      const h = pair.has("left") ? "left" : pair.has("right") ? "right" : undefined;
      if (v && h) pos = `${v}-${h}` as Position;
    }
  }
  return pos;
}

const COLOR_EXTRA = new Set(["transparent"]);
export function isColorItem(it: Item): boolean {
  if (it.key === "#hex") return true;
  return (it.key in NAMED_COLORS || COLOR_EXTRA.has(it.key)) && parseColor(it.key) !== undefined;
}
function colorValue(it: Item): string {
  return it.key === "#hex" ? it.text.toLowerCase().replace(/\s+/gu, "") : it.key;
}
function color(c: Clause): string | undefined {
  const it = c.take(isColorItem);
  if (!it) return undefined;
  c.takeAll("colour", "color", "coloured", "colored");
  return colorValue(it);
}

function amount(c: Clause): Amount {
  const it = c.takeKey("amt:little", "amt:lot");
  if (it) c.takeAll(it.key); // "much much brighter"
  return it ? (it.key === "amt:little" ? "little" : "lot") : undefined;
}
function pick(a: Amount, little: number, normal: number, lot: number): number {
  return a === "little" ? little : a === "lot" ? lot : normal;
}

function num(c: Clause, pred: (n: NonNullable<Item["num"]>, it: Item) => boolean = () => true): Item | undefined {
  return c.take((it) => it.num !== undefined && pred(it.num, it));
}

/** A number near one of the keywords ("quality 80", "80% quality", "opacity of 50%"). */
const POSTFIX_WORDS = new Set(["wide", "tall", "high", "across", "long", "opaque", "transparent"]);

function numNear(c: Clause, keys: string[], span = 3, skip?: Item): Item | undefined {
  const kw = c.items.find((it) => keys.includes(it.key) && it !== skip);
  if (!kw) return undefined;
  const i = c.indexOf(kw);
  // adjectives follow their number ("800 wide", "50% opacity"); nouns lead it ("width 800")
  const before = POSTFIX_WORDS.has(kw.key) || c.items[i - 1]?.num !== undefined;
  for (let d = 1; d <= span; d++) {
    for (const j of before ? [i - d, i + d] : [i + d, i - d]) {
      const it = c.items[j];
      if (it?.num && !c.used[j]) {
        c.mark(it);
        c.mark(kw);
        return it;
      }
    }
  }
  return undefined;
}

const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;

// ---------------------------------------------------------------- size: resize and scale

const CROP_NEEDS_BOTH = "a crop needs both a width and a height (crop to 500x800), or say resize to 500 wide to scale";

/** Social presets: exact boxes, filled (cover) so the result is exactly that size. */
export const PRESETS: Record<string, { width: number; height: number; label: string }> = {
  "preset:instagram": { width: 1080, height: 1080, label: "Instagram post (square)" },
  "preset:story": { width: 1080, height: 1920, label: "Instagram/TikTok story (9:16)" },
  "preset:instagram-portrait": { width: 1080, height: 1350, label: "Instagram portrait (4:5)" },
  "preset:twitter": { width: 1600, height: 900, label: "Twitter/X post (16:9)" },
  "preset:twitter-header": { width: 1500, height: 500, label: "Twitter/X header (3:1)" },
  "preset:facebook": { width: 1200, height: 630, label: "Facebook post / link image" },
  "preset:facebook-cover": { width: 820, height: 312, label: "Facebook cover" },
  "preset:linkedin": { width: 1200, height: 627, label: "LinkedIn post" },
  "preset:linkedin-banner": { width: 1584, height: 396, label: "LinkedIn banner (4:1)" },
  "preset:youtube": { width: 1280, height: 720, label: "YouTube thumbnail (16:9)" },
  "preset:og": { width: 1200, height: 630, label: "Open Graph / social card" },
  "preset:avatar": { width: 400, height: 400, label: "Avatar / profile picture" },
  "preset:720p": { width: 1280, height: 720, label: "HD 720p (fit inside)" },
  "preset:hd": { width: 1920, height: 1080, label: "Full HD 1080p (fit inside)" },
  "preset:4k": { width: 3840, height: 2160, label: "4K UHD (fit inside)" },
};
/** Presets that fit inside rather than fill (screens, not slots). */
export const FIT_PRESETS = new Set(["preset:720p", "preset:hd", "preset:4k"]);

export const THUMBNAIL_SIZE = 200;
const SHRINK = [
  "small",
  "shrink",
  "downsize",
  "smaller",
  "reduce",
  "dir:less",
  "downscale",
  "decrease",
  "smallen",
  "minify",
];
const GROW = [
  "big",
  "large",
  "enlarge",
  "upsize",
  "bigger",
  "larger",
  "dir:more",
  "upscale",
  "grow",
  "expand",
  "increase",
  "magnify",
];
const SIZE_CHANGE = new Set([...SHRINK, ...GROW]);
/** A word that changes the size in a direction ("reduce", "larger", "less"). */
export function isSizeChangeItem(it: Item): boolean {
  return SIZE_CHANGE.has(it.key);
}
/** The largest multiplier: scale's limit. "1920x" is beyond it, so it can only be a width. */
const MAX_FACTOR = scale.schema.shape.factor.maxValue ?? 20;
/** "1920x" is a width from here; "21x"-"99x" could be either, and are refused naming both. */
const MIN_GEOMETRY_WIDTH = 100;
const WIDTH_KEYS = ["width", "wide", "w", "across"];
const HEIGHT_KEYS = ["height", "tall", "high", "h"];
/** One side changed by an amount ("200px wider"): no operation takes a change in pixels. */
const SIDE_CHANGE = ["wider", "narrower", "taller", "thinner"];
const SIZE_WORDS = [
  "leave",
  "unchanged",
  "auto",
  "automatic",
  "proportional",
  "size",
  "sized",
  "resize",
  "resized",
  "resizing",
  "scale",
  "scaled",
  "dimensions",
  "dimension",
  "long",
  "longest",
  "edge",
  "side",
  "sides",
  "original",
  "current",
  "px",
  "box",
  "within",
  "inside",
  "fit",
  "factor",
  "times",
];

/** "x1080", "x 1080": ImageMagick geometry for a height alone (the width follows the aspect ratio). */
function openHeight(c: Clause, dims: Item | undefined): { text: string; h: number; px: boolean } | undefined {
  if (dims?.dims)
    return dims.dims.w === undefined ? { text: dims.text, h: dims.dims.h, px: !!dims.dims.unit } : undefined;
  // with a space only a written x counts ("times 2" is no height)
  const i = c.items.findIndex((it, k) => !c.used[k] && /^[x×]$/iu.test(it.text));
  const n = c.items[i + 1];
  if (i < 0 || c.used[i + 1] || !n?.num || (n.num.unit !== undefined && n.num.unit !== "px")) return undefined;
  c.mark(c.items[i]);
  c.mark(n);
  return { text: `${c.items[i].text} ${n.text}`, h: n.num.value, px: n.num.unit === "px" };
}

function scaleFactor(n: NonNullable<Item["num"]>, polarity: "down" | "up" | undefined, relative: boolean): number {
  let f = n.unit === "%" ? n.value / 100 : n.value;
  if (n.unit === "%" || n.unit === "frac") {
    // "shrink by 25%" keeps 75%; "enlarge by 50%" gives 150%; "by half" is half either way
    if (relative && polarity === "down" && f !== 0.5) f = 1 - f;
    else if (relative && polarity === "up") f = 1 + f;
  } else if (polarity === "down" && f > 1) f = 1 / f; // "shrink 2x"
  return round(f, 4);
}

const parseSize: Parser = (c, ctx) => {
  const polarity: "down" | "up" | undefined = c.has(...SHRINK) ? "down" : c.has(...GROW) ? "up" : undefined;
  c.takeAll(...SHRINK, ...GROW);
  // "resize to 800px in high quality": how the result is saved, said inside the size step (taken
  // first: the "maximum" of "maximum quality" is no cap on the size)
  const qualityWord = qualityWordIn(c, "quality");
  if (qualityWord) c.mark(c.after(qualityWord));
  const noEnlarge = c.takeAll("noenlarge", "atmost") > 0;
  // "crop to 500 wide" must cut, not scale: a crop with one side is refused below
  const cropWord = c.has("crop", "cropped", "cropping", "cut");
  let fit: "inside" | "cover" | "contain" | "fill" | "outside" | undefined;
  if (c.takeKey("stretch", "stretched", "exactly", "exact", "distort", "squash", "squish")) fit = "fill";
  else if (c.takeKey("cover", "fill", "crop", "cropped", "cropping", "resize and crop")) fit = "cover";
  else if (c.takeKey("contain", "letterbox", "letterboxed", "pad", "padded", "padding", "bars")) fit = "contain";
  else if (c.takeKey("atleast", "outside", "minimum", "min", "shortest")) fit = "outside";
  // "crop center": the centre is where a cover keeps anyway
  if (fit === "cover") c.takeAll("center", "centre", "middle", "centered", "centred");
  const bg = fit === "contain" || c.has("background") ? color(c) : undefined;
  c.takeAll("background", "bg");
  const square = c.takeKey("square", "squared") !== undefined;
  const finish = (op: OperationInput): ClauseResult => {
    // "crop it in half" cuts half away; scaling would keep all of it, smaller
    if (op.op === "scale" && cropWord) {
      // the crop word is what the message is about: not also "not understood"
      c.takeAll("crop", "cropped", "cropping", "cut");
      return {
        error:
          "a crop by a fraction is not clear: to cut part away, say which, e.g. crop 50% off the right; to make it smaller, say scale 50%",
      };
    }
    c.takeAll(...SIZE_WORDS);
    amount(c);
    // "a 100px webp thumbnail": the format named inside the size step
    const f = c.take((it) => it.key in FORMAT_KEYS);
    if (!f && !qualityWord) return { ops: [op] };
    const out: Record<string | symbol, unknown> = { op: "format", format: f ? FORMAT_KEYS[f.key] : "jpeg" };
    if (qualityWord) out.quality = qualityOf(qualityWord);
    if (!f) out[IMPLICIT_FORMAT] = true;
    return { ops: [op, out as OperationInput] };
  };
  const resizeOp = (width?: number, height?: number, defFit: typeof fit = "inside", box = true): ClauseResult => {
    let chosen = fit ?? defFit;
    if (bg && chosen !== "contain") {
      // a background colour shows only around an image letterboxed into a box: "1000x1000 on a
      // white background" is that; with one length or another fit it would silently do nothing
      if (fit !== undefined || !box || width === undefined || height === undefined)
        return {
          error: `a background colour only fills the bars around an image fitted into a box: say e.g. fit in ${width ?? height}x${height ?? width} with ${bg} bars`,
        };
      chosen = "contain";
    }
    return finish({
      op: "resize",
      width,
      height,
      fit: chosen,
      ...(noEnlarge ? { withoutEnlargement: true } : {}),
      ...(bg ? { background: bg } : {}),
    } as OperationInput);
  };

  const thumb = c.takeKey("thumbnail", "thumbnails", "thumb", "icon", "preview");
  const preset = c.take((it) => it.key.startsWith("preset:"));
  const dims = c.takeKey("#dims");
  if (preset) {
    // explicit dimensions beat the preset's ("1080x1080 for instagram")
    const p = PRESETS[preset.key];
    return resizeOp(
      dims?.dims?.w ?? p.width,
      dims?.dims?.h ?? p.height,
      FIT_PRESETS.has(preset.key) ? "inside" : "cover",
    );
  }
  if (dims?.dims?.w !== undefined) {
    // "a 150x150 square thumbnail": exactly that square, as "square thumbnail 150px" is
    if (square && dims.dims.w !== dims.dims.h)
      return { error: `conflicting sizes: square and ${dims.text}; say one of them` };
    return resizeOp(dims.dims.w, dims.dims.h, square ? "cover" : "inside");
  }
  const height = openHeight(c, dims);
  if (height) {
    // "x2" says "times two" as often as "2 pixels high": a height small enough to be a
    // multiplier needs its px
    if (height.h <= MAX_FACTOR && !height.px)
      return { error: `"${height.text}" is ambiguous: say ${height.h}x to scale, or ${height.h}px tall` };
    return resizeOp(undefined, height.h);
  }

  // "200px wider": read as "200 wide" it would set the width to 200
  const sideChange = c.takeKey(...SIDE_CHANGE);
  if (sideChange) {
    c.take((it) => it.num !== undefined);
    return {
      error: `"${sideChange.text}" by an amount is not supported: say the new size (e.g. 1200 wide, 800 tall) or scale both sides (e.g. scale 120%)`,
    };
  }
  // "width 800", "800 wide", "height of 600", "600px tall"
  const widthN = numNear(c, WIDTH_KEYS);
  const heightN = numNear(c, HEIGHT_KEYS, 3, qualityWord); // not the "high" of "high quality"
  c.takeAll(...WIDTH_KEYS, ...HEIGHT_KEYS);
  // "increase the width by 200px", "add 200px to the width": a change, not the new length (the
  // "by" of "800 wide by 600 high" joins two lengths)
  const changeBy = (n: Item | undefined, other: Item | undefined) =>
    n !== undefined &&
    ((c.before(n)?.key === "by" && !(other && c.indexOf(other) < c.indexOf(n))) ||
      (c.has("add") && ["to", "onto"].includes(c.after(n)?.key ?? "")));
  const change = changeBy(widthN, heightN) ? widthN : changeBy(heightN, widthN) ? heightN : undefined;
  // "twice as wide", "double the width", "halve the height": a multiple of one side, not a length
  // of 2 (or 0.5) pixels
  const multiple = [widthN, heightN].find(
    (n) =>
      n?.num && (n.num.unit === "x" || n.num.unit === "frac" || (!/\d/u.test(n.text) && n.num.value <= MAX_FACTOR)),
  );
  if (multiple) {
    const side = multiple === widthN ? "width" : "height";
    return {
      error: `"${multiple.text}" the ${side} alone is not supported: say the new ${side} (e.g. ${side} ${side === "width" ? 1600 : 1200}) or scale both sides (e.g. double the size)`,
    };
  }
  if (change?.num && change.num.unit !== "%") {
    const side = change === widthN ? "width" : "height";
    return {
      error: `changing the ${side} by ${change.text} is not supported: say the new ${side} (e.g. ${side} ${side === "width" ? 1200 : 800}) or scale both sides (e.g. scale 120%)`,
    };
  }
  if (widthN?.num?.unit === "%" || heightN?.num?.unit === "%")
    return { error: "a width or height in % is not supported: say scale 50% to scale both sides" };
  if (cropWord && !(widthN && heightN) && (widthN || heightN)) return { error: CROP_NEEDS_BOTH };
  if (widthN || heightN) return resizeOp(widthN?.num?.value, heightN?.num?.value);

  const n = num(c);
  if (n?.num) {
    // "shrink by a factor of 2", "scale factor 0.5": a multiplier, never a length in pixels
    const before = c.before(n)?.key;
    if (
      (before === "factor" || (before === "of" && c.before(n, 2)?.key === "factor")) &&
      (n.num.unit === undefined || n.num.unit === "x")
    ) {
      const v = n.num.value;
      return finish({ op: "scale", factor: round(polarity === "down" && v > 1 ? 1 / v : v, 4) });
    }
    // "resolution 300" is as often 300 DPI as 300 pixels
    const resolution = c.items.find((it) => it.key === "size" && /^res/iu.test(it.text));
    if (resolution && n.num.unit === undefined && n.num.value > MAX_FACTOR)
      return {
        error: `"${resolution.text} ${n.text}" could be pixels or DPI: say ${n.text}px (DPI is not set here: give the size in pixels)`,
      };
    // "by 25%" and "20% bigger" are relative; "to 25%" and "25% of the size" are not
    const prevKey = c.before(n)?.key;
    const relative =
      prevKey === "by" ||
      c.before(n, 2)?.key === "by" ||
      (polarity !== undefined &&
        prevKey !== "to" &&
        prevKey !== "of" &&
        c.after(n)?.key !== "of" &&
        c.after(n)?.key !== "as");
    const { unit, value } = n.num;
    if (unit === undefined && relative && !thumb) {
      // "enlarge by 50" is +50%, "shrink by 50" is -50%, "upscale by 2" is 2x, "downscale by 2" is
      // half: a bare number changing the size is never a pixel size (that needs px or "to").
      // "shrink by 10" is as likely 10% as 10 times: a whole number up to 10 after a size change
      // is refused naming both, except after scale/upscale/downscale (which scale by a factor)
      const factorVerb = c.items.some((it) => ["scale", "scaled", "upscale", "downscale"].includes(it.key));
      if (polarity && !factorVerb && Number.isInteger(value) && value > 0 && value <= 10)
        return {
          error: `"${n.text}" is ambiguous here: say ${value}% or ${value} times (${value}x)`,
        };
      if (value > 0 && value <= 10)
        return finish({ op: "scale", factor: round(polarity === "down" ? 1 / value : value, 4) });
      if (value > 10 && value < 100 && polarity)
        return finish({ op: "scale", factor: round(polarity === "down" ? 1 - value / 100 : 1 + value / 100, 4) });
      return { error: `"${n.text}" is ambiguous here: say ${value}%, ${value}x or to ${value}px` };
    }
    // "800px smaller", "shrink by 100px": a change in pixels is not an operation
    if (unit === "px" && (prevKey === "by" || [...SHRINK, ...GROW].includes(c.after(n)?.key ?? "")))
      return { error: `changing the size by ${n.text} is not supported: say to ${value}px, or a percent` };
    // ImageMagick geometry "1920x" is a width (the height follows the aspect ratio); "2x" is a
    // multiplier. A written x on a number too big to be one, asked as a size ("to 1920x", not
    // "1920x bigger"), is the width; any other multiplier that big is refused, naming the word.
    if (unit === "x" && value > MAX_FACTOR) {
      // after "scale" without "to" ("scale 30x") it can only be a multiplier; "25x" is as likely
      // 25 times as 25 pixels wide, so only a width past any such guess ("1920x") is read as one
      const scaleWord = c.items.some((it) => it.key === "scale" || it.key === "scaled");
      const geometry = !relative && /[x×]$/iu.test(n.text) && !(scaleWord && prevKey !== "to");
      if (geometry && value >= MIN_GEOMETRY_WIDTH) return resizeOp(value, undefined);
      if (geometry)
        return {
          error: `"${n.text}" is ambiguous: ${value}px wide (say ${value}px wide) or ${value} times the size (a size can be scaled by at most ${MAX_FACTOR}x)`,
        };
      return { error: `a size can be scaled by at most ${MAX_FACTOR}x, not "${n.text}"` };
    }
    // "shrink by 150%" leaves nothing; "enlarge 200%" is a size to reach (nobody asks for 3x that
    // way), but "by 200%" / "200% bigger" read either way
    if (unit === "%" && relative && polarity === "down" && value >= 100)
      return { error: `shrinking by ${n.text} leaves nothing: say e.g. shrink by 50% or to 50%` };
    if (unit === "%" && relative && polarity === "up" && value > 100) {
      const by = prevKey === "by" || c.before(n, 2)?.key === "by" || GROW.includes(c.after(n)?.key ?? "");
      if (by)
        return {
          error: `"${n.text}" is ambiguous here: say to ${value}% (${round(value / 100)}x) or to ${value + 100}% (${round(value / 100 + 1)}x)`,
        };
      return finish({ op: "scale", factor: round(value / 100, 4) });
    }
    // "scale 50": 50% or 50px? A bare number past any multiplier is refused rather than guessed
    // (a large one, "scale 1200", can only be pixels)
    if (
      unit === undefined &&
      polarity === undefined &&
      !thumb &&
      value > MAX_FACTOR &&
      value < 500 &&
      ctx.triggers.some((t) => t.key === "scale")
    )
      return { error: `"${n.text}" is ambiguous here: say ${value}% or ${value}px` };
    const isFactor =
      unit === "%" ||
      unit === "frac" ||
      unit === "x" ||
      (unit === undefined && ctx.op === "scale" && value <= 20 && !thumb);
    if (isFactor) {
      const factor = scaleFactor(n.num, polarity, relative);
      return finish({ op: "scale", factor });
    }
    // "resize 0.5": no length has a fraction of a pixel, so a factor; "resize 2" could be 2x or
    // a 2-pixel image (which nobody wants): refused, naming both
    if (unit === undefined && value > 0 && value <= MAX_FACTOR && !Number.isInteger(value))
      return finish({ op: "scale", factor: round(value, 4) });
    if (unit === undefined && Number.isInteger(value) && value > 0 && value < 10)
      return { error: `"${n.text}" is ambiguous here: say ${value}x to scale or ${value}px` };
    // one length: the longest side ("resize to 800px" = fit inside 800x800)
    if (unit === undefined || unit === "px") return resizeOp(value, value, square ? "cover" : "inside", false);
    return { error: `a size in ${unit} does not make sense here` };
  }
  if (thumb) return resizeOp(THUMBNAIL_SIZE, THUMBNAIL_SIZE, square ? "cover" : "inside");
  // "make it smaller", "a lot bigger": vague amounts
  const a = amount(c);
  if (polarity === "down") return finish({ op: "scale", factor: pick(a, 0.75, 0.5, 0.25) });
  if (polarity === "up") return finish({ op: "scale", factor: pick(a, 1.25, 2, 3) });
  if (ctx.op === "scale" && ctx.triggers.some((t) => t.num)) {
    const t = ctx.triggers.find((x) => x.num);
    return finish({ op: "scale", factor: round(t?.num?.value ?? 1, 4) });
  }
  return { error: "say what size: 800px, 800x600, width 800, 50% or half" };
};

// ---------------------------------------------------------------- crop

const ATTENTION = [
  "face",
  "smart",
  "smartly",
  "focus",
  "attention",
  "interesting",
  "important",
  "salient",
  "eyes",
  "subject",
];
const ENTROPY = ["entropy", "busy", "busiest", "detail", "detailed", "detailed part"];

/** Orientation words: portrait (true, taller than wide) or landscape (false). */
const ORIENTATION: Record<string, boolean> = {
  portrait: true,
  vertical: true,
  tall: true,
  landscape: false,
  horizontal: false,
};

const parseCrop: Parser = (c, ctx) => {
  const cut = parseInset(c, [undefined, "px", "%"]);
  if (cut) return cut;
  // "make it a 500px square" without "crop": a square of that size, the whole image scaled into it
  const cropWord = ctx.triggers.some((t) => t.key === "crop" || t.key === "cut");
  if (!cropWord && c.has("square", "squared")) {
    const dims = c.items.find((it) => it.key === "#dims" && it.dims && it.dims.w === it.dims.h);
    const n = c.items.find(
      (it) => it.num && (it.num.unit === "px" || (it.num.unit === undefined && it.num.value > 32)),
    );
    const side = dims?.dims?.w ?? n?.num?.value;
    if (side !== undefined) {
      c.mark(dims ?? n);
      c.takeAll("square", "squared", "px");
      return { ops: [{ op: "resize", width: side, height: side, fit: "cover" }] };
    }
  }
  let gravity: string | undefined;
  if (c.takeKey(...ATTENTION)) gravity = "attention";
  else if (c.takeKey(...ENTROPY)) gravity = "entropy";
  c.takeAll(
    "around",
    "on",
    "centered",
    "centred",
    "keep",
    "keeping",
    "focusing",
    "out",
    "focused",
    "focus",
    "centering",
    "centring",
  );
  const pos = position(c);
  gravity ??= pos;
  const pair = c.takeKey("#pair");
  const base = (extra: Record<string, unknown>): ClauseResult => {
    c.takeAll("ratio", "aspect", "size", "region", "area", "offset", "from", "starting", "box", "px");
    return { ops: [{ op: "crop", ...extra, ...(gravity ? { gravity } : {}) } as OperationInput] };
  };
  // "crop to 16:9 portrait": the orientation word says which way the ratio stands, as people mean
  // it (9:16); a ratio that already agrees is kept, a square one is neither
  const orientation = () => c.take((it) => it.key in ORIENTATION && !(it.key === "tall" && c.before(it)?.num));
  const ratioAs = (w: number, h: number): ClauseResult => {
    const o = orientation();
    if (o && w === h) return { error: `a ${w}:${h} crop is square, not ${o.text}: say one of them` };
    const [a, b] = o && ORIENTATION[o.key] === w > h ? [h, w] : [w, h];
    return base({ aspectRatio: `${a}:${b}` });
  };
  const ratio = c.takeKey("#ratio");
  if (ratio?.dims) return ratioAs(ratio.dims.w ?? 0, ratio.dims.h);
  // "crop to 2/3": a portrait ratio written as a fraction
  const slash = c.take((it) => it.num?.unit === "frac" && /^\d+\/\d+$/u.test(it.text));
  if (slash) {
    const [w, h] = slash.text.split("/").map(Number);
    return ratioAs(w, h);
  }
  const dims = c.takeKey("#dims");
  if (dims?.dims) {
    const { w, h, unit } = dims.dims;
    if (w === undefined) return { error: CROP_NEEDS_BOTH }; // "crop to x600"
    if (cropWord && c.has("square", "squared", "1:1") && w !== h)
      return { error: `conflicting crops: square and ${dims.text}; say one of them` };
    // "crop to 4x3" / "16 by 9": small numbers without px read as a ratio
    if (!unit && w <= 32 && h <= 32 && !pair) return ratioAs(w, h);
    // "crop 800x600 portrait": a size in pixels stands as it is written; a word against it is refused
    const o = orientation();
    if (o && (w === h || ORIENTATION[o.key] === w > h))
      return { error: `"${o.text}" contradicts ${dims.text}: say one of them` };
    if (pair?.pair) return base({ width: w, height: h, left: pair.pair.a, top: pair.pair.b });
    const left = numNear(c, ["left", "x"]);
    const top = numNear(c, ["top", "y"]);
    if (left || top) return base({ width: w, height: h, left: left?.num?.value ?? 0, top: top?.num?.value ?? 0 });
    return base({ width: w, height: h });
  }
  if (c.takeKey("square", "squared", "1:1")) return base({ aspectRatio: "1:1" });
  if (c.takeKey("portrait", "vertical", "tall")) return base({ aspectRatio: "2:3" });
  if (c.takeKey("landscape", "horizontal")) return base({ aspectRatio: "3:2" });
  if (c.takeKey("widescreen")) return base({ aspectRatio: "16:9" });
  // "crop to the face": a square around it
  if (gravity === "attention" || gravity === "entropy") return base({ aspectRatio: "1:1" });
  const w = numNear(c, ["width", "wide"]);
  const h = numNear(c, ["height", "tall", "high"]);
  if (w?.num && h?.num) return base({ width: w.num.value, height: h.num.value });
  if (w || h) return { error: CROP_NEEDS_BOTH };
  return {
    error:
      "say what to crop to: a size (800x600), a ratio (16:9), square, portrait or landscape, or what to cut off (10px off each side)",
  };
};

// ---------------------------------------------------------------- trim, pad, border

const parseTrim: Parser = (c) => {
  // "trim 20px from the edges" cuts a margin off; a bare number is trim's tolerance
  const cut = parseInset(c, ["px", "%"]);
  if (cut) return cut;
  c.takeAll(
    "whitespace",
    "edges",
    "edge",
    "border",
    "borders",
    "margins",
    "margin",
    "space",
    "empty",
    "blank",
    "extra",
    "excess",
    "sides:all",
    "remove-verb",
    "remove",
    "around",
  );
  color(c);
  const n = num(c, (x) => x.unit === undefined && x.value <= 255);
  c.takeAll("tolerance", "threshold", "fuzz");
  return { ops: [{ op: "trim", ...(n?.num ? { threshold: n.num.value } : {}) } as OperationInput] };
};

const SIDES: Record<string, string[]> = {
  top: ["top"],
  upper: ["top"],
  above: ["top"],
  bottom: ["bottom"],
  below: ["bottom"],
  lower: ["bottom"],
  left: ["left"],
  right: ["right"],
  "sides:tb": ["top", "bottom"],
  "sides:lr": ["left", "right"],
  sides: ["left", "right"],
  "sides:all": ["top", "right", "bottom", "left"],
  "top-left": ["top", "left"],
  "top-right": ["top", "right"],
  "bottom-left": ["bottom", "left"],
  "bottom-right": ["bottom", "right"],
};

/** Words for every edge at once: "10px off the edges", "5% from all sides". */
const ALL_EDGES = ["edges", "edge", "border", "borders", "margins", "around"];

/**
 * "10px off each side", "5% from the top and bottom", "200 pixels from the left": a margin cut off
 * the edges (a crop inset). The number comes first, then "off"/"from", then the edges; `units`
 * says which numbers count (trim's bare number is its tolerance).
 */
function insetAt(items: Item[], units: (string | undefined)[]): { n: Item; sides: Item[]; off: Item } | undefined {
  const k = items.findIndex((it) => it.num !== undefined && units.includes(it.num.unit) && it.num.value >= 0);
  if (k < 0) return undefined;
  let j = k + 1;
  while (items[j] && ["the", "a", "an", "just"].includes(items[j].key)) j++;
  const off = items[j];
  if (!off || (off.key !== "off" && off.key !== "from")) return undefined;
  const sides: Item[] = [];
  for (let s = j + 1; s < items.length; s++) {
    const it = items[s];
    if (it.key in SIDES || ALL_EDGES.includes(it.key)) sides.push(it);
    else if (
      !["the", "of", "and", "each", "every", "all", "both", "four", "image", "picture", "photo"].includes(it.key)
    )
      break;
  }
  return sides.length ? { n: items[k], sides, off } : undefined;
}
/** Whether a clause with no operation word is "remove 5% from the top and bottom". */
export function isInsetClause(items: Item[]): boolean {
  return (
    items.some((it) => it.key === "remove" || it.key === "remove-verb") &&
    insetAt(items, [undefined, "px", "%"]) !== undefined
  );
}
function parseInset(c: Clause, units: (string | undefined)[]): ClauseResult | undefined {
  const found = insetAt(c.items, units);
  if (!found) return undefined;
  const { n, sides, off } = found;
  for (const it of [n, off, ...sides]) c.mark(it);
  const edges = new Set<string>();
  for (const it of sides) for (const s of SIDES[it.key] ?? ["top", "right", "bottom", "left"]) edges.add(s);
  c.takeAll("each", "every", "all", "both", "four", "of", "remove", "remove-verb", "px", "image", "picture", "photo");
  const value = n.num?.value ?? 0;
  const inset: Record<string, unknown> = {};
  for (const s of ["top", "right", "bottom", "left"]) if (edges.has(s)) inset[s] = value;
  if (n.num?.unit === "%") inset.unit = "%";
  return { ops: [{ op: "crop", inset } as OperationInput] };
}

const parsePad: Parser = (c) => {
  const a = amount(c);
  const n = num(c, (x) => x.unit === undefined || x.unit === "px");
  const width = n?.num ? Math.round(n.num.value) : pick(a, 10, 20, 50);
  const sides = new Set<string>();
  for (let it = c.take((i) => (i.key in SIDES)); it; it = c.take((i) => i.key in SIDES))
    for (const s of SIDES[it.key]) sides.add(s);
  const col = color(c);
  c.takeAll(
    "space",
    "whitespace",
    "padding",
    "margin",
    "margins",
    "canvas",
    "around",
    "each",
    "every",
    "edge",
    "edges",
    "px",
    "background",
    "of",
    "both",
  );
  const all = sides.size === 0;
  const op: Record<string, unknown> = { op: "pad" };
  for (const s of ["top", "right", "bottom", "left"]) if (all || sides.has(s)) op[s] = width;
  if (col) op.color = col;
  return { ops: [op as OperationInput] };
};

export const BORDER_WIDTHS = { thin: 2, normal: 10, thick: 30 };
/** Words that make "border" mean taking one off (not "off" in "an off-white border"). */
const REMOVE_BORDER = ["remove-verb", "remove", "delete", "strip", "crop", "cut", "off"];
const parseBorder: Parser = (c, ctx) => {
  // "no border", "without a border": add none, or cut one off? Only a removing verb trims
  const none = c.take((it) => it.key === "no" || it.key === "without");
  if (none && !c.has(...REMOVE_BORDER))
    return {
      error: `"${none.text} ${ctx.triggers[0]?.text ?? "border"}" adds nothing (no border is added unless asked): say remove the border to trim one off`,
    };
  // "remove the border" means trim it off
  const offColour = (i: number) => c.items[i + 1] !== undefined && isColorItem(c.items[i + 1]); // "off red"
  if (c.take((it, i) => REMOVE_BORDER.includes(it.key) && !(it.key === "off" && offColour(i)))) {
    c.takeAll("crop", "cut", "off");
    return parseTrim(c, { op: "trim", triggers: [] });
  }
  const a = amount(c);
  const n = num(c, (x) => x.unit === undefined || x.unit === "px");
  let width = n?.num ? Math.round(n.num.value) : pick(a, 5, BORDER_WIDTHS.normal, BORDER_WIDTHS.thick);
  if (!n && c.takeKey("thin", "narrow", "fine", "hairline", "small")) width = BORDER_WIDTHS.thin;
  if (!n && c.takeKey("thick", "wide", "heavy", "fat", "big", "large", "bold")) width = BORDER_WIDTHS.thick;
  const col = color(c);
  c.takeAll("around", "wide", "px", "line", "solid", "each", "side", "sides", "sides:all", "edge", "edges");
  return { ops: [{ op: "border", width, ...(col ? { color: col } : {}) } as OperationInput] };
};

// ---------------------------------------------------------------- rotate, flip, orient

const CCW = ["counterclockwise", "left", "anticlockwise"];
const CW = ["clockwise", "right"];

const parseRotate: Parser = (c, ctx) => {
  let angle: number | undefined;
  const n = num(c, (x) => x.unit === undefined || x.unit === "deg");
  if (n?.num) angle = n.num.value;
  else if (c.takeKey("quarterturn")) angle = 90;
  else if (c.takeKey("halfturn", "upside-down", "around")) angle = 180;
  // "rotate 90 degrees twice"
  const times = c.take((it) => it.num?.unit === "x");
  if (times?.num) {
    if (angle === undefined || !Number.isInteger(times.num.value))
      return { error: `say an angle in degrees (rotate 90), not ${times.text}` };
    angle *= times.num.value;
  }
  const dir = c.takeKey(...CCW, ...CW);
  // "rotate left 90 clockwise", "rotate right -90": two directions; which one was meant is a guess
  const again = c.takeKey(...CCW, ...CW);
  if (dir && again && CCW.includes(dir.key) !== CCW.includes(again.key))
    return { error: `"${dir.text}" and "${again.text}" turn opposite ways: say one direction` };
  if (dir && CW.includes(dir.key) && angle !== undefined && angle < 0)
    return { error: `${n?.text ?? angle} turns counter-clockwise, "${dir.text}" clockwise: say one direction` };
  if (dir && CCW.includes(dir.key) && angle !== undefined) angle = -Math.abs(angle);
  c.takeAll("turn", "rotation", "deg", "way", "by", "horizontal", "onto", "side");
  // "rotate 45 on black", "rotate 45, black": the only colour a rotation takes is its background
  const bg = color(c);
  c.takeAll("background", "fill", "corners", "bg", "filled");
  const a = amount(c);
  if (angle === undefined) {
    // "rotate a little" is a small tilt, as "tilt a little" is, never a quarter turn; "rotate a
    // lot" names no angle
    const needsAngle = ctx.triggers.some((t) => ["tilt", "straighten", "tilted"].includes(t.key)) || a === "little";
    if (needsAngle && !dir && a === undefined) return { error: "say how many degrees, e.g. tilt 5 degrees" };
    if (!needsAngle && a === "lot") return { error: "say how many degrees, e.g. rotate 90 or rotate 180" };
    angle = needsAngle ? pick(a, 2, 5, 15) : 90;
    if (dir && CCW.includes(dir.key)) angle = -angle;
  }
  return { ops: [{ op: "rotate", angle, ...(bg ? { background: bg } : {}) } as OperationInput] };
};

const parseFlip: Parser = (c, ctx) => {
  // "along the vertical axis" mirrors left-right: the axis is the line it flips over
  const axis = c.has("axis");
  let h = c.takeKey("horizontal");
  let v = c.takeKey("vertical", "upside-down");
  if (axis && (h?.key === "horizontal") !== (v?.key === "vertical")) [h, v] = [v, h];
  // "flip it both ways": horizontally and vertically
  const both = !h && !v && c.has("both");
  c.takeAll("along", "across");
  c.takeAll(
    "down",
    "dir:less",
    "axis",
    "it",
    "around",
    "mirror",
    "image",
    "sideways",
    "left",
    "right",
    "over",
    "both",
    "ways",
  );
  // "flip horizontally and vertically": both
  if ((h && v) || both)
    return {
      ops: [
        { op: "flip", direction: "horizontal" },
        { op: "flip", direction: "vertical" },
      ],
    };
  let direction: "horizontal" | "vertical" = "horizontal";
  if (v || c.takeKey("top", "bottom")) direction = "vertical";
  if (!h && !v && ctx.triggers.some((t) => t.key === "upside")) direction = "vertical";
  return { ops: [{ op: "flip", direction }] };
};

// ---------------------------------------------------------------- colour and tone

/** Words that turn an adjustment down: "darker", "less contrast", "muted". */
const DOWN_WORDS: Partial<Record<OperationName, string[]>> = {
  brightness: ["darken", "darker", "dim", "dimmer", "dark", "dimmed", "underexpose", "darkened"],
  contrast: ["flat", "flatter", "softer", "washed"],
  saturation: ["muted", "desaturated", "dull", "duller", "faded", "mute", "pale", "paler", "washed"],
};
/** [little, normal, lot] factors for up and down. */
export const ADJUST: Record<string, { up: number[]; down: number[] }> = {
  brightness: { up: [1.1, 1.2, 1.5], down: [0.9, 0.8, 0.6] },
  contrast: { up: [1.1, 1.2, 1.5], down: [0.9, 0.8, 0.6] },
  saturation: { up: [1.15, 1.3, 1.6], down: [0.85, 0.7, 0.4] },
};

/** Trigger nouns that name the setting without saying which way ("brightness 80%" sets it). */
const NEUTRAL_ADJUST = ["brightness", "contrast", "saturation", "exposure"];

const parseAdjust: Parser = (c, ctx) => {
  const downWords = DOWN_WORDS[ctx.op] ?? [];
  const downWord = ctx.triggers.find((t) => downWords.includes(t.key)) ?? c.takeKey(...downWords);
  let down = downWord !== undefined;
  const less = c.takeKey("dir:less", "low");
  const more = c.takeKey("dir:more", "high");
  if (less && downWord && /^(?:less|fewer)$/iu.test(less.text)) {
    // "less dark", "a little less muted": less of a word that means down is up; "darker by less"
    // says no amount at all
    if (c.indexOf(less) > c.indexOf(downWord))
      return {
        error: `"${less.text}" after "${downWord.text}" is not clear: say how much, e.g. "${downWord.text} a little" or "${downWord.text} by 10%"`,
      };
    down = false;
  } else if (less) down = true; // "less contrast", "reduce the brightness", "dim it down"
  c.takeAll(
    "bright",
    "brightness",
    "exposure",
    "colour",
    "color",
    "colours",
    "colors",
    "saturated",
    "saturation",
    "contrast",
    "light",
    "tone",
    "tones",
    "levels",
    "pop",
    "punch",
    "by",
  );
  const a = amount(c);
  const n = num(c, (x) => x.unit === undefined || x.unit === "%" || x.unit === "frac" || x.unit === "x");
  const minus = c.takeKey("minus") !== undefined;
  const stops = c.takeKey("ev", "stop", "stops") !== undefined;
  let factor: number;
  if (n?.num && isExposureStops(ctx, n, stops)) {
    // "exposure +1" is one photographic stop: twice the light, about 2^(1/2.2) on gamma-encoded
    // pixel values (what brightness multiplies), never the +1% a slider value would be
    const ev = (down || minus) && n.num.value > 0 ? -n.num.value : n.num.value;
    factor = 2 ** (ev / 2.2);
  } else if (n?.num) {
    // (a dash standing for minus, "– 20", counts as one: tokenize.ts reads it so)
    const r = adjustFactor(c, ctx, n, { down: down || minus || /^[-−–—]/u.test(n.text), less, more });
    if (typeof r === "string") return { error: r };
    factor = r;
  } else {
    const table = ADJUST[ctx.op] ?? ADJUST.brightness;
    const [little, normal, lot] = down ? table.down : table.up;
    factor = pick(a, little, normal, lot);
  }
  return { ops: [{ op: ctx.op, factor: round(factor) } as OperationInput] };
};

/** "exposure +1", "-0.5 ev", "brighten by 1 stop": a number of stops (as a camera or editor counts them). */
function isExposureStops(ctx: ParseContext, n: Item, stops: boolean): boolean {
  const { value, unit } = n.num as NonNullable<Item["num"]>;
  const exposure = stops || ctx.triggers.some((t) => t.key === "exposure");
  return ctx.op === "brightness" && exposure && unit === undefined && Math.abs(value) <= 5;
}

/**
 * The factor of "brightness <number>". An integer is a percent change in the stated direction
 * ("darken by 10", "contrast -5", "+20", "10 darker"; a bare "contrast 20" reads as +20%); a
 * multiplier needs "x"/"times" or a decimal ("brightness 1.2", "contrast 2x"); "80%" alone sets
 * the level. Direction words (darken, reduce, less, minus, "-") always give a factor below 1.
 * Returns a message when the number contradicts the direction or cannot be read safely.
 */
function adjustFactor(
  c: Clause,
  ctx: ParseContext,
  n: Item,
  dir: { down: boolean; less?: Item; more?: Item },
): number | string {
  const { value, unit } = n.num as NonNullable<Item["num"]>;
  const { down } = dir;
  const v = Math.abs(value);
  const signed = /^[+\-−–—]/u.test(n.text);
  const neutral = ctx.triggers.every((t) => NEUTRAL_ADJUST.includes(t.key)) && !dir.more && !dir.less && !down;
  const prev = c.before(n)?.key;
  const by = prev === "by";
  const to = prev === "to";
  const name = ctx.op;
  const contradicts = (f: number) =>
    (down && f > 1) || (!down && !neutral && f < 1)
      ? `${n.text} contradicts the direction asked (${down ? "lower" : "higher"}): say e.g. ${down ? "darken by 10% or 0.9" : "+10% or 1.1"}`
      : undefined;
  const percent = (p: number): number | string => {
    const f = down ? 1 - p / 100 : 1 + p / 100;
    if (f <= 0) return `${name} cannot go down by ${p}% or more (that leaves nothing): say e.g. -50%`;
    return f;
  };
  if (unit === "x") {
    // "contrast 2x", "3 times brighter"; "darken 2x" halves
    if (v === 0) return `${name} ${n.text} would remove the image: say a factor above 0`;
    if (down && v > 1) return 1 / v;
    return contradicts(v) ?? v;
  }
  if (unit === "frac") {
    // "half as bright" sets it; "darken by a third", "brighten by half" change it
    if (c.after(n)?.key === "as" || (neutral && !by)) {
      c.takeAll("as");
      return down && v < 1 ? 1 - v : v;
    }
    return down ? 1 - v : 1 + v;
  }
  if (unit === "%") {
    // "+20%", "by 20%", "increase 20%" change it; "brightness 80%", "to 150%" set it
    if (signed || by || (!neutral && !to)) return percent(v);
    return v / 100;
  }
  if (!Number.isInteger(value)) {
    // a decimal is a multiplier ("brightness 1.2"), except "+0.2" / "by 0.2" which change it
    if ((signed || by) && v < 1) return down ? 1 - v : 1 + v;
    return contradicts(v) ?? v;
  }
  if (to) {
    if (v > 10) return contradicts(v / 100) ?? v / 100;
    return `${name} to ${n.text} is ambiguous: say ${v}x for a multiplier or ${v * 100}% for a level`;
  }
  if (neutral && !signed && !by) {
    // "saturation 0" removes it; "contrast 20" is a slider value read as +20%; "contrast 2" could
    // be 2x or +2%: refused rather than guessed
    if (v === 0) return 0;
    if (v <= 10) return `${name} ${n.text} is ambiguous: say ${v}x for a multiplier or +${v}% for a change`;
  }
  return percent(v);
}

const parseTint: Parser = (c) => {
  const col = color(c);
  if (col && (parseColor(col)?.alpha ?? 1) === 0) return { error: "a tint needs a visible colour" };
  c.takeAll("tone", "toned", "cast", "hue", "wash", "tinted", "overlay", "filter", "shade");
  amount(c);
  if (!col) return { error: "say which colour to tint with, e.g. tint blue or tint #ff8800" };
  return { ops: [{ op: "tint", color: col }] };
};

/** Words that make it cooler; every other temperature word warms. */
const COOL_WORDS = ["cool", "cooler", "cooled"];
/** [little, normal, lot] temperature amounts. */
const TEMPERATURE_STEPS = [15, 30, 60];

const parseTemperature: Parser = (c, ctx) => {
  let cool = ctx.triggers.some((t) => COOL_WORDS.includes(t.key)) || c.takeKey(...COOL_WORDS) !== undefined;
  // "less warmth" cools, "less cool" warms; "cool it down" and "turn the warmth down" both cool
  const less = c.takeKey("dir:less", "low");
  if (less) cool = less.text.toLowerCase() === "down" ? true : !cool;
  c.takeKey("dir:more", "high");
  c.takeAll("temperature", "warmth", "tone", "tones", "colour", "color", "colours", "colors", "look", "by");
  const a = amount(c);
  const n = num(c, (x) => x.unit === undefined || x.unit === "%");
  let value: number;
  if (n?.num) {
    const signed = /^[+\-−–—]/u.test(n.text);
    const neutral = ctx.triggers.every((t) => t.key === "temperature");
    // "temperature -40" sets it; "cooler by 20" is 20 towards cool
    value = signed || neutral ? n.num.value : cool ? -Math.abs(n.num.value) : Math.abs(n.num.value);
    if (!neutral && signed && n.num.value < 0 !== cool)
      return { error: `${n.text} contradicts the direction asked: say e.g. ${cool ? "cooler by 20" : "warmer by 20"}` };
  } else {
    const [little, normal, lot] = TEMPERATURE_STEPS;
    value = pick(a, little, normal, lot) * (cool ? -1 : 1);
  }
  return { ops: [{ op: "temperature", amount: value }] };
};

const parseHue: Parser = (c) => {
  c.takeAll(
    "rotate",
    "turn",
    "spin",
    "shift",
    "shifted",
    "colours",
    "colors",
    "colour",
    "color",
    "by",
    "wheel",
    "around",
  );
  const n = num(c, (x) => x.unit === undefined || x.unit === "deg");
  const a = amount(c);
  let degrees = n?.num ? n.num.value : pick(a, 30, 90, 180);
  if (c.takeKey(...CCW)) degrees = -Math.abs(degrees);
  c.takeKey(...CW);
  return { ops: [{ op: "hue", degrees }] };
};

const parseGamma: Parser = (c) => {
  c.takeAll("correct", "correction", "corrected", "curve", "adjust");
  const n = num(c, (x) => x.unit === undefined);
  return { ops: [{ op: "gamma", value: n?.num ? n.num.value : 2.2 }] };
};

const parseThreshold: Parser = (c) => {
  const n = num(c, (x) => x.unit === undefined || x.unit === "%");
  c.takeAll("cutoff", "level", "value");
  if (!n?.num) return { ops: [{ op: "threshold" }] };
  const value = n.num.unit === "%" ? Math.round((n.num.value * 255) / 100) : Math.round(n.num.value);
  return { ops: [{ op: "threshold", value }] };
};

// ---------------------------------------------------------------- filters

function strength(names: string[], little: number, normal: number, lot: number, unitOk: (u?: string) => boolean) {
  return (c: Clause, op: OperationName, key: string, extra: string[] = []): ClauseResult => {
    c.takeAll(...names, ...extra);
    const n = num(c, (x) => unitOk(x.unit));
    const a = amount(c);
    c.takeAll("dir:more", "by", "px");
    const value = n?.num ? n.num.value : pick(a, little, normal, lot);
    return { ops: [{ op, [key]: value } as OperationInput] };
  };
}

export const BLUR_SIGMA = { little: 1.5, normal: 3, lot: 8 };
const blurStrength = strength(
  ["radius", "sigma", "strength", "gaussian", "blurred", "out", "focus"],
  BLUR_SIGMA.little,
  BLUR_SIGMA.normal,
  BLUR_SIGMA.lot,
  (u) => u === undefined || u === "px",
);
// "blur the background" is not read as a blur of the whole image: there is no subject mask, and
// "background" is left over, refused with its note (suggest.ts).
const parseBlur: Parser = (c) => blurStrength(c, "blur", "sigma");
const sharpenStrength = strength(
  ["radius", "sigma", "strength", "details", "edges"],
  0.5,
  1,
  2,
  (u) => u === undefined,
);
const parseSharpen: Parser = (c) => sharpenStrength(c, "sharpen", "sigma");
const parseMedian: Parser = (c, ctx) => {
  // "noise"/"grain" name the problem: only with remove/reduce/denoise is it a median filter
  const named = ctx.triggers.every((t) => t.key === "noise" && !/reduc/iu.test(t.text));
  if (named && !c.has("remove", "remove-verb", "reduce", "dir:less", "clean", "cleanup", "without", "no", "filter"))
    return {
      error: c.has("add", "dir:more")
        ? "adding noise or grain is not supported (only removing it: say remove noise)"
        : "say remove noise or denoise to reduce noise",
    };
  c.takeAll("remove", "remove-verb", "reduce", "dir:less", "noisy", "filter", "window", "size", "clean", "cleanup");
  const n = num(c, (x) => x.unit === undefined || x.unit === "px");
  const a = amount(c);
  const size = n?.num ? n.num.value : pick(a, 3, 3, 5);
  return { ops: [{ op: "median", size }] };
};

// ---------------------------------------------------------------- overlays

export const TEXT_SIZES: Record<string, number> = {
  tiny: 16,
  small: 24,
  medium: 48,
  large: 96,
  big: 96,
  huge: 160,
  giant: 160,
};
const OPACITY_KEYS = ["opacity", "opaque", "transparent", "transparency", "alpha", "visible"];

function opacity(c: Clause): number | undefined {
  if (c.takeKey("semitransparent")) return 0.5;
  if (c.takeKey("faint", "faded", "ghost", "ghosted")) return 0.3;
  if (c.takeKey("solid", "opaque", "fully")) return 1;
  const n = numNear(c, OPACITY_KEYS);
  if (!n?.num) return undefined;
  const kw = c.items.find((it) => OPACITY_KEYS.includes(it.key));
  c.takeAll(...OPACITY_KEYS);
  const v = n.num.unit === "%" || n.num.value > 1 ? n.num.value / 100 : n.num.value;
  // "20% transparent" is 80% opacity
  return round(kw && (kw.key === "transparent" || kw.key === "transparency") ? 1 - v : v);
}

const parseText: Parser = (c, ctx) => {
  const q = c.takeKey("#quote");
  const op: Record<string, unknown> = { op: "text" };
  const pos = position(c);
  const op2 = opacity(c);
  // "20px from the bottom" is a distance from the edge (which text does not take), not a font size
  const offset = c.take((it) => it.num?.unit === "px" && c.after(it)?.key === "from");
  const sizeN = numNear(c, ["size", "font", "pt", "point", "points", "high", "tall"]) ?? num(c, (x) => x.unit === "px");
  const sizeWord = c.takeKey(...Object.keys(TEXT_SIZES));
  const col = color(c);
  c.takeAll(
    "watermark",
    "across",
    "over",
    "notice",
    "symbol",
    "sign",
    "message",
    "line",
    "text",
    "caption",
    "label",
    "saying",
    "says",
    "say",
    "reads",
    "reading",
    "words",
    "word",
    "font",
    "size",
    "writing",
    "written",
    "letters",
    "lettering",
    "in",
    "corner",
    "px",
  );
  if (!q?.quote?.trim()) return { error: "put the text in quotes, e.g. add text 'Hello' in the top left" };
  if (offset)
    return {
      error: `a distance from the edge ("${offset.text} from") is not supported: text sits at a small margin, say only where (bottom, top left)`,
    };
  let text = q.quote;
  if (ctx.triggers.some((t) => t.key === "copyright") && !/©|\(c\)|copyright/iu.test(text)) text = `© ${text}`;
  op.text = text;
  if (pos) op.position = pos;
  if (sizeN?.num) op.size = Math.round(sizeN.num.value);
  else if (sizeWord) op.size = TEXT_SIZES[sizeWord.key];
  if (col) op.color = col;
  if (op2 !== undefined) op.opacity = op2;
  return { ops: [op as OperationInput] };
};

const parseWatermark: Parser = (c) => {
  const url = c.takeKey("#url");
  const pos = position(c);
  const op2 = opacity(c);
  const scaleN = numNear(c, ["size", "scale", "width", "wide", "big"]) ?? num(c, (x) => x.unit === "%");
  c.takeAll("size", "scale", "width", "wide", "image", "using", "from", "corner", "the", "big");
  // "watermark it with 'Confidential'": a text watermark
  if (!url?.url && c.has("#quote")) return parseText(c, { op: "text", triggers: [] });
  if (!url?.url) return { error: "a watermark needs an image URL, e.g. watermark with https://example.com/logo.png" };
  const op: Record<string, unknown> = { op: "watermark", url: url.url };
  if (pos) op.position = pos;
  if (op2 !== undefined) op.opacity = op2;
  if (scaleN?.num)
    op.scale = round(scaleN.num.unit === "%" || scaleN.num.value > 1 ? scaleN.num.value / 100 : scaleN.num.value);
  return { ops: [op as OperationInput] };
};

// ---------------------------------------------------------------- output

const FORMAT_KEYS: Record<string, string> = {
  jpeg: "jpeg",
  jpg: "jpeg",
  png: "png",
  webp: "webp",
  avif: "avif",
  gif: "gif",
  tiff: "tiff",
  tif: "tiff",
};
export const COMPRESS_QUALITY = { little: 85, normal: 75, lot: 50 };
export const QUALITY_WORDS: Record<string, number> = {
  high: 90,
  best: 100,
  maximum: 100,
  top: 95,
  good: 85,
  medium: 75,
  low: 60,
  lowest: 30,
  poor: 40,
};
/** "high quality", "maximum quality", "max quality" ("max" alone is a cap on the size). */
function qualityWordIn(c: Clause, afterIt?: string): Item | undefined {
  return c.take((it, i) => {
    const max = it.key === "atmost" && /^max(?:imum)?$/iu.test(it.text) && c.items[i + 1]?.key === "quality";
    return (it.key in QUALITY_WORDS || max) && (afterIt === undefined || c.items[i + 1]?.key === afterIt);
  });
}
function qualityOf(it: Item): number {
  return QUALITY_WORDS[it.key] ?? QUALITY_WORDS.maximum;
}
/**
 * "save as png lossless": PNG (and TIFF without a quality) is written losslessly anyway, so the
 * word asks for nothing more; the catalog refuses `lossless` for those formats, as it does nothing.
 */
export function alwaysLossless(op: Record<string, unknown>): boolean {
  return op.format === "png" || (op.format === "tiff" && op.quality === undefined);
}

/** Marks a format step whose format was not named ("quality 80", "compress"): merged or defaulted later. */
export const IMPLICIT_FORMAT = Symbol("implicitFormat");
/** Marks a quality that only "compress" asked for (no number, no quality word). */
export const COMPRESS_QUALITY_ONLY = Symbol("compressQualityOnly");
/** Why "compress" cannot apply to a format without a quality ("compress png"). */
export const nothingToCompress = (format: unknown) =>
  `a ${format} has no quality to lower (${format === "png" ? "it is always lossless" : "it has at most 256 colours"}): say compress to webp (or jpg) for a smaller file`;

/** Formats an image may come in that it cannot be saved as: named only as the source ("heic to jpg"). */
const SOURCE_FORMATS = ["heic", "heif", "bmp", "svg", "pdf", "raw", "dng", "jfif", "ico", "psd", "cr2", "nef", "arw"];
/** Words between a format's name and "to" / "from" that do not change which side it is on. */
const FORMAT_FILLERS = new Set(["a", "an", "the", "this", "that", "my", "image", "images", "file", "files", "format"]);
const isArrow = (it: Item | undefined) => it?.key === "#punct" && /^(?:->|=>|→)$/u.test(it.text);

/**
 * The format a clause asks to write. "png to jpg", "convert from png to webp", "heic → jpeg": the
 * format after "to"/"into"/an arrow is the output, the one before it (or after "from") the input.
 * Two output formats left in one clause are refused, never one of them silently kept.
 */
function targetFormat(c: Clause): Item | string | undefined {
  const formats = c.items.filter((it) => it.key in FORMAT_KEYS);
  const sourceOnly = c.items.filter((it) => SOURCE_FORMATS.includes(it.key));
  const step = (it: Item, d: -1 | 1) => {
    let j = c.indexOf(it) + d;
    while (FORMAT_FILLERS.has(c.items[j]?.key ?? "")) j += d;
    return c.items[j];
  };
  if (formats.length === 1 && sourceOnly.length === 0) {
    // "convert from png": the format it has, not one to write
    if (step(formats[0], -1)?.key === "from")
      return `say which format to convert to (from ${formats[0].text} to jpeg, png, webp, avif, gif or tiff)`;
    return c.take((it) => it.key in FORMAT_KEYS);
  }
  if (formats.length === 0 && sourceOnly.length === 0) return undefined;
  const isSource = (it: Item) => {
    const next = step(it, 1);
    return step(it, -1)?.key === "from" || next?.key === "to" || next?.key === "into" || isArrow(next);
  };
  const targets = formats.filter((it) => !isSource(it));
  // only a source next to an output: "convert heic" alone names no format to write
  if (targets.length === 0 && formats.length === 0) return undefined;
  for (const it of [...formats, ...sourceOnly]) {
    if (!isSource(it) || targets.length === 0) continue;
    c.mark(it);
    c.takeAll("from", "to", "into");
    for (const a of c.items) if (isArrow(a)) c.mark(a);
  }
  const names = [...new Set(targets.map((it) => FORMAT_KEYS[it.key]))];
  if (names.length > 1)
    return `two output formats (${names.join(" and ")}): one image is saved in one format, say one of them`;
  const f = targets[0];
  for (const t of targets) c.mark(t);
  return f;
}

const parseFormat: Parser = (c, ctx) => {
  const target = targetFormat(c);
  if (typeof target === "string") return { error: target };
  const f = target;
  const compress =
    ctx.triggers.some((t) => ["compress", "optimize", "optimise", "smaller", "filesize"].includes(t.key)) ||
    c.takeKey("compress", "compressed", "optimize", "optimise", "filesize") !== undefined;
  // "reduce the quality", "less compression", "compress less": a change, not a quality (read below)
  const change = c.items.find((it) => it.key === "dir:less" || it.key === "dir:more");
  const fileSize = c.has("filesize") || ctx.triggers.some((t) => t.key === "filesize");
  const qualityNamed = c.has("quality", "q", "compression");
  c.takeAll(
    "filesize",
    "file",
    "format",
    "quality",
    "q",
    "convert",
    "converted",
    "save",
    "saved",
    "export",
    "exported",
    "output",
    "encode",
    "encoded",
    "file",
    "type",
    "dir:less",
    "dir:more",
    "smaller",
    "image",
  );
  // "16-bit tiff", "8 bit png": a bit depth, never a quality
  const depth = c.items.find((it, i) => {
    if (!it.num) return false;
    const next = c.items[i + 1]?.key === "#punct" ? c.items[i + 2] : c.items[i + 1];
    return next?.key === "bit" || next?.key === "bits" || next?.key === "bpp";
  });
  if (depth) {
    c.mark(depth);
    c.takeAll("bits", "bpp");
    return { error: `a bit depth ("${depth.text}-bit") cannot be chosen: images are written with 8 bits per channel` };
  }
  const qN = numNear(c, ["quality", "q"]) ?? num(c, (x) => x.unit === "%" || (x.unit === undefined && x.value <= 100));
  const qWord = qualityWordIn(c);
  c.takeAll("quality", "q", "compression");
  // "increase the quality by 10%", "compress by 20%", "reduce the file size by half", "jpeg lower
  // quality": no quality is honestly that much better or smaller than the image's own (which the
  // plan does not know), and "reduce the file size" aims at a size no setting promises. Set
  // values are fine: "lower the quality to 50". Only "reduce the file size" alone is compress.
  const amountBy = qN ?? c.take((it) => it.num !== undefined && c.before(it)?.key === "by");
  const setTo = amountBy !== undefined && ["to", "at", "of"].includes(c.before(amountBy)?.key ?? "");
  const relative = amountBy !== undefined && (c.before(amountBy)?.key === "by" || (change !== undefined && !setTo));
  const plainSmaller = change?.key === "dir:less" && fileSize && !qualityNamed && amountBy === undefined;
  if (relative || (change && !setTo && !plainSmaller)) {
    if (compress && !fileSize && !qualityNamed && !amountBy)
      return {
        error: `"${change?.text}" with compress is not clear: say compress a little, compress a lot, or a quality, e.g. webp quality 70`,
      };
    if ((fileSize || compress) && !qualityNamed)
      return { error: "imgedit cannot aim at a file size: say a quality, e.g. webp quality 70 (or compress)" };
    return {
      error: `a quality can only be set, not raised or lowered${amountBy ? " by an amount" : ""}: say e.g. quality 80`,
    };
  }
  const a = amount(c);
  const lossless = c.takeKey("lossless", "losslessly") !== undefined;
  const op: Record<string, unknown> = {
    op: "format",
    format: f ? FORMAT_KEYS[f.key] : compress || lossless ? "webp" : "jpeg",
  };
  if (qN?.num) {
    // a quality is 1-100: "quality 1" is 1, not 100; a fraction ("quality 0.85") is a share of 100;
    // "75.5" or "1.5" is no quality the encoder takes, and rounding it would be a guess
    const { value, unit } = qN.num;
    const quality = unit !== "%" && value > 0 && value < 1 ? round(value * 100, 6) : value;
    if (!Number.isInteger(quality)) return { error: `a quality is a whole number from 1 to 100, not ${qN.text}` };
    op.quality = quality;
  } else if (qWord) op.quality = qualityOf(qWord);
  else if (compress && !lossless)
    op.quality = pick(a, COMPRESS_QUALITY.little, COMPRESS_QUALITY.normal, COMPRESS_QUALITY.lot);
  const compressOnly = compress && !lossless && !qN && !qWord;
  // "compress png": a PNG is lossless, and no quality makes it smaller
  if (compressOnly && f && (op.format === "png" || op.format === "gif")) return { error: nothingToCompress(op.format) };
  if (compressOnly) (op as Record<symbol, unknown>)[COMPRESS_QUALITY_ONLY] = true;
  if (lossless && !alwaysLossless(op)) op.lossless = true;
  if (!f && !lossless && op.quality === undefined) {
    // "export a 2x version", "save it": the verb alone is no format step
    if (ctx.triggers.every((t) => ["convert", "save", "export"].includes(t.key))) return { ops: [] };
    return { error: "say which format: jpeg, png, webp, avif, gif or tiff" };
  }
  if (!f) (op as Record<symbol, unknown>)[IMPLICIT_FORMAT] = true;
  return { ops: [op as OperationInput] };
};

const parseMetadata: Parser = (c) => {
  // "with no metadata": the "no" says strip, whatever "with" says
  const negated = c.has("no", "without");
  const keep =
    !negated &&
    c.takeKey(
      "keep",
      "keeping",
      "preserve",
      "preserving",
      "retain",
      "retaining",
      "with",
      "leave",
      "kept",
      "maintain",
    ) !== undefined;
  c.takeAll(
    "remove",
    "remove-verb",
    "strip",
    "delete",
    "clear",
    "erase",
    "drop",
    "wipe",
    "without",
    "no",
    "scrub",
    "gps",
    "location",
    "exif",
    "metadata",
    "info",
    "information",
    "data",
    "tags",
    "privacy",
    "private",
    "camera",
  );
  return { ops: [{ op: "metadata", keep }] };
};

// ---------------------------------------------------------------- effects

const parseSwirl: Parser = (c) => {
  const n = num(c, (x) => x.unit === undefined || x.unit === "deg");
  const a = amount(c);
  let degrees = n?.num ? n.num.value : pick(a, 45, 90, 180);
  if (c.takeKey(...CCW)) degrees = -Math.abs(degrees);
  c.takeKey(...CW);
  c.takeAll("center", "centre", "middle", "by");
  return { ops: [{ op: "swirl", degrees }] };
};
const parseVignette: Parser = (c) => {
  const n = num(c, (x) => x.unit === undefined);
  const a = amount(c);
  c.takeAll("dark", "darken", "darker", "corners", "edges", "soft");
  return { ops: [{ op: "vignette", sigma: n?.num ? n.num.value : pick(a, 5, 10, 20) }] };
};
const parseOil: Parser = (c) => {
  c.takeAll("oilpaint", "oil", "paint", "painting", "painted", "like", "an", "look", "style", "radius", "brush");
  const n = num(c, (x) => x.unit === undefined);
  const a = amount(c);
  return { ops: [{ op: "oilPaint", radius: n?.num ? n.num.value : pick(a, 2, 3, 6) }] };
};
const parseCharcoal: Parser = (c) => {
  c.takeAll("drawing", "drawn", "sketch", "sketched", "pencil", "like", "look", "style", "radius");
  const n = num(c, (x) => x.unit === undefined);
  amount(c);
  return { ops: [{ op: "charcoal", ...(n?.num ? { radius: n.num.value } : {}) } as OperationInput] };
};
const parsePosterize: Parser = (c) => {
  const n = num(c, (x) => x.unit === undefined);
  c.takeAll("levels", "level", "colours", "colors", "tones", "effect", "look");
  return { ops: [{ op: "posterize", ...(n?.num ? { levels: n.num.value } : {}) }] };
};

const parsePolaroid: Parser = (c) => {
  const n = num(c, (x) => x.unit === undefined || x.unit === "deg");
  const tilted = c.takeKey("tilted", "tilt", "angled", "rotated", "skewed");
  let angle = n?.num ? n.num.value : tilted ? 5 : 0;
  if (c.takeKey(...CCW)) angle = -Math.abs(angle);
  c.takeKey(...CW);
  c.takeAll("frame", "print", "style", "look", "photo", "by");
  return { ops: [{ op: "polaroid", angle }] };
};

// ---------------------------------------------------------------- registry

/** Operations with parameters get a parser; the rest use the generic one (triggers only). */
export const PARSERS: Partial<Record<OperationName, Parser>> = {
  resize: parseSize,
  scale: parseSize,
  crop: parseCrop,
  trim: parseTrim,
  pad: parsePad,
  border: parseBorder,
  rotate: parseRotate,
  flip: parseFlip,
  brightness: parseAdjust,
  contrast: parseAdjust,
  saturation: parseAdjust,
  tint: parseTint,
  hue: parseHue,
  gamma: parseGamma,
  threshold: parseThreshold,
  posterize: parsePosterize,
  temperature: parseTemperature,
  blur: parseBlur,
  sharpen: parseSharpen,
  median: parseMedian,
  text: parseText,
  watermark: parseWatermark,
  format: parseFormat,
  metadata: parseMetadata,
  swirl: parseSwirl,
  vignette: parseVignette,
  oilPaint: parseOil,
  charcoal: parseCharcoal,
  polaroid: parsePolaroid,
};

/** Extra per-operation words a no-parameter operation's clause may contain. */
const GENERIC_EXTRA = [
  "out",
  "convert",
  "converted",
  "colors",
  "colours",
  "colour",
  "color",
  "tone",
  "toned",
  "look",
  "style",
  "levels",
  "effect",
  "filter",
  "mode",
  "only",
  "version",
];
export function parseGeneric(c: Clause, ctx: ParseContext): ClauseResult {
  c.takeAll(...GENERIC_EXTRA);
  // "a little sepia", "sepia a lot": these operations have no strength, so an amount would be
  // silently the full effect
  const a = c.take((it) => it.key === "amt:little" || it.key === "amt:lot");
  if (a) {
    c.takeAll(a.key);
    const name = ctx.triggers[0]?.text.toLowerCase() ?? ctx.op;
    return { error: `${name} has no strength to set ("${a.text}"): say just ${name}` };
  }
  return { ops: [{ op: ctx.op } as OperationInput] };
}

// "desaturate slightly" is less saturation, not grey
const parseGrayscale: Parser = (c, ctx) => {
  const a = ctx.triggers.some((t) => t.key === "desaturate") ? amount(c) : undefined;
  if (a) return { ops: [{ op: "saturation", factor: a === "little" ? 0.7 : 0.3 }] };
  return parseGeneric(c, ctx);
};
PARSERS.grayscale = parseGrayscale;

export function parserFor(op: OperationName): Parser {
  return PARSERS[op] ?? parseGeneric;
}

// Register every word the grammar reads, so typo correction can snap to them.
registerKnownWords([
  "minus",
  "bit",
  "bits",
  "bpp",
  "ev",
  "stop",
  "stops",
  ...SOURCE_FORMATS,
  ..."along keeping preserving retaining coloured colored exact squash squish cropped cropping letterboxed padded bars atleast outside minimum min bg squared thumbnails thumb focusing out focused centering centring region offset starting empty blank excess fuzz narrow fine hairline fat bold line filled axis over ways tones punch tinted shade shifted corrected curve value cleanup ghost ghosted fully notice symbol sign message reading word writing written letters lettering using q saved exported output encode encoded type leave kept scrub private brush drawn sketched angled rotated skewed across both onto off".split(
    " ",
  ),
  ...Object.keys(POSITION_KEYS),
  ...CORNER_WORDS,
  ...SHRINK,
  ...GROW,
  ...WIDTH_KEYS,
  ...HEIGHT_KEYS,
  ...SIDE_CHANGE,
  ...SIZE_WORDS,
  ...ATTENTION,
  ...ENTROPY,
  ...Object.keys(SIDES),
  ...Object.values(DOWN_WORDS).flat(),
  ...Object.keys(TEXT_SIZES),
  ...OPACITY_KEYS,
  ...Object.keys(QUALITY_WORDS),
  ...GENERIC_EXTRA,
  ...[
    "stretch",
    "stretched",
    "exactly",
    "distort",
    "cover",
    "fill",
    "contain",
    "letterbox",
    "background",
    "square",
    "thumbnail",
    "portrait",
    "landscape",
    "around",
    "whitespace",
    "edges",
    "border",
    "borders",
    "margins",
    "remove",
    "delete",
    "strip",
    "clear",
    "erase",
    "drop",
    "wipe",
    "without",
    "keep",
    "preserve",
    "retain",
    "thin",
    "thick",
    "clockwise",
    "rotation",
    "corners",
    "lossless",
    "losslessly",
    "quality",
    "compression",
    "compressed",
    "format",
    "file",
    "font",
    "caption",
    "saying",
    "says",
    "reads",
    "faint",
    "solid",
    "opacity",
    "radius",
    "sigma",
    "strength",
    "tilted",
    "frame",
    "print",
    "drawing",
    "pencil",
    "paint",
    "painting",
    "correct",
    "correction",
    "cutoff",
    "exif",
    "metadata",
    "location",
    "info",
    "information",
    "data",
    "privacy",
    "tolerance",
    "padding",
    "canvas",
    "wheel",
    "shift",
    "blurred",
    "focus",
    "gaussian",
    "details",
    "noisy",
    "clean",
    "window",
    "cast",
    "hue",
  ],
]);
