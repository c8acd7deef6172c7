// The planner's vocabulary: operation triggers come from the catalog (`words` of each entry);
// this file adds the shared language around them: phrases, positions, directions, amounts,
// units, presets, colours and the filler words a request may contain. lex() turns tokens into
// items (a phrase or number phrase becomes one item), correcting one-edit typos on the way.
import { NAMED_COLORS } from "../color.js";
import { catalog, type OperationName } from "../operations.js";
import { editDistance } from "./distance.js";
import { COMMON_ENGLISH_WORDS } from "./english.js";
import { NUMBER_WORDS, readNumberWords } from "./numbers.js";
import { type Token, tokenize } from "./tokenize.js";

export type Unit = "px" | "%" | "deg" | "x" | "frac";

export interface Item {
  /** Canonical key: a word, a phrase key ("top-left", "amt:little"), or "#num", "#dims", ... */
  key: string;
  text: string;
  start: number;
  end: number;
  num?: { value: number; unit?: Unit };
  /** A size or a ratio; w is missing in "x1080" (a height alone, ImageMagick geometry). */
  dims?: { w?: number; h: number; unit?: Unit };
  pair?: { a: number; b: number };
  quote?: string;
  url?: string;
  /** Set when a typo was corrected: the word as written. */
  typo?: string;
}

/** Split a phrase into the words the tokenizer would produce. */
function phraseWords(phrase: string): string[] {
  return tokenize(phrase)
    .filter((t) => t.kind !== "punct")
    .map((t) => (t.kind === "number" ? String(t.value) : t.norm));
}

const PHRASES = new Map<string, { words: string[]; key: string }[]>();

