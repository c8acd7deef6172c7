// "Did you mean ...": the catalog words and operation names nearest to a word not understood
// (never its negation), hints for words people use for something else, and notes.
import { catalog } from "../operations.js";
import { editDistance } from "./distance.js";
import { isNegationOf } from "./english.js";

const CANDIDATES: { word: string; op: string }[] = [];
for (const def of catalog) {
  CANDIDATES.push({ word: def.name.toLowerCase(), op: def.name });
  for (const w of def.words) CANDIDATES.push({ word: w.toLowerCase(), op: def.name });
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
  warm: ["tint", "sepia"],
  warmer: ["tint", "sepia"],
  cool: ["tint"],
  cooler: ["tint"],
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
};

export function noteFor(word: string): string | undefined {
  return NOTES[word.toLowerCase()];
}

/** Up to `max` catalog words near `word` (2 edits, or a shared 4-letter prefix), nearest first. */
export function suggestFor(word: string, max = 3): string[] {
  const w = word.toLowerCase();
  if (w.length < 3 || !/^[\p{L}-]+$/u.test(w)) return [];
  const scored: { word: string; d: number }[] = (HINTS[w] ?? []).map((h) => ({ word: h, d: 0 }));
  for (const c of CANDIDATES) {
    // a word's opposite is never what was meant: "lossy" is not "lossless"
    if (c.word.includes(" ") || c.word === w || isNegationOf(w, c.word)) continue;
    let d = editDistance(w, c.word, 2);
    if (
      d > 2 &&
      w.length >= 4 &&
      c.word.length >= 4 &&
      (c.word.startsWith(w.slice(0, 4)) || w.startsWith(c.word.slice(0, 4)))
    )
      d = 2.5;
    if (d <= 2.5 && !(w.length <= 4 && d >= 2)) scored.push({ word: c.word, d });
  }
  scored.sort((a, b) => a.d - b.d);
  const out: string[] = [];
  for (const s of scored) if (!out.includes(s.word) && out.length < max) out.push(s.word);
  return out;
}
