// Splits a command into tokens with character offsets (so a page can highlight what was not
// understood). Numbers keep their attached unit ("800px", "50%", "90°", "2x"), sizes ("800x600",
// "x1080"), ratios ("16:9"), coordinate pairs ("10,20", "(10, 20)"), hex and rgb() colours, URLs and quoted
// text are single tokens; everything else is words, separators and symbols.

export type TokenKind =
  | "word"
  | "number"
  | "dims"
  | "ratio"
  | "pair"
  | "hex"
  | "quote"
  | "url"
  | "sep"
  | "punct"
  | "symbol";

export interface Token {
  kind: TokenKind;
  /** The source text of the token. */
  text: string;
  /** Lower-cased word, or the canonical form of a unit/separator. */
  norm: string;
  start: number;
  end: number;
  /** number: its value; dims/pair/ratio: first value (none in "x1080": the width is left open). */
  value?: number;
  /** dims/pair/ratio: second value. */
  value2?: number;
  /** Unit written against the number: px, %, deg, x; frac for "1/2". */
  unit?: string;
  /** quote: the text between the quotes. */
  inner?: string;
}

const NUM = String.raw`(?:\d+(?:\.\d+)?|\.\d+)`;
// "x" or "×" after a number is a multiplier ("2x", "2×") or ImageMagick geometry for a width
// alone ("1920x"): the size grammar tells them apart
const UNIT = String.raw`(?:(?:px|pixels?|degrees?|degs?|x|×)(?![\p{L}\p{N}])|%|[°º˚])`;
const reNumber = new RegExp(String.raw`^([+\-−]?)(${NUM})(?:\s*(${UNIT}))?`, "iu");
const reDims = new RegExp(
  String.raw`^(${NUM})\s*(px|pixels?)?\s*[x×*]\s*(${NUM})(?:\s*(px|pixels?))?(?![a-z0-9]|\.\d)`,
  "iu",
);
// "x1080": ImageMagick geometry for a height alone (the width follows the aspect ratio). Written
// without a space only: "x 10" is a crop's offset ("crop 800x600 x 10 y 20").
const reHeight = new RegExp(String.raw`^[x×](${NUM})(?:\s*(px|pixels?))?(?![a-z0-9]|\.\d)`, "iu");
const reRatio = new RegExp(String.raw`^(${NUM}):(${NUM})(?!\d|\.\d)`, "u");
const rePair = /^(\d+),(\d+)(?!\d|\.\d)/u;
const reSlash = /^(\d{1,4})\/(\d{1,4})(?![\d/]|\.\d)/u;
const reParenPair = /^\(\s*(\d+)\s*,\s*(\d+)\s*\)/u;
const reHex = /^#(?:[0-9a-f]{8}|[0-9a-f]{6}|[0-9a-f]{4}|[0-9a-f]{3})(?![0-9a-z])/iu;
// "rgb(255, 0, 0)", "rgba(0,0,0,0.5)": a colour, one token like a hex colour
const reRgb = /^rgba?\(\s*\d{1,3}\s*,\s*\d{1,3}\s*,\s*\d{1,3}\s*(?:,\s*(?:\d*\.)?\d+%?\s*)?\)/iu;
// "1,200": a number written with thousands groups (whole groups only, so "1,2" and "1,20" stay pairs)
const reGrouped = /(?<![\d,.])\d{1,3}(?:,\d{3})+(?!\d|[.,]\d)/gu;
const reGroupedStart = /^(?:\d{1,3}|\d+\s*(?:px|pixels?)?\s*[x×*]\s*\d{1,3}),\d{3}(?!\d)/iu;
// the words after a grouped number that make it a size ("1,200 wide"), and before it ("width 1,200")
const reSizeAfter = /^\s+(?:wide|tall|high|across|long)(?![\p{L}\p{N}])/iu;
const SIZE_BEFORE = new Set([
  "resize",
  "scale",
  "shrink",
  "enlarge",
  "downsize",
  "upsize",
  "downscale",
  "upscale",
  "width",
  "height",
  "max",
  "maximum",
  "min",
  "minimum",
  "to",
  "side",
  "edge",
  "wide",
  "tall",
]);
const reUrl = /^(?:https?:\/\/|upload:)[^\s"'<>]+/iu;
const reWord = /^(?:b&w|[\p{L}\p{N}][\p{L}\p{M}\p{N}]*(?:['’][\p{L}]+)*)/iu;

const QUOTE_PAIRS: Record<string, string[]> = {
  '"': ['"', "”"],
  "“": ["”", '"'],
  "„": ["“", "”"],
  "'": ["'", "’"],
  "‘": ["’", "'"],
  "«": ["»"],
};

function unitOf(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  const u = raw.toLowerCase();
  if (u.startsWith("px") || u.startsWith("pixel")) return "px";
  if (u === "%") return "%";
  if (u === "x" || u === "×") return "x";
  return "deg";
}

function closingQuote(text: string, i: number): number {
  const open = text[i];
  const closers = QUOTE_PAIRS[open];
  if (!closers) return -1;
  // An apostrophe inside a word ("don't") does not open a quote.
  if (open === "'" || open === "’") {
    const prev = text[i - 1];
    if (prev !== undefined && /[\p{L}\p{N}]/u.test(prev)) return -1;
  }
  for (let j = i + 1; j < text.length; j++) {
    if (!closers.includes(text[j])) continue;
    const next = text[j + 1];
    // A closing apostrophe must end a word: "'(c) 2026 Example Co'" but not "it's".
    if ((text[j] === "'" || text[j] === "’") && next !== undefined && /[\p{L}\p{N}]/u.test(next)) continue;
    return j;
  }
  return -1;
}

/** Whether only spaces stand between the start of the line and text[i]. */
function atLineStart(text: string, i: number): boolean {
  let j = i - 1;
  while (j >= 0 && text[j] !== "\n" && /\s/u.test(text[j])) j--;
  return j < 0 || text[j] === "\n";
}

/**
 * Characters typed through an input method or pasted from a document that stand for plain ones:
 * full-width ASCII ("８００ｐｘ"), the ratio colon "∶", invisible zero-width spaces. Each is replaced
 * by one UTF-16 unit, so offsets into the normalised text are offsets into what was written.
 */
function plainForms(text: string): string {
  return text.replace(/[\uff01-\uff5e\u2236\u200b-\u200d\u2060]/gu, (ch) => {
    const cp = ch.charCodeAt(0);
    if (cp >= 0xff01) return String.fromCharCode(cp - 0xfee0);
    return cp === 0x2236 ? ":" : " ";
  });
}

/**
 * A number written with thousands groups at text[i] ("1,200px", "1,920x1,080", "2,000 wide",
 * "width 1,200"), read where it can only be a size; undefined where it may be a pair ("at 100,200").
 */
function groupedNumber(text: string, i: number, before: Token | undefined): Token | undefined {
  const written = text.slice(i, i + 64);
  // the text with the group commas dropped, and where each of its characters was written
  const at: number[] = [];
  let plain = "";
  let from = 0;
  for (const g of written.matchAll(reGrouped)) {
    for (let k = from; k < g.index; k++) at.push(k);
    plain += written.slice(from, g.index);
    for (let k = 0; k < g[0].length; k++) if (g[0][k] !== ",") at.push(g.index + k);
    plain += g[0].replaceAll(",", "");
    from = g.index + g[0].length;
  }
  for (let k = from; k <= written.length; k++) at.push(k);
  plain += written.slice(from);
  const end = (n: number) => i + at[n];
  const d = reDims.exec(plain);
  if (d) {
    return {
      kind: "dims",
      text: text.slice(i, end(d[0].length)),
      norm: d[0].toLowerCase(),
      value: Number(d[1]),
      value2: Number(d[3]),
      unit: d[2] || d[4] ? "px" : undefined,
      start: i,
      end: end(d[0].length),
    };
  }
  const m = reNumber.exec(plain);
  if (!m) return undefined;
  const stop = end(m[0].length);
  if (m[3] === undefined) {
    // without a unit, "800,600" may be two numbers: only "1,200"-"9,999" read as one, and numbers
    // of two groups or more ("1,000,000"), which no pair can be
    if (!/^\d(?:,\d{3}){1}$|^\d{1,3}(?:,\d{3}){2,}$/u.test(text.slice(i, stop))) return undefined;
    const sized = reSizeAfter.test(text.slice(stop, stop + 10));
    if (!sized && !(before?.kind === "word" && SIZE_BEFORE.has(before.norm))) return undefined;
  }
  return {
    kind: "number",
    text: text.slice(i, stop),
    norm: m[0].toLowerCase(),
    value: Number(m[2]),
    unit: unitOf(m[3]),
    start: i,
    end: stop,
  };
}

export function tokenize(written: string): Token[] {
  const text = plainForms(written);
  const tokens: Token[] = [];
  let i = 0;
  // "(800, 600)", "16:9", "800 by 600": two numbers in one token.
  const twoNumbers = (kind: "pair" | "ratio", m: RegExpExecArray, at: number): Token => ({
    kind,
    text: m[0],
    norm: m[0],
    value: Number(m[1]),
    value2: Number(m[2]),
    start: at,
    end: at + m[0].length,
  });
  const push = (t: Token) => {
    tokens.push(t);
    i = t.end;
  };
  while (i < text.length) {
    const ch = text[i];
    if (/\s/u.test(ch)) {
      i++;
      continue;
    }
    const rest = text.slice(i, i + 2100);
    const close = closingQuote(text, i);
    if (close > i) {
      // the words to draw are kept as written (full-width digits too)
      const inner = written.slice(i + 1, close);
      push({ kind: "quote", text: written.slice(i, close + 1), norm: inner, inner, start: i, end: close + 1 });
      continue;
    }
    let m = reUrl.exec(rest);
    if (m) {
      const url = m[0].replace(/[.,;:!?)\]]+$/u, "");
      push({ kind: "url", text: url, norm: url, start: i, end: i + url.length });
      continue;
    }
    m = reHex.exec(rest) ?? reRgb.exec(rest);
    if (m) {
      push({ kind: "hex", text: m[0], norm: m[0].toLowerCase().replace(/\s+/gu, ""), start: i, end: i + m[0].length });
      continue;
    }
    m = reParenPair.exec(rest);
    if (m) {
      push(twoNumbers("pair", m, i));
      continue;
    }
    m = reHeight.exec(rest);
    if (m) {
      push({
        kind: "dims",
        text: m[0],
        norm: m[0].toLowerCase(),
        value2: Number(m[1]),
        unit: m[2] ? "px" : undefined,
        start: i,
        end: i + m[0].length,
      });
      continue;
    }
    const startsNumber = /[\d.]/u.test(ch) && /\d/u.test(rest.slice(0, 2));
    // "1. resize to 800" / "2) convert to webp" at the start of a line: a list of steps
    const marker = startsNumber ? /^\d{1,2}[.)](?=\s)/u.exec(rest) : null;
    if (marker && atLineStart(text, i)) {
      push({ kind: "sep", text: marker[0], norm: ".", start: i, end: i + marker[0].length });
      continue;
    }
    if (startsNumber && reGroupedStart.test(rest)) {
      const t = groupedNumber(text, i, tokens[tokens.length - 1]);
      if (t) {
        push(t);
        continue;
      }
    }
    if (startsNumber) {
      m = reDims.exec(rest);
      if (m) {
        const unit = m[2] || m[4] ? "px" : undefined;
        push({
          kind: "dims",
          text: m[0],
          norm: m[0].toLowerCase(),
          value: Number(m[1]),
          value2: Number(m[3]),
          unit,
          start: i,
          end: i + m[0].length,
        });
        continue;
      }
      m = reRatio.exec(rest);
      if (m) {
        push(twoNumbers("ratio", m, i));
        continue;
      }
      m = rePair.exec(rest);
      if (m) {
        push(twoNumbers("pair", m, i));
        continue;
      }
      // "1/2", "2/3" are fractions ("resize to 1/2"); "16/9", "4/3" ratios, as "16:9"
      m = reSlash.exec(rest);
      if (m) {
        const [a, b] = [Number(m[1]), Number(m[2])];
        if (a >= b) push(twoNumbers("ratio", m, i));
        else if (a > 0)
          push({ kind: "number", text: m[0], norm: m[0], value: a / b, unit: "frac", start: i, end: i + m[0].length });
        else m = null;
        if (m) continue;
      }
    }
    // "rotate - 90", "brightness – 20", "rotate -- 90": a dash standing apart after a word, right
    // before a number, is its minus sign; never a bullet at the start of a line, nor between two
    // numbers ("800 - 600"). Read as "-90" (the text keeps the dash as written).
    const dash = /^(?:--?|[–—−])\s*(?=\d|\.\d)/u.exec(rest);
    if (
      dash &&
      !/^[-−][\d.]/u.test(rest) &&
      /\s/u.test(text[i - 1] ?? "") &&
      !atLineStart(text, i) &&
      tokens[tokens.length - 1]?.kind === "word"
    ) {
      m = reNumber.exec(rest.slice(dash[0].length));
      const value = m ? -Number(m[2]) : Number.NaN;
      if (m && Number.isFinite(value)) {
        const end = i + dash[0].length + m[0].length;
        push({
          kind: "number",
          text: text.slice(i, end),
          norm: `-${m[0].toLowerCase()}`,
          value,
          unit: unitOf(m[3]),
          start: i,
          end,
        });
        continue;
      }
    }
    // A sign belongs to the number only where it cannot be a joiner ("+20%" but "a + b").
    const signed = /[+\-−]/u.test(ch) && /^[+\-−][\d.]/u.test(rest) && (i === 0 || /[\s(]/u.test(text[i - 1]));
    if (startsNumber || signed) {
      m = reNumber.exec(rest);
      if (m) {
        const sign = m[1] === "-" || m[1] === "−" ? -1 : 1;
        const value = sign * Number(m[2]);
        if (Number.isFinite(value)) {
          push({
            kind: "number",
            text: m[0],
            norm: m[0].toLowerCase(),
            value,
            unit: unitOf(m[3]),
            start: i,
            end: i + m[0].length,
          });
          continue;
        }
      }
    }
    // "q80": an encoder's quality written as one word ("webp q80")
    m = /^q(\d{1,3})(?![\p{L}\p{N}]|\.\d)/iu.exec(rest);
    if (m) {
      const at = i;
      push({ kind: "word", text: ch, norm: "q", start: at, end: at + 1 });
      push({ kind: "number", text: m[1], norm: m[1], value: Number(m[1]), start: at + 1, end: at + m[0].length });
      continue;
    }
    m = reWord.exec(rest);
    if (m) {
      const norm = m[0].toLowerCase().replace(/’/gu, "'");
      push({ kind: "word", text: m[0], norm, start: i, end: i + m[0].length });
      continue;
    }
    // ".png" names a format, it does not end a sentence
    const ext = /^\.(png|jpe?g|webp|avif|gif|tiff?)(?![\p{L}\p{N}])/iu.exec(rest);
    if (ext && (i === 0 || /\s/u.test(text[i - 1]))) {
      push({ kind: "word", text: ext[0], norm: ext[1].toLowerCase(), start: i, end: i + ext[0].length });
      continue;
    }
    // "* resize to 800" / "• grayscale" at the start of a line: a bulleted list of steps
    if ("*•◦‣·".includes(ch) && atLineStart(text, i) && /\s/u.test(text[i + 1] ?? "")) {
      push({ kind: "sep", text: ch, norm: ".", start: i, end: i + 1 });
      continue;
    }
    if (ch === "," || ch === ";" || ch === "." || ch === "&" || ch === "+" || ch === "!" || ch === "?" || ch === "\n") {
      push({ kind: "sep", text: ch, norm: ch, start: i, end: i + 1 });
      continue;
    }
    if (ch === "%" || ch === "°" || ch === "º" || ch === "˚") {
      push({ kind: "word", text: ch, norm: ch, start: i, end: i + 1 });
      continue;
    }
    // an arrow reads "becomes": "png -> jpg", "resize → 800px"
    const arrow = /^(?:->|=>|→)/u.exec(rest);
    if (arrow) {
      push({ kind: "punct", text: arrow[0], norm: "→", start: i, end: i + arrow[0].length });
      continue;
    }
    if ("()[]:-–—/\"'“”‘’…=".includes(ch)) {
      push({ kind: "punct", text: ch, norm: ch, start: i, end: i + 1 });
      continue;
    }
    // Anything else (emoji, stray symbols) is one symbol token, reported if nothing consumes it.
    const cp = text.codePointAt(i) ?? 0;
    const len = cp > 0xffff ? 2 : 1;
    push({ kind: "symbol", text: text.slice(i, i + len), norm: text.slice(i, i + len), start: i, end: i + len });
  }
  return tokens;
}