// Phrases of the shared language -> canonical keys the grammar reads.
const LEXICON: Record<string, string[]> = {
  "#sep": ["and then", "after that", "followed by", "and also", "as well as", "and finally", "after which"],
  // a thank-you is one filler: its "a lot" / "very much" is no amount for the step before it
  thanks: [
    "thanks a lot",
    "thanks a bunch",
    "thanks a million",
    "thanks so much",
    "thanks very much",
    "thank you",
    "thank you a lot",
    "thank you so much",
    "thank you very much",
    "many thanks",
    "much appreciated",
    "thx",
    "ty",
    "tysm",
  ],
  "top-left": ["top left", "upper left", "left top", "top left corner", "top-left corner", "nw"],
  "top-right": ["top right", "upper right", "right top", "ne"],
  "bottom-left": ["bottom left", "lower left", "left bottom", "sw"],
  "bottom-right": ["bottom right", "lower right", "right bottom", "se"],
  counterclockwise: ["counter clockwise", "anti clockwise", "counterclockwise", "anticlockwise", "ccw", "widdershins"],
  clockwise: ["cw", "clock wise"],
  horizontal: ["left to right", "right to left", "left right", "horizontally", "sideways", "side to side"],
  vertical: ["top to bottom", "bottom to top", "vertically", "up down"],
  "upside-down": ["upside down", "upside-down", "on its head"],
  quarterturn: ["a quarter turn", "quarter turn", "quarter of a turn"],
  halfturn: ["a half turn", "half turn", "half a turn", "half way round", "halfway around"],
  "amt:little": [
    "a little",
    "a little bit",
    "a tiny bit",
    "tiny bit",
    "a wee bit",
    "a smidge",
    "just a little",
    "only a little",
    "only a bit",
    "only slightly",
    "a bit",
    "a touch",
    "a tad",
    "just a bit",
    "a little more",
    "a bit more",
    "slightly",
    "somewhat",
    "mildly",
    "gently",
    "subtly",
    "subtle",
    "lightly",
    "softly",
    "barely",
    "light",
    "slight",
    "weak",
    "gentle",
    "mild",
    "soft",
  ],
  "amt:lot": [
    "a lot",
    "a lot more",
    "lots",
    "much",
    "very",
    "way",
    "really",
    "heavily",
    "strongly",
    "significantly",
    "greatly",
    "extremely",
    "super",
    "massively",
    "hugely",
    "considerably",
    "substantially",
    "dramatically",
    "intensely",
    "seriously",
    "a great deal",
    "far",
    "loads",
    "strong",
    "heavy",
    "intense",
    "deep",
    "hard",
  ],
  "dir:more": [
    "more",
    "increase",
    "increased",
    "boost",
    "raise",
    "higher",
    "up",
    "stronger",
    "extra",
    "enhance the",
    "bump up",
    "bump",
    "crank up",
    "pump up",
  ],
  "dir:less": [
    "cut down",
    "less",
    "decrease",
    "decreased",
    "reduce",
    "reduced",
    "lower",
    "down",
    "weaker",
    "tone down",
    "turn down",
    "fewer",
  ],
  "%": ["percent", "per cent", "pct"],
  px: ["pixels", "pixel", "pixles"],
  deg: ["degrees", "degree", "deg", "degs", "°", "º", "˚"],
  x: ["times"],
  "sides:tb": ["top and bottom", "bottom and top", "above and below"],
  "sides:lr": ["left and right", "right and left", "both sides", "either side"],
  "sides:all": [
    "all sides",
    "each side",
    "every side",
    "all around",
    "all round",
    "around it",
    "all edges",
    "each edge",
    "every edge",
    "all four sides",
  ],
  noenlarge: [
    "without enlarging",
    "without upscaling",
    "don't enlarge",
    "do not enlarge",
    "never enlarge",
    "not enlarge",
    "no upscaling",
    "no enlarging",
    "only shrink",
    "only downscale",
    "only if larger",
    "only if bigger",
    "if larger",
    "if bigger",
    "only if larger than",
    "only if bigger than",
    "if larger than",
    "if bigger than",
    "but never bigger",
    "don't upscale",
    "do not upscale",
    "never upscale",
    "no upscale",
    "not upscale",
    "but don't enlarge",
    "but do not enlarge",
    "but don't upscale",
    "but do not upscale",
    "but never enlarge",
    "but never upscale",
  ],
  atmost: [
    "limit",
    "limited",
    "cap",
    "capped",
    "at most",
    "no larger than",
    "no bigger than",
    "no more than",
    "not more than",
    "max",
    "maximum",
    "a maximum of",
    "up to",
    "not bigger than",
    "not larger than",
    "under",
    "smaller than",
    "less than",
  ],
  filesize: [
    "file size",
    "filesize",
    "smaller file",
    "smaller files",
    "lighter file",
    "file smaller",
    "the file smaller",
  ],
  semitransparent: [
    "semi transparent",
    "semi-transparent",
    "semitransparent",
    "half transparent",
    "translucent",
    "see through",
  ],
  "preset:instagram": ["instagram", "insta", "instagram post", "instagram square", "ig"],
  "preset:story": [
    "instagram story",
    "instagram stories",
    "insta story",
    "story",
    "stories",
    "reel",
    "reels",
    "tiktok",
    "phone wallpaper",
  ],
  "preset:instagram-portrait": ["instagram portrait", "insta portrait"],
  "preset:twitter-header": ["twitter header", "twitter banner", "x header", "twitter cover"],
  "preset:twitter": ["twitter", "twitter post", "tweet"],
  "preset:facebook-cover": ["facebook cover", "facebook header", "facebook banner"],
  "preset:facebook": ["facebook", "facebook post", "fb", "fb post"],
  "preset:linkedin-banner": ["linkedin banner", "linkedin header", "linkedin cover", "linkedin background"],
  "preset:linkedin": ["linkedin", "linkedin post"],
  "preset:youtube": ["youtube thumbnail", "youtube", "yt thumbnail"],
  "preset:og": ["open graph", "og image", "social card", "link preview"],
  "preset:avatar": ["avatar", "profile picture", "profile pic", "profile photo"],
  "preset:hd": ["full hd", "1080p"],
  "preset:4k": ["4k", "ultra hd", "uhd"],
  widescreen: ["wide screen", "widescreen", "cinematic"],
  "black and white": [
    "black & white",
    "black-and-white",
    "b & w",
    "b/w",
    "remove the colour",
    "remove the color",
    "remove colour",
    "remove color",
    "no colour",
    "no color",
    "without colour",
    "without color",
    "colourless",
    "colorless",
    "drain the colour",
    "drain the color",
    "shades of grey",
    "shades of gray",
  ],
  threshold: ["pure black and white", "1 bit", "one bit", "two tone", "two-tone", "high contrast black and white"],
  oilpaint: ["oil paint", "oil painting", "oil-paint", "oil-painting", "painted"],
  autoorient: [
    "auto orient",
    "auto-orient",
    "auto rotate",
    "auto-rotate",
    "autorotate",
    "fix the orientation",
    "fix orientation",
    "correct orientation",
    "correct the orientation",
    "orientation",
    "fix rotation",
    "fix the rotation",
  ],
  autolevel: [
    "stretch the contrast",
    "stretch contrast",
    "contrast stretch",
    "auto level",
    "auto levels",
    "auto-level",
    "auto-levels",
    "auto contrast",
    "auto-contrast",
    "auto enhance",
    "auto-enhance",
    "autoenhance",
    "auto fix",
    "auto correct",
    "auto-correct",
  ],
  autocrop: ["auto crop", "auto-crop"],
  lightblue: ["light blue"],
  darkblue: ["dark blue"],
  lightgreen: ["light green"],
  darkgreen: ["dark green"],
  darkred: ["dark red"],
  lightgrey: ["light grey"],
  lightgray: ["light gray"],
  darkgrey: ["dark grey"],
  darkgray: ["dark gray"],
  skyblue: ["sky blue"],
  navy: ["navy blue"],
  ivory: ["off white", "offwhite", "eggshell"],
  gps: [
    "location data",
    "gps data",
    "location info",
    "location",
    "geolocation",
    "geotag",
    "geotags",
    "geo tags",
    "camera data",
    "camera info",
  ],
  noise: ["grain", "grainy", "graininess", "speckles", "speckle", "noise reduction"],
  stretch: [
    "ignoring the aspect ratio",
    "ignore the aspect ratio",
    "ignore aspect ratio",
    "ignoring aspect ratio",
    "without keeping the aspect ratio",
    "don't keep the aspect ratio",
    "distorting",
    "distorted",
  ],
  cover: [
    "and crop to fill",
    "and crop to fit",
    "crop to fill",
    "crop to fit",
    "and crop the rest",
    "and crop the excess",
  ],
  keepratio: [
    "keep the aspect ratio",
    "keep aspect ratio",
    "keeping the aspect ratio",
    "keeping aspect ratio",
    "keep the ratio",
    "keep the proportions",
    "keep proportions",
    "maintain the aspect ratio",
    "maintain aspect ratio",
    "maintaining the aspect ratio",
    "preserve the aspect ratio",
    "preserve aspect ratio",
    "preserving the aspect ratio",
    "proportionally",
    "in proportion",
  ],
  padsquare: [
    "pad to square",
    "pad to a square",
    "pad it to a square",
    "pad it square",
    "square with padding",
    "square with white bars",
    "square with bars",
    "square with black bars",
  ],
  longest: ["longest side", "long side", "longest edge", "long edge", "longer side", "biggest side"],
  shortest: [
    "shortest side",
    "short side",
    "shorter side",
    "shortest edge",
    "short edge",
    "shorter edge",
    "smaller side",
    "smallest side",
  ],
  atleast: ["at least", "no smaller than", "not smaller than", "no less than", "not less than"],
  muted: ["tone down the colours", "tone down the colors", "less colourful", "less colorful"],
  grayscale: ["gray scale", "grey scale", "greyscaled", "grayscaled"],
  webp: ["web", "the web", "for web", "for the web", "websites", "website"],
  "preset:720p": ["720p", "hd", "hd ready"],
  face: [
    "faces",
    "the face",
    "subject",
    "the subject",
    "person",
    "people",
    "important part",
    "interesting part",
    "main subject",
    "focal point",
  ],
  "remove-verb": ["get rid of", "take off", "take away", "strip off"],
  // "no colour changes" is not "no colour" (black and white): a wish for nothing, refused with a note
  keepcolour: ["colour", "colours", "color", "colors"].flatMap((c) => [
    `no ${c} change`,
    `no ${c} changes`,
    `no ${c} shift`,
    `no ${c} loss`,
    `no ${c} correction`,
    `no ${c} adjustment`,
    `no ${c} adjustments`,
    `without ${c} change`,
    `without ${c} changes`,
    `without ${c} loss`,
    `without changing the ${c}`,
    `without changing ${c}`,
    `without losing ${c}`,
    `keep the ${c}`,
    `keep ${c}`,
    `keep the original ${c}`,
    `keep it in ${c}`,
    `same ${c}`,
    `don't change the ${c}`,
    `do not change the ${c}`,
  ]),
  // "first" is a filler ("first resize, then ..."), but not in these: a frame of an animation is
  // no border, and no step picks one
  firstframe: ["first frame", "first frames", "first page", "first image", "first picture", "first photo"],
  // a part left out: no operation takes a mask, so these are never understood (see suggest.ts)
  except: [
    "everything but",
    "all but",
    "anything but",
    "everything except",
    "all except",
    "except for",
    "apart from",
    "everything apart from",
    "excluding",
    "other than",
    "everything other than",
  ],
  thumbnail: ["thumb", "thumbs", "thumbnails"],
  // the pixel size under other names ("half resolution", "downsample 2x")
  size: ["resolution", "res"],
  downscale: ["downsample", "down sample", "subsample"],
  upscale: ["upsample", "up sample"],
  resize: ["resample"],
};

