// "Did you mean ...": the catalog words and operation names nearest to a word not understood.
import { catalog } from "../operations.js";
import { editDistance } from "./distance.js";

const CANDIDATES: { word: string; op: string }[] = [];
for (const def of catalog) {
  CANDIDATES.push({ word: def.name.toLowerCase(), op: def.name });
  for (const w of def.words) CANDIDATES.push({ word: w.toLowerCase(), op: def.name });
}

/** Up to `max` catalog words near `word` (2 edits, or a shared 4-letter prefix), nearest first. */
export function suggestFor(word: string, max = 3): string[] {
  const w = word.toLowerCase();
  if (w.length < 3 || !/^[\p{L}-]+$/u.test(w)) return [];
  const scored: { word: string; d: number }[] = [];
  for (const c of CANDIDATES) {
    if (c.word.includes(" ")) continue;
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
