// "Did you mean ...": the catalog words and operation names nearest to a word not understood
// (never its negation), hints for words people use for something else, and notes.
import { catalog, type OperationName } from "../operations.js";
import { editDistance } from "./distance.js";
import { isNegationOf } from "./english.js";

/**
 * Operations by how often people ask for them, most common first. Among suggestions equally near
 * a word, an operation's own name or first word comes before its other words, then the more
 * common operation: "blorp" gets blur before flop (a rarely used word for mirror).
 */
export const COMMON_OPERATIONS: readonly OperationName[] = [
  "resize",
  "crop",
  "rotate",
  "format",
  "grayscale",
  "blur",
  "sharpen",
  "brightness",
  "contrast",
  "flip",
  "text",
  "scale",
  "saturation",
  "watermark",
  "border",
  "trim",
  "pad",
  "sepia",
  "tint",
  "negate",
  "metadata",
  "normalize",
  "hue",
  "vignette",
  "threshold",
  "posterize",
  "temperature",
  "gamma",
  "median",
  "autoOrient",
  "polaroid",
  "oilPaint",
  "charcoal",
  "swirl",
];

interface Candidate {
  word: string;
  op: string;
  /** 0: the operation's name or first word; 1: its other words. */
  tier: number;
  /** Place of the operation in COMMON_OPERATIONS. */
  common: number;
  /** Place of the word in the operation's words. */
  order: number;
}

const CANDIDATES: Candidate[] = [];
for (const def of catalog) {
  const at = COMMON_OPERATIONS.indexOf(def.name);
  const common = at < 0 ? COMMON_OPERATIONS.length : at;
  CANDIDATES.push({ word: def.name.toLowerCase(), op: def.name, tier: 0, common, order: -1 });
  for (const [order, w] of def.words.entries())
    CANDIDATES.push({ word: w.toLowerCase(), op: def.name, tier: order === 0 ? 0 : 1, common, order });
}

/** Words people use for things the catalog does under another name (or does not do at all). */
const HINTS: Record<string, string[]> = {
  zoom: ["crop", "scale"],
  enlarge: ["scale"],
  pop: ["contrast", "saturation"],
  punch: ["contrast"],
  sparkle: ["sharpen"],
  glow: ["brightness", "blur"],
  background: ["blur", "pad"],
  pixelate: ["scale", "blur"],
  bmp: ["png", "jpeg", "webp"],
  heic: ["avif", "jpeg"],
  heif: ["avif"],
  jxl: ["avif", "webp"],
  svg: ["png"],
  pdf: ["png", "tiff"],
  emboss: ["charcoal", "sharpen"],
  cartoon: ["oilPaint", "posterize"],
  shadow: ["polaroid", "vignette"],
  round: ["crop"],
  rounded: ["crop"],
  circle: ["crop"],
  resize: ["resize"],
  lossy: ["webp at quality 80"],
};

/** What to know about a word the planner does not take, said after "I did not understand ...". */
const NOTES: Record<string, string> = {
  lossy: "JPEG, WebP and AVIF are lossy by default: give a quality",
  padsquare: "Padding to a square needs the square's size: say fit in 1080x1080 with white bars",
  dpi: "DPI (print resolution) is not set here: give the size in pixels, e.g. resize to 1200px",
  ppi: "PPI (print resolution) is not set here: give the size in pixels, e.g. resize to 1200px",
  inch: "Sizes are in pixels: say e.g. resize to 1200px",
  inches: "Sizes are in pixels: say e.g. resize to 1200px",
  cm: "Sizes are in pixels: say e.g. resize to 1200px",
  mm: "Sizes are in pixels: say e.g. resize to 1200px",
  kb: "A target file size is not supported: say compress, or a quality such as jpg at 70%",
  mb: "A target file size is not supported: say compress, or a quality such as jpg at 70%",
  keepcolour: "Colours change only where a step says so (black and white, sepia, tint, ...): leave this out",
  except: "Every edit applies to the whole image: there are no masks to leave a part out",
  only: "Every edit applies to the whole image: there are no masks to edit only a part",
  face: "Faces are found only to place a crop (crop to the face); other edits apply to the whole image",
  background:
    "The background cannot be removed, replaced or blurred on its own (it is not told apart from the subject): say blur to blur the whole image; a background colour applies to padding, letterboxing and rotated corners",
};

export function noteFor(word: string): string | undefined {
  return NOTES[word.toLowerCase()];
}

/** Up to `max` catalog words near `word` (2 edits, or a shared 4-letter prefix), nearest first. */
export function suggestFor(word: string, max = 3): string[] {
  const w = word.toLowerCase();
  if (w.length < 3 || !/^[\p{L}-]+$/u.test(w)) return [];
  const scored: { word: string; d: number; c?: Candidate }[] = (HINTS[w] ?? []).map((h) => ({ word: h, d: 0 }));
  for (const c of CANDIDATES) {
    if (c.word.includes(" ") || c.word === w) continue;
    let d = editDistance(w, c.word, 2);
    if (
      d > 2 &&
      w.length >= 4 &&
      c.word.length >= 4 &&
      (c.word.startsWith(w.slice(0, 4)) || w.startsWith(c.word.slice(0, 4)))
    )
      d = 2.5;
    // a word's opposite is never what was meant: "lossy" is not "lossless" (checked last: rare)
    if (d <= 2.5 && !(w.length <= 4 && d >= 2) && !isNegationOf(w, c.word)) scored.push({ word: c.word, d, c });
  }
  // nearest first; on a tie the common word (hints keep their own order)
  scored.sort(
    (a, b) => a.d - b.d || (a.c && b.c ? a.c.tier - b.c.tier || a.c.common - b.c.common || a.c.order - b.c.order : 0),
  );
  const out: string[] = [];
  for (const s of scored) if (!out.includes(s.word) && out.length < max) out.push(s.word);
  return out;
}