/** The phrases that mean a key ("for the docs"). */
export function phrasesOf(key: string): readonly string[] {
  return LEXICON[key] ?? [];
}

/** Canonical keys of the shared language ("top-left", "amt:little", "noenlarge"). */
export const LEXICON_KEYS = new Set(Object.keys(LEXICON));
export const PHRASE_KEYS = new Map<string, string>();
const LEXICON_PHRASE_KEY = new Map<string, string>();
for (const [key, phrases] of Object.entries(LEXICON)) {
  for (const p of phrases) {
    const words = phraseWords(p);
    if (words.length > 1) {
      addPhrase(p, key);
      LEXICON_PHRASE_KEY.set(words.join(" "), key);
    } else PHRASE_KEYS.set(words[0], key);
  }
}

/** Catalog words -> the operations they name. Multi-word entries become phrases. */
export const TRIGGERS = new Map<string, OperationName[]>();

function addPhrase(phrase: string, key: string): void {
  const words = phraseWords(phrase);
  if (words.length < 2) return;
  const list = PHRASES.get(words[0]) ?? [];
  list.push({ words, key });
  list.sort((a, b) => b.words.length - a.words.length);
  PHRASES.set(words[0], list);
}

for (const def of catalog) {
  for (const w of def.words) {
    const words = phraseWords(w);
    // a catalog word the shared language already names ("auto-orient", "instagram") keeps that key
    const joined = words.join(" ");
    const key = (words.length > 1 ? LEXICON_PHRASE_KEY.get(joined) : PHRASE_KEYS.get(joined)) ?? joined;
    if (words.length > 1 && !LEXICON_PHRASE_KEY.has(joined)) addPhrase(w, key);
    const ops = TRIGGERS.get(key) ?? [];
    if (!ops.includes(def.name)) ops.push(def.name);
    TRIGGERS.set(key, ops);
  }
}

