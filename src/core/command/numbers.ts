// Words for numbers: "ninety", "two hundred and fifty", "one and a half", "a third", "half",
// "double", "three quarters". readNumberWords reads the longest number phrase at a position.

const UNITS: Record<string, number> = {
  zero: 0,
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  eleven: 11,
  twelve: 12,
  thirteen: 13,
  fourteen: 14,
  fifteen: 15,
  sixteen: 16,
  seventeen: 17,
  eighteen: 18,
  nineteen: 19,
};
const TENS: Record<string, number> = {
  twenty: 20,
  thirty: 30,
  forty: 40,
  fifty: 50,
  sixty: 60,
  seventy: 70,
  eighty: 80,
  ninety: 90,
};
const SCALES: Record<string, number> = { hundred: 100, thousand: 1000 };
/** Denominators: "a third", "two thirds", "three quarters". */
const FRACTIONS: Record<string, number> = {
  half: 2,
  halve: 2,
  halves: 2,
  third: 3,
  thirds: 3,
  quarter: 4,
  quarters: 4,
  fourth: 4,
  fourths: 4,
  fifth: 5,
  fifths: 5,
  tenth: 10,
  tenths: 10,
};
/** Multipliers written as words: they read as "2x". */
const MULTIPLIERS: Record<string, number> = { double: 2, twice: 2, triple: 3, treble: 3, thrice: 3, quadruple: 4 };

export const NUMBER_WORDS: readonly string[] = [
  ...Object.keys(UNITS),
  ...Object.keys(TENS),
  ...Object.keys(SCALES),
  ...Object.keys(FRACTIONS),
  ...Object.keys(MULTIPLIERS),
];

export interface NumberRead {
  value: number;
  /** "frac" for fractions (half, a third), "x" for multipliers (double, twice). */
  unit?: "frac" | "x";
  /** Index after the last word read. */
  end: number;
}

function cardinal(words: string[], i: number): { value: number; end: number } | undefined {
  let total = 0;
  let current = 0;
  let j = i;
  let read = false;
  while (j < words.length) {
    const w = words[j];
    if (w in UNITS) {
      current += UNITS[w];
    } else if (w in TENS) {
      current += TENS[w];
    } else if (w in SCALES && (read || current === 0)) {
      const scale = SCALES[w];
      current = (current || 1) * scale;
      if (scale >= 1000) {
        total += current;
        current = 0;
      }
    } else if (w === "and" && read && (words[j - 1] === "hundred" || words[j - 1] === "thousand")) {
      // "two hundred and fifty": only when a number word follows
      const next = words[j + 1];
      if (next !== undefined && (next in UNITS || next in TENS)) {
        j++;
        continue;
      }
      break;
    } else break;
    read = true;
    j++;
  }
  return read ? { value: total + current, end: j } : undefined;
}

/** Reads a number phrase starting at words[i]; undefined when there is none. */
export function readNumberWords(words: string[], i: number): NumberRead | undefined {
  const w = words[i];
  if (w === undefined) return undefined;
  if (w in MULTIPLIERS) return { value: MULTIPLIERS[w], unit: "x", end: i + 1 };
  // "a third", "a quarter", "a half", "a hundred", "an eighth"
  if ((w === "a" || w === "an") && words[i + 1] !== undefined) {
    const n = words[i + 1];
    if (n in FRACTIONS && !n.endsWith("s")) return { value: 1 / FRACTIONS[n], unit: "frac", end: i + 2 };
    if (n in SCALES) {
      const c = cardinal(words, i + 1);
      if (c) return { value: c.value, end: c.end };
    }
    return undefined;
  }
  if (w in FRACTIONS && !w.endsWith("s")) return { value: 1 / FRACTIONS[w], unit: "frac", end: i + 1 };
  const c = cardinal(words, i);
  if (!c) return undefined;
  const next = words[c.end];
  // "two thirds", "three quarters"
  if (next !== undefined && next in FRACTIONS && c.value > 0 && c.value < 10)
    return { value: c.value / FRACTIONS[next], unit: "frac", end: c.end + 1 };
  // "one and a half"
  if (next === "and" && words[c.end + 1] === "a" && words[c.end + 2] === "half")
    return { value: c.value + 0.5, end: c.end + 3 };
  return { value: c.value, end: c.end };
}
