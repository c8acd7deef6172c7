// Real English words that sit one edit from a word the planner knows ("cold" / old, "burn" /
// turn, "mark" / dark, "halt" / half, "back" / black, "bluer" / blur, "mellow" / yellow). Typo
// correction must never rewrite them: a real word the planner does not know is reported as not
// understood, not silently read as another operation.
export const COMMON_ENGLISH_WORDS: ReadonlySet<string> = new Set(
  (
    "back bark bass bent best blown bluer blurt boast bold bone boot borer bound brim brink brow burn " +
    "came chop clap clip clue cold cone cool cord cove crap crate crow crown date dent dint done dour " +
    "drop drown faint fate fatter fellow fight fighter fine flame flap flow flue fold fool found frown game " +
    "glue gone gown grim ground grown halt hate heights hello hide hint hold hour jest joint lame lark " +
    "lass lest line lint lone mark mast mate mellow might mine mint mize mold moon morn mount move mown " +
    "name nest night none order park past pest pine pint poise pool pour praise prim prone prop rent " +
    "resized ride rise saint scare sent shame shard share shark shirt shone sight sized slide slip slur " +
    "snow sold sound sour sown spare stale stone stop string stripe sweet swift taint tame tent test " +
    "think tide tight tighter told tool torn tour town treat trip vent vest vise ward weight went west " +
    "widths wild wine wool word world wound zest zone"
  ).split(" "),
);

// A word and its negation look alike ("lossy" / "lossless", "compress" / "decompress", "crop" /
// "uncrop") but mean the opposite: "did you mean" must never offer one for the other.
const NEGATING_PREFIXES = ["un", "de", "dis", "non", "anti", "counter"];

/** Whether one word negates the other: a negating prefix on it, or "-less" on the same stem. */
export function isNegationOf(a: string, b: string): boolean {
  for (const [neg, word] of [
    [a, b],
    [b, a],
  ]) {
    if (word.length < 3) continue;
    // "uncompressed" / "compress", "desaturate" / "saturation": the rest starts like the word
    for (const p of NEGATING_PREFIXES) {
      const rest = neg.startsWith(p) ? neg.slice(p.length).replace(/^-/u, "") : "";
      if (rest.length >= 3 && commonPrefix(rest, word) >= Math.min(rest.length, word.length) - 2) return true;
    }
    // "lossless" / "lossy", "colourless" / "colourful"
    const stem = /^(.{3,})less(ly|ness)?$/u.exec(neg)?.[1];
    if (stem && word.startsWith(stem) && !/less(ly|ness)?$/u.test(word)) return true;
  }
  return false;
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}