// "the short side 1080": a size the shorter side reaches (fit outside), as "the long side" is one the
// longer side reaches (a catalog word of resize)
TRIGGERS.set("shortest", ["resize"]);

/** Words that carry no meaning of their own: skipped wherever a clause has an operation. */
export const FILLERS = new Set([
  "please",
  "pls",
  "plz",
  "kindly",
  "the",
  "image",
  "images",
  "picture",
  "pictures",
  "photo",
  "photos",
  "photograph",
  "pic",
  "pics",
  "img",
  "it",
  "its",
  "it's",
  "this",
  "that",
  "these",
  "those",
  "them",
  "all",
  "my",
  "our",
  "your",
  "me",
  "us",
  "i",
  "i'd",
  "i'm",
  "we",
  "you",
  "can",
  "could",
  "would",
  "will",
  "should",
  "let's",
  "lets",
  "let",
  "want",
  "like",
  "need",
  "just",
  "now",
  "so",
  "be",
  "is",
  "are",
  "a",
  "an",
  "of",
  "to",
  "by",
  "at",
  "in",
  "into",
  "on",
  "onto",
  "with",
  "as",
  "for",
  "from",
  "and",
  "also",
  "then",
  "next",
  "finally",
  "first",
  "firstly",
  "secondly",
  "lastly",
  "afterwards",
  "plus",
  "ok",
  "okay",
  "hey",
  "hi",
  "thanks",
  "thank",
  "cheers",
  "do",
  "get",
  "version",
  "copy",
  "whole",
  "entire",
  "everything",
  "there",
  "here",
  "some",
  "bit",
  "little",
  "same",
  "one",
  "make",
  "add",
  "put",
  "apply",
  "give",
  "set",
  "change",
  "turn",
  "use",
  "adjust",
  "transform",
  "place",
  "insert",
  "have",
  "look",
  "looks",
  "become",
  "edit",
  "modify",
  "go",
  "bring",
  "effect",
  "filter",
  "style",
  "layer",
  "amount",
  "level",
  "create",
  "post",
  "posting",
  "upload",
  "uploading",
  "ready",
  "suitable",
  "friendly",
  "keepratio",
  "prepare",
  "generate",
  "produce",
  "while",
  "aspect",
  "ratio",
]);

// "X before Y" keeps the written order, so it joins like "then" ("after" would reverse it: not here)
const SEP_WORDS = new Set(["and", "then", "also", "next", "finally", "afterwards", "plus", "but", "before"]);

/** Words any parser may leave unconsumed without it being a misunderstanding. */
export function isIgnorable(item: Item): boolean {
  return item.key === "#sep" || item.key === "#punct" || (FILLERS.has(item.key) && !item.num);
}

/** Every word the planner knows (typo correction snaps to these). */
export const KNOWN_WORDS = new Set<string>();
/** One-deletion variants -> known words (symmetric-delete index: typo lookups cost O(length)). */
const DELETES = new Map<string, string[]>();
function deletions(w: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < w.length; i++) out.push(w.slice(0, i) + w.slice(i + 1));
  return out;
}
/** Extra words the grammar reads (keywords of parameters); registered by grammar.ts. */
export function registerKnownWords(words: Iterable<string>): void {
  for (const w of words) {
    if (KNOWN_WORDS.has(w) || w.includes(" ") || w.startsWith("#")) continue;
    KNOWN_WORDS.add(w);
    if (w.length < 3) continue;
    for (const d of [w, ...deletions(w)]) {
      const list = DELETES.get(d) ?? [];
      list.push(w);
      DELETES.set(d, list);
    }
  }
  typoCache.clear();
}
const typoCache = new Map<string, string | null>();

/**
 * The known word within one edit of `word` (words of 4+ letters), else undefined. A common
 * English word (english.ts) is never corrected: "cold" is not "old", "burn" not "turn"; it is
 * reported as not understood instead of silently becoming another edit.
 */
export function correctTypo(word: string): string | undefined {
  if (word.length < 4 || !/^[\p{L}]+$/u.test(word) || COMMON_ENGLISH_WORDS.has(word)) return undefined;
  const cached = typoCache.get(word);
  if (cached !== undefined) return cached ?? undefined;
  let best: string | undefined;
  for (const q of [word, ...deletions(word)]) {
    for (const cand of DELETES.get(q) ?? []) {
      if (editDistance(word, cand, 1) > 1) continue;
      // an operation's own word beats any other near word; then the first registered
      if (TRIGGERS.has(cand)) {
        best = cand;
        break;
      }
      best ??= cand;
    }
    if (best && TRIGGERS.has(best)) break;
  }
  if (typoCache.size > 10_000) typoCache.clear();
  typoCache.set(word, best ?? null);
  return best;
}

// Trigger words first so a typo prefers an operation over a filler.
registerKnownWords([...TRIGGERS.keys()]);
for (const list of PHRASES.values()) for (const p of list) registerKnownWords(p.words);
registerKnownWords(PHRASE_KEYS.keys());
registerKnownWords(FILLERS);
registerKnownWords(SEP_WORDS);
registerKnownWords(NUMBER_WORDS);
registerKnownWords(Object.keys(NAMED_COLORS));
registerKnownWords(["transparent", "jpeg", "jpg", "png", "webp", "avif", "gif", "tiff", "tif"]);

function itemFromToken(t: Token): Item {
  const base = { text: t.text, start: t.start, end: t.end };
  switch (t.kind) {
    case "number":
      return { ...base, key: "#num", num: { value: t.value ?? 0, unit: t.unit as Unit | undefined } };
    case "dims":
      return { ...base, key: "#dims", dims: { w: t.value, h: t.value2 ?? 0, unit: t.unit as Unit | undefined } };
    case "ratio":
      return { ...base, key: "#ratio", dims: { w: t.value ?? 0, h: t.value2 ?? 0 } };
    case "pair":
      return { ...base, key: "#pair", pair: { a: t.value ?? 0, b: t.value2 ?? 0 } };
    case "quote":
      return { ...base, key: "#quote", quote: t.inner ?? "" };
    case "url":
      return { ...base, key: "#url", url: t.text };
    case "hex":
      return { ...base, key: "#hex" };
    case "sep":
      return { ...base, key: "#sep" };
    case "punct":
      return { ...base, key: "#punct" };
    case "symbol":
      return { ...base, key: "#sym" };
    default:
      return { ...base, key: PHRASE_KEYS.get(t.norm) ?? (SEP_WORDS.has(t.norm) ? "#sepword" : t.norm) };
  }
}

/**
 * Verbs whose -ing form only ever means doing it. Not the ones whose -ing is also the thing
 * itself: "remove the vignetting" or "too much sharpening" must not add a vignette or sharpen.
 */
const GERUND_VERBS = new Set(
  (
    "add make convert save change turn put apply give set rotate flip mirror invert scale compress " +
    "brighten darken lighten export"
  ).split(" "),
);

/**
 * "as well as converting to webp", "before adding a border": the -ing form of a step's verb is
 * that verb (read before typo correction, which would make "adding" padding).
 */
function gerundOf(word: string): string | undefined {
  if (word.length < 6 || !word.endsWith("ing")) return undefined;
  const stem = word.slice(0, -3);
  const doubled = stem.length > 2 && stem.at(-1) === stem.at(-2) ? stem.slice(0, -1) : undefined;
  for (const w of [stem, `${stem}e`, doubled]) if (w && GERUND_VERBS.has(w) && KNOWN_WORDS.has(w)) return w;
  return undefined;
}

const UNIT_KEYS = new Set(["px", "%", "deg", "x"]);

/** Tokens -> items: typo fixes, phrases (longest first), number words, units and "A by B" sizes. */
export function lex(text: string): Item[] {
  const tokens = tokenize(text).filter(
    // hyphens and slashes inside words ("bottom-right", "auto-orient", "b/w") join words: drop them
    (t, i, all) =>
      !(
        t.kind === "punct" &&
        (t.text === "-" || t.text === "–" || t.text === "/") &&
        all[i - 1]?.end === t.start &&
        all[i + 1]?.start === t.end &&
        all[i - 1]?.kind === "word" &&
        all[i + 1]?.kind === "word"
      ),
  );
  const typos = new Map<number, string>();
  const norms = tokens.map((t, i) => {
    if (t.kind === "number" && !t.unit) return String(t.value);
    if (t.kind !== "word") return t.kind === "sep" ? t.norm : `#${t.kind}`;
    if (KNOWN_WORDS.has(t.norm)) return t.norm;
    const verb = gerundOf(t.norm);
    if (verb) return verb;
    const fixed = correctTypo(t.norm);
    if (fixed) {
      typos.set(i, t.text);
      return fixed;
    }
    return t.norm;
  });
  const items: Item[] = [];
  let i = 0;
  while (i < tokens.length) {
    const t = tokens[i];
    const span = (from: number, to: number, key: string): Item => {
      const typo = [...Array(to - from).keys()].map((k) => typos.get(from + k)).find(Boolean);
      return {
        key,
        text: text.slice(tokens[from].start, tokens[to - 1].end),
        start: tokens[from].start,
        end: tokens[to - 1].end,
        typo,
      };
    };
    // phrases: longest match first
    const cands = PHRASES.get(norms[i]);
    const phrase = cands?.find((p) => p.words.every((w, k) => norms[i + k] === w));
    if (phrase) {
      items.push(span(i, i + phrase.words.length, phrase.key));
      i += phrase.words.length;
      continue;
    }
    // number words: "two hundred and fifty", "a third", "double"
    if (t.kind === "word") {
      const read = readNumberWords(norms, i);
      if (read) {
        const single = read.end === i + 1 ? norms[i] : undefined;
        const item = span(i, read.end, single && TRIGGERS.has(single) ? single : "#num");
        item.num = { value: read.value, unit: read.unit };
        items.push(item);
        i = read.end;
        continue;
      }
    }
    const item = itemFromToken(t);
    if (t.kind === "word" && norms[i] !== t.norm) {
      item.key = PHRASE_KEYS.get(norms[i]) ?? (SEP_WORDS.has(norms[i]) ? "#sepword" : norms[i]);
      item.typo = t.text;
    }
    items.push(item);
    i++;
  }
  // merged items (a number and its unit, "800 by 600") report exactly the source text they span
  return attachUnits(items).map((it) => ({ ...it, text: text.slice(it.start, it.end) }));
}

function attachUnits(items: Item[]): Item[] {
  const out: Item[] = [];
  for (const [i, it] of items.entries()) {
    const prev = out[out.length - 1];
    // an "x" between two numbers makes a size (below), it is not the first one's multiplier
    const between = it.key === "x" && items[i + 1]?.num !== undefined;
    if (prev?.num && !prev.num.unit && UNIT_KEYS.has(it.key) && !between) {
      prev.num = { ...prev.num, unit: it.key as Unit };
      prev.end = it.end;
      prev.text = `${prev.text} ${it.text}`;
      continue;
    }
    if (prev?.dims && prev.key === "#dims" && !prev.dims.unit && it.key === "px") {
      prev.dims = { ...prev.dims, unit: "px" };
      prev.end = it.end;
      continue;
    }
    // "800 by 600", "16 by 9", "eight hundred x six hundred"
    const before = out[out.length - 2];
    if (
      it.num &&
      prev &&
      (prev.key === "by" || prev.key === "x") &&
      before?.num &&
      (before.num.unit === undefined || before.num.unit === "px") &&
      (it.num.unit === undefined || it.num.unit === "px") &&
      before.key === "#num"
    ) {
      out.splice(out.length - 2, 2, {
        key: "#dims",
        text: `${before.text} ${prev.text} ${it.text}`,
        start: before.start,
        end: it.end,
        dims: { w: before.num.value, h: it.num.value, unit: before.num.unit ?? it.num.unit },
      });
      continue;
    }
    out.push(it);
  }
  return out;
}

export function isSeparator(item: Item): boolean {
  return item.key === "#sep" || item.key === "#sepword";
}
