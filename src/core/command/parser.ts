// The planner: items -> clauses (split at "and", "then", commas, full stops, "&", "+") ->
// operations. Inside a clause, each operation named by a trigger word gets a chance to parse it
// and the reading that leaves the fewest words unexplained wins; a clause holding two edits
// without a joiner ("rotate 90 convert to webp") is split where the second trigger starts.
// Words nobody consumes are reported with their offsets; nothing is silently dropped.
import {
  describeOperation,
  getOperation,
  type Operation,
  type OperationInput,
  type OperationName,
  PlanSchema,
} from "../operations.js";
import { planIssues } from "../plan.js";
import {
  alwaysLossless,
  Clause,
  COMPRESS_QUALITY_ONLY,
  IMPLICIT_FORMAT,
  isColorItem,
  isInsetClause,
  isPositionItem,
  isSizeChangeItem,
  nothingToCompress,
  parserFor,
} from "./grammar.js";
import { noteFor, suggestFor } from "./suggest.js";
import { type Item, isIgnorable, isSeparator, lex, TRIGGERS } from "./vocabulary.js";

export const MAX_COMMAND_LENGTH = 1000;

export interface UnknownWord {
  word: string;
  start: number;
  end: number;
}
export interface CommandError {
  code: "COMMAND_NOT_UNDERSTOOD";
  message: string;
  unknown: UnknownWord[];
  suggestions: string[];
}
export type ParseResult = { ok: true; plan: Operation[]; steps: string[] } | { ok: false; error: CommandError };

interface Reading {
  ops: OperationInput[];
  unknown: Item[];
  errors: string[];
  /** Items to highlight with an error (the number a step rejected). */
  marks: Item[];
  /** Lower is better: unexplained words weigh most, then errors, then the number of steps. */
  cost: number;
  hasTrigger: boolean;
}

/** Verbs that name an operation only when nothing else does: "add a watermark" is no text. */
const WEAK_TRIGGERS = new Set(["add", "put"]);

function triggersIn(items: Item[]): OperationName[] {
  const ops: OperationName[] = [];
  for (const weak of [false, true])
    for (const it of items)
      if (WEAK_TRIGGERS.has(it.key) === weak)
        for (const op of TRIGGERS.get(it.key) ?? []) if (!ops.includes(op)) ops.push(op);
  return ops;
}

function readAs(items: Item[], op: OperationName): Reading {
  const c = new Clause(items);
  const triggers = items.filter((it) => TRIGGERS.get(it.key)?.includes(op));
  // triggers are marked after the parser ran: some carry values ("half", "webp", "square")
  const res = parserFor(op)(c, { op, triggers });
  for (const t of triggers) c.mark(t);
  const unknown = items.filter((it, i) => !c.used[i] && !isIgnorable(it));
  const errors = "error" in res ? [`${op}: ${res.error}`] : [];
  let ops = "ops" in res ? res.ops : [];
  const refusal = ops.map((o) => checkStep(o)).find(Boolean);
  if (refusal) {
    errors.push(refusalMessage(refusal, items));
    ops = [];
  }
  const marks = errors.length ? items.filter((it) => it.num || it.dims || it.pair) : [];
  const cost = unknown.length * 10 + errors.length * 6 + 1;
  // a number right after the operation's word that it could not use: say what it takes instead
  const stray = unknown.find((it) => {
    if (!(it.num || it.dims)) return false;
    let j = items.indexOf(it) - 1;
    while (j > 0 && isIgnorable(items[j])) j--;
    return triggers.includes(items[j]);
  });
  if (stray && errors.length === 0) {
    const takes = PARAM_HINTS[op];
    errors.push(`${op} ${takes ? `takes ${takes}` : "takes no number"}, not ${stray.text}`);
  }
  return { ops, unknown, errors, marks, cost, hasTrigger: true };
}

/** What an operation's number means, for "trim takes a tolerance 0-255, not 20px". */
const PARAM_HINTS: Partial<Record<OperationName, string>> = {
  trim: "a tolerance 0-255",
  sharpen: "a strength (sigma) 0.01-10",
  blur: "a strength (sigma) 0.3-1000",
  median: "an odd window size 3-15",
  border: "a width in px (1-5000)",
  pad: "a width in px (0-10000)",
  rotate: "an angle in degrees",
  hue: "an angle in degrees (-360 to 360)",
  gamma: "a value 1-3",
  threshold: "a level 0-255 or a percent",
  posterize: "a number of levels 2-32",
  temperature: "an amount -100 to 100 (above 0 warmer), e.g. warmer by 20",
  brightness: "a change (+10, -10%) or a multiplier (1.2, 2x)",
  contrast: "a change (+10, -10%) or a multiplier (1.2, 2x)",
  saturation: "a change (+10, -10%) or a multiplier (1.2, 2x)",
  vignette: "a strength 0.1-100",
  swirl: "an angle in degrees",
  oilPaint: "a radius 1-20",
  text: 'a font size as "size 40"',
};

/**
 * Why the catalog refuses a step: its schema's message, a decimal where it takes whole pixels
 * ("800.5px"), or a number out of range ("rotate 4000"). The last two are worded here, in
 * refusalMessage, naming what was written: zod's "expected int, received number" or "Too big:
 * expected number to be <=3600" means nothing to someone who wrote a command.
 */
type Refusal =
  | { message: string }
  | { op: string; field: string; decimal: number }
  | { op: string; field: string; value: number; limit: number; inclusive: boolean; too: "big" | "small" }
  | { op: string; field: string; length: number; limit: number; too: "big" | "small" };

const stepChecks = new Map<string, Refusal | undefined>();

/** Validates one step on its own so the message names the clause's operation (memoised). */
function checkStep(op: OperationInput): Refusal | undefined {
  const key = JSON.stringify(op);
  if (stepChecks.has(key)) return stepChecks.get(key);
  const refusal = validateStep(op);
  if (stepChecks.size > 5000) stepChecks.clear();
  stepChecks.set(key, refusal);
  return refusal;
}

function validateStep(op: OperationInput): Refusal | undefined {
  const def = getOperation(op.op);
  if (!def) return { message: `unknown operation ${op.op}` };
  const r = def.schema.safeParse(op);
  if (r.success) return undefined;
  const issue = r.error.issues[0];
  const field = issue.path.join(".");
  // the value at the issue's path (nested for crop's inset)
  let value: unknown = op;
  for (const k of issue.path) value = (value as Record<PropertyKey, unknown> | undefined)?.[k];
  // every integer a command can reach is a count of pixels (sizes, offsets, widths, windows)
  if (issue.code === "invalid_type" && issue.expected === "int" && typeof value === "number")
    return { op: op.op, field, decimal: value };
  if (issue.code === "too_big" || issue.code === "too_small") {
    let limit = Number(issue.code === "too_big" ? issue.maximum : issue.minimum);
    // zod's int() stops an unsafe integer before the field's own limit: name that limit instead
    if (Math.abs(limit) === Number.MAX_SAFE_INTEGER && typeof value === "number") {
      const safe = structuredClone(op) as Record<PropertyKey, unknown>;
      let at = safe;
      for (const k of issue.path.slice(0, -1)) at = at[k] as Record<PropertyKey, unknown>;
      at[issue.path[issue.path.length - 1]] = Math.sign(limit) * Number.MAX_SAFE_INTEGER;
      const again = validateStep(safe as OperationInput);
      if (again && "limit" in again && again.field === field) limit = again.limit;
    }
    const too = issue.code === "too_big" ? "big" : "small";
    if (typeof value === "number") return { op: op.op, field, value, limit, inclusive: issue.inclusive ?? true, too };
    if (typeof value === "string") return { op: op.op, field, length: [...value].length, limit, too };
  }
  // the catalog's own messages name their field ("quality applies only to ..."): say it once
  const named = field === "" || issue.message.startsWith(field);
  return { message: `${op.op}: ${named ? "" : `${field}: `}${issue.message}` };
}

/** How a parameter is called in a sentence ("an angle of 4000"); otherwise "a"/"an" + its name. */
const PARAM_NOUNS: Record<string, string> = {
  "scale.factor": "a scale factor",
  "hue.degrees": "a hue shift",
  "swirl.degrees": "a swirl",
  "polaroid.angle": "a tilt",
  "gamma.value": "a gamma",
  "threshold.value": "a threshold",
  "posterize.levels": "a level count",
  "temperature.amount": "a temperature change",
  "trim.threshold": "a tolerance",
  "blur.sigma": "a strength (sigma)",
  "sharpen.sigma": "a strength (sigma)",
  "median.size": "a window size",
  "text.size": "a text size",
  "border.width": "a border width",
  "pad.top": "padding",
  "pad.right": "padding",
  "pad.bottom": "padding",
  "pad.left": "padding",
  "crop.left": "an offset",
  "crop.top": "an offset",
  "crop.inset.top": "a margin",
  "crop.inset.right": "a margin",
  "crop.inset.bottom": "a margin",
  "crop.inset.left": "a margin",
  "watermark.scale": "a watermark scale",
};

function paramNoun(op: string, field: string): string {
  return PARAM_NOUNS[`${op}.${field}`] ?? `${/^[aeiou]/i.test(field) ? "an" : "a"} ${field}`;
}

function refusalMessage(r: Refusal, items: Item[]): string {
  if ("message" in r) return r.message;
  if ("length" in r)
    return `${r.op}: the ${r.field} is ${r.length} characters long; the ${r.too === "big" ? "longest" : "shortest"} is ${r.limit}`;
  if ("decimal" in r) {
    const said = items.find((it) =>
      [it.num?.value, it.dims?.w, it.dims?.h, it.pair?.a, it.pair?.b].includes(r.decimal),
    );
    return `${r.op}: ${r.field} must be a whole number of pixels, not ${said ? `"${said.text}"` : r.decimal}`;
  }
  // what was written: "4000 degrees" as it stands when it is that number; "800x6000" or "2500%"
  // (a factor of 25) after the value it gave
  const own = items.find((it) => it.num?.value === r.value);
  const within = items.find(
    (it) =>
      [it.dims?.w, it.dims?.h, it.pair?.a, it.pair?.b].includes(r.value) ||
      (it.num?.unit === "%" && Math.abs(it.num.value / 100 - r.value) < 1e-9),
  );
  const said = own ? own.text : within ? `${r.value} ("${within.text}")` : String(r.value);
  const what = `${paramNoun(r.op, r.field)} of ${said}`;
  if (r.too === "big")
    return r.inclusive
      ? `${r.op}: ${what} is more than the largest, ${r.limit}`
      : `${r.op}: ${what} is too large: it must be under ${r.limit}`;
  return r.inclusive
    ? `${r.op}: ${what} is less than the smallest, ${r.limit}`
    : `${r.op}: ${what} is too small: it must be more than ${r.limit}`;
}

// Number words that name a scale ("half", "twice") never start a step in mid-clause: "sharpen
// twice" is not "sharpen, then double the size".

/** Operations after whose word a size starts a resize: output settings, not image edits. */
const SIZE_MAY_FOLLOW = new Set<OperationName>(["format"]);

/** "webp 800px": a size right after another operation's word starts a resize of its own. */
function sizeAfterOtherStep(items: Item[], k: number): boolean {
  let j = k - 1;
  while (j > 0 && isIgnorable(items[j])) j--;
  const before = TRIGGERS.get(items[j]?.key) ?? [];
  // "compress by 20%", "jpeg at 80.5%", "webp 80.5%": an amount, or what can only be a quality, of
  // that step: read (or refused) there, never a resize of its own ("webp 150%", "png 50%" are sizes)
  const n = items[k].num;
  const quality = n?.unit === "%" && n.value <= 100 && !["png", "gif"].includes(items[j]?.key);
  return (
    isSize(items[k]) &&
    !TRIGGERS.has(items[k].key) &&
    items[k - 1]?.key !== "by" &&
    items[k - 1]?.key !== "at" &&
    !quality &&
    before.length > 0 &&
    // a number right after an operation that takes parameters is that operation's ("trim 20px",
    // "sharpen 50%", "border 5001px"): it is read (or refused) there, never a resize of its own
    before.every((op) => SIZE_MAY_FOLLOW.has(op))
  );
}

function isSize(it: Item): boolean {
  return (
    it.key === "#dims" || (it.num !== undefined && (it.num.unit === "px" || it.num.unit === "%" || it.num.unit === "x"))
  );
}

/** The best single-operation reading of a run of items. */
function readSegment(items: Item[]): Reading {
  const ops = triggersIn(items);
  // a size with no operation word ("800px webp") is a resize; so is a fraction with a size
  // change ("reduce to one third")
  const sized = items.some(isSize);
  // "max 1200": a cap with a bare number is a size too (as "max 1200px" is)
  const capped = items.some((it) => it.key === "atmost") && items.some((it) => it.num && it.num.unit === undefined);
  const inferred =
    ops.length === 0 &&
    (sized ||
      capped ||
      items.some((it) => it.key === "#ratio") ||
      (items.some((it) => it.num?.unit === "frac") && items.some(isSizeChangeItem)));
  if (inferred) ops.push(sized || capped || !items.some((it) => it.key === "#ratio") ? "resize" : "crop");
  // "remove 5% from the top and bottom": a margin cut off, with no operation word
  if ((ops.length === 0 || inferred) && !ops.includes("crop") && isInsetClause(items)) ops.push("crop");
  // "800x600 from the top left": a size placed somewhere is a region to keep (a resize has no
  // position); tried after the resize, so it wins only when it explains more words
  if (inferred && ops[0] === "resize" && items.some(isPositionItem)) ops.push("crop");
  // "make it 1200x1200 with white padding": padding to a box is a letterboxing resize; tried after
  // the pad, so it wins only when it explains more words
  if (
    !inferred &&
    !ops.some((op) => op !== "pad") &&
    items.some((it) => it.key === "#dims" && it.dims?.w !== undefined)
  )
    ops.push("resize");
  if (ops.length === 0) {
    const unknown = items.filter((it) => !isIgnorable(it));
    return { ops: [], unknown, errors: [], marks: [], cost: unknown.length * 10 + 3, hasTrigger: false };
  }
  let best: Reading | undefined;
  for (const op of ops) {
    const r = readAs(items, op);
    if (!best || r.cost < best.cost) best = r;
    if (best.cost <= 1) break;
  }
  // an inferred resize is still a clause without an operation word: it may continue its neighbour
  return inferred ? { ...(best as Reading), hasTrigger: false, cost: (best as Reading).cost + 2 } : (best as Reading);
}

const VERB_STARTS = new Set([
  "make",
  "add",
  "put",
  "apply",
  "give",
  "set",
  "turn",
  "change",
  "convert",
  "save",
  "then",
  "keep",
  "keeping",
  "preserve",
  "preserving",
  "retain",
  "remove",
  "delete",
  "strip",
  "with",
  "without",
]);
const MAX_SPLIT_POINTS = 12;
/** Operation words that are verbs: they may start a step without "and"/"then" before them. */
const STEP_VERBS = new Set(
  (
    "resize scale shrink enlarge downsize upsize downscale upscale stretch crop cut trim autocrop pad extend " +
    "rotate turn spin tilt straighten flip mirror flop reflect orient autoorient grayscale greyscale desaturate " +
    "invert negate normalize normalise enhance tint colorize colourise colourize brighten lighten darken dim " +
    "saturate blur soften smooth defocus sharpen crispen unblur deblur denoise despeckle median threshold " +
    "binarize binarise posterize posterise write put add stamp caption label watermark convert save export compress " +
    "optimize optimise strip swirl twirl twist whirl vignette halve double " +
    // names that cannot mean anything else: "800px webp", "resize to 800 black and white"
    "jpeg jpg png webp avif gif tiff tif sepia monochrome b&w bw"
  ).split(" "),
);
STEP_VERBS.add("black and white");

/** A clause: one reading, or several when splitting at a trigger explains more words. */
function readClause(items: Item[]): Reading {
  const points = [0];
  for (let k = 1; k < items.length; k++) {
    // "convert from png": a word after "from" is what the image comes from, never a step of its own
    if (items[k - 1].key === "from") continue;
    if ((TRIGGERS.has(items[k].key) && !items[k].num) || VERB_STARTS.has(items[k].key) || sizeAfterOtherStep(items, k))
      points.push(k);
  }
  if (points.length === 1 || points.length > MAX_SPLIT_POINTS) return readSegment(items);
  points.push(items.length);
  // best[j]: best reading of items[0 .. points[j])
  const best: (Reading | undefined)[] = [{ ops: [], unknown: [], errors: [], marks: [], cost: 0, hasTrigger: false }];
  for (let e = 1; e < points.length; e++) {
    for (let s = 0; s < e; s++) {
      const prev = best[s];
      if (!prev) continue;
      const seg = readSegment(items.slice(points[s], points[e]));
      // without a joiner, only a verb ("rotate 90 convert to webp") or a size starts a new step:
      // "blur the edges" is a blur with a word not understood, not a blur and a trim
      const start = items[points[s]];
      // (a verb we only guessed from a typo does not count: "smooth the skin" is not "... the spin")
      const verb = (STEP_VERBS.has(start.key) || VERB_STARTS.has(start.key)) && !start.typo;
      const joinless = s > 0 && !verb && !isSize(start) ? 10 : 0;
      const cost = prev.cost + seg.cost + joinless;
      if (!best[e] || cost < (best[e] as Reading).cost)
        best[e] = {
          ops: [...prev.ops, ...seg.ops],
          unknown: [...prev.unknown, ...seg.unknown],
          errors: [...prev.errors, ...seg.errors],
          marks: [...prev.marks, ...seg.marks],
          cost,
          hasTrigger: prev.hasTrigger || seg.hasTrigger,
        };
    }
  }
  return best[points.length - 1] as Reading;
}

/**
 * "thumbnails 150px and 300px": a size alone right after a resize is another image, and one
 * command makes one image (resizing the first result again would only blur it): refused.
 */
function secondSize(r: Reading, items: Item[], prev: Reading | undefined): Reading {
  const before = prev?.ops.at(-1)?.op;
  if (!(before === "resize" || before === "scale") || !r.ops.some((o) => o.op === "resize" || o.op === "scale"))
    return r;
  const sizes = items.filter(isSize);
  return {
    ...r,
    ops: [],
    errors: [
      ...r.errors,
      `two sizes one after the other (${sizes.map((s) => s.text).join(", ")} after a ${before}): one command makes one image, say one size`,
    ],
    marks: [...r.marks, ...sizes],
    cost: r.cost + 6,
  };
}

/** Words that say the whole image is meant: "add text 'hi', make the image bigger". */
const IMAGE_WORDS = new Set(["it", "its", "image", "images", "picture", "photo", "pic", "img", "everything", "whole"]);

/**
 * "add text 'hi' but bigger", "add text 'hi', smaller": a bare comparative right after text (or a
 * watermark) may mean the text's size as well as the image's, and scaling the image is not what
 * "but" suggests: refused, naming both.
 */
function bareComparative(r: Reading, items: Item[], prev: Reading | undefined): Reading {
  const overlay = prev?.ops.at(-1)?.op;
  if ((overlay !== "text" && overlay !== "watermark") || !r.ops.some((o) => o.op === "scale" || o.op === "resize"))
    return r;
  const said = items.filter((it) => !isIgnorable(it) || IMAGE_WORDS.has(it.key));
  if (!said.every((it) => isSizeChangeItem(it) || it.key.startsWith("amt:"))) return r;
  const words = said.map((it) => it.text).join(" ");
  return {
    ...r,
    ops: [],
    errors: [
      ...r.errors,
      overlay === "text"
        ? `"${words}" right after the text: the text or the image? Say e.g. text size 60 for the text, or make the image ${words}`
        : `"${words}" right after the watermark: the watermark or the image? Say e.g. scale 10% for the watermark, or make the image ${words}`,
    ],
    marks: [...r.marks, ...said],
    cost: r.cost + 6,
  };
}

function splitClauses(items: Item[]): Item[][] {
  const clauses: Item[][] = [[]];
  for (const it of items) {
    if (isSeparator(it)) {
      if (clauses[clauses.length - 1].length) clauses.push([]);
    } else clauses[clauses.length - 1].push(it);
  }
  return clauses.filter((c) => c.length > 0);
}

/** Output steps that cannot be merged into one: refused with this message. */
class OutputConflict extends Error {}

/** Format steps become one (they set how the result is written); the last explicit format wins. */
function mergeOutputSteps(ops: OperationInput[]): OperationInput[] {
  const formats = ops.filter((o) => o.op === "format") as (Record<string | symbol, unknown> & { op: "format" })[];
  let out = ops;
  if (formats.length > 1 || formats.some((f) => f[IMPLICIT_FORMAT])) {
    const explicit = formats.filter((f) => !f[IMPLICIT_FORMAT]);
    const names = [...new Set(explicit.map((f) => f.format as string))];
    // "convert to png and jpg": one image is written in one format
    if (names.length > 1)
      throw new OutputConflict(
        `two output formats (${names.join(" and ")}): one image is saved in one format, say one of them`,
      );
    const merged: Record<string, unknown> = { op: "format", format: (explicit.at(-1) ?? formats[0]).format };
    for (const f of formats) {
      if (f.quality !== undefined) merged.quality = f.quality;
      if (f.lossless !== undefined) merged.lossless = f.lossless;
    }
    // "compress, png": the only quality is the one compress chose, and a png takes none
    const qualities = formats.filter((f) => f.quality !== undefined);
    if (
      (merged.format === "png" || merged.format === "gif") &&
      qualities.length > 0 &&
      qualities.every((f) => f[COMPRESS_QUALITY_ONLY])
    )
      throw new OutputConflict(nothingToCompress(merged.format));
    // "make it lossless, save as png": png needs no asking
    if (merged.lossless && alwaysLossless(merged)) delete merged.lossless;
    const last = formats.at(-1);
    out = out.filter((o) => o.op !== "format" || o === last).map((o) => (o === last ? (merged as OperationInput) : o));
  }
  const metas = out.filter((o) => o.op === "metadata");
  // "keep the exif but remove the gps": metadata is kept or stripped as a whole
  if (new Set(metas.map((m) => m.keep)).size > 1)
    throw new OutputConflict(
      "keeping and stripping metadata in one command: metadata is kept or stripped as a whole (GPS cannot be removed on its own), say one of them",
    );
  if (metas.length > 1) out = out.filter((o) => o.op !== "metadata" || o === metas.at(-1));
  // "800 wide and 600 tall": one resize, not two
  const merged: OperationInput[] = [];
  for (const o of out) {
    const prev = merged.at(-1) as Record<string, unknown> | undefined;
    const cur = o as Record<string, unknown>;
    if (
      prev?.op === "resize" &&
      cur.op === "resize" &&
      ((prev.width !== undefined && prev.height === undefined && cur.width === undefined && cur.height !== undefined) ||
        (prev.height !== undefined && prev.width === undefined && cur.height === undefined && cur.width !== undefined))
    ) {
      merged[merged.length - 1] = {
        ...prev,
        ...cur,
        width: prev.width ?? cur.width,
        height: prev.height ?? cur.height,
      } as OperationInput;
      continue;
    }
    merged.push(o);
  }
  return merged;
}

function notUnderstood(message: string, unknown: Item[], suggestions: string[] = []): ParseResult {
  return {
    ok: false,
    error: {
      code: "COMMAND_NOT_UNDERSTOOD",
      message,
      unknown: unknown.map((u) => ({ word: u.text, start: u.start, end: u.end })),
      suggestions,
    },
  };
}

function explain(unknown: Item[], errors: string[], marks: Item[]): ParseResult {
  const suggestions: string[] = [];
  const parts: string[] = [];
  // suggestions for the first few words are enough (and keep a wall of nonsense cheap)
  for (const u of unknown.slice(0, 5))
    for (const s of suggestFor(u.key === "#sym" ? "" : u.text)) if (!suggestions.includes(s)) suggestions.push(s);
  if (unknown.length) {
    const words = unknown.map((u) => `"${u.text}"`).join(", ");
    parts.push(`I did not understand ${words}.`);
    for (const note of new Set(unknown.map((u) => noteFor(u.key) ?? noteFor(u.text)))) if (note) parts.push(`${note}.`);
  }
  for (const e of errors) parts.push(`${e.charAt(0).toUpperCase()}${e.slice(1)}.`);
  if (suggestions.length) parts.push(`Did you mean ${suggestions.slice(0, 5).join(", ")}?`);
  const highlight = [...new Set([...unknown, ...marks])].sort((a, b) => a.start - b.start);
  return notUnderstood(parts.join(" "), highlight, suggestions.slice(0, 5));
}

function plan(text: string, nested = false): ParseResult {
  if (typeof text !== "string") return notUnderstood("the command must be text", []);
  if (text.length > MAX_COMMAND_LENGTH)
    return notUnderstood(`the command is too long (${text.length} characters; at most ${MAX_COMMAND_LENGTH})`, []);
  const items = lex(text);
  // a whole command in quotes ("'resize to 800'") reads as text to draw; when the words inside
  // make an edit, which one was meant is not clear
  const inner = items.length === 1 && !nested ? items[0].quote : undefined;
  if (inner && plan(inner, true).ok)
    return notUnderstood(
      `the whole command is in quotes: say ${inner} without the quotes to edit the image, or add text '${inner}' to draw the words`,
      items,
    );
  const clauses = splitClauses(items);
  if (clauses.length === 0) return notUnderstood("the command is empty: say what to do, e.g. resize to 800px", []);
  for (const clause of clauses) {
    const mixed = percentBeforeFormat(clause);
    if (mixed) {
      const { n, f } = mixed;
      const v = n.num?.value;
      return notUnderstood(
        `"${n.text}" before ${f.key} is ambiguous: say scale to ${v}% for the size, or ${f.key} quality ${v}`,
        [n],
      );
    }
  }
  const readings = clauses.map(readClause);
  // A clause without an operation continues its neighbour: "resize to 800px, without enlarging".
  const kept: { items: Item[]; r: Reading }[] = [];
  for (let i = 0; i < readings.length; i++) {
    const r = readings[i];
    if (r.hasTrigger) {
      // a step that does not read well alone may finish the one before: "rotate 45, fill the corners with black"
      const prev = kept.at(-1);
      // "add text 'hi', size 40": the size of the text just added, not a resize to 40px
      // (and "watermark with <url>, scale 10%": the watermark's scale; "then scale the image" is not)
      const joiner = items[items.indexOf(clauses[i][0]) - 1];
      const textSize =
        (clauses[i][0]?.key === "size" && prev?.r.ops.some((o) => o.op === "text")) ||
        (clauses[i][0]?.key === "scale" &&
          prev?.r.ops.at(-1)?.op === "watermark" &&
          joiner?.text === "," &&
          !clauses[i].some((it) => IMAGE_WORDS.has(it.key)));
      if (prev && (r.unknown.length || r.errors.length || textSize)) {
        const items = [...prev.items, ...clauses[i]];
        const joined = readClause(items);
        if (joined.cost < prev.r.cost + r.cost || (textSize && joined.cost <= prev.r.cost)) {
          kept[kept.length - 1] = { items, r: joined };
          continue;
        }
      }
      kept.push({ items: clauses[i], r: bareComparative(r, clauses[i], prev?.r) });
      continue;
    }
    if (r.unknown.length === 0 && r.ops.length === 0 && r.errors.length === 0) continue; // only fillers: "thanks"
    // Choose what explains it best: joined to the step before or after, or a step of its own
    // (a bare size is a resize, a bare colour a tint), comparing the extra cost of each.
    const prev = kept.at(-1);
    const alone = secondSize(r, clauses[i], prev?.r);
    const options: { delta: number; apply: () => void }[] = [
      { delta: alone.cost, apply: () => kept.push({ items: clauses[i], r: alone }) },
    ];
    if (prev) {
      const items = [...prev.items, ...clauses[i]];
      const joined = readClause(items);
      const apply = () => (kept[kept.length - 1] = { items, r: joined });
      // "crop to square, 800x600": a size the crop before refuses is a conflict, not a resize
      if (prev.r.ops.some((o) => o.op === "crop") && joined.errors.length && !joined.unknown.length) {
        apply();
        continue;
      }
      options.push({ delta: joined.cost - prev.r.cost, apply });
    }
    const next = readings[i + 1];
    if (next?.hasTrigger) {
      const items = [...clauses[i], ...clauses[i + 1]];
      const joined = readClause(items);
      // "make it 80% and convert to webp": a size that reads alone stays a size; joined to the
      // format it would become the quality, and the resize would be gone
      const sizes = (x: Reading) => x.ops.filter((o) => o.op === "resize" || o.op === "scale").length;
      const sizeLost = alone.errors.length === 0 && sizes(alone) > 0 && sizes(joined) <= sizes(next);
      if (!sizeLost)
        options.push({
          delta: joined.cost - next.cost,
          apply: () => {
            readings[i + 1] = joined;
            clauses[i + 1] = items;
          },
        });
    }
    const own = (op: OperationName) => {
      const reading = secondSize(readAs(clauses[i], op), clauses[i], prev?.r);
      options.push({ delta: reading.cost, apply: () => kept.push({ items: clauses[i], r: reading }) });
    };
    if (clauses[i].some(isSize)) own("resize");
    if (clauses[i].some(isColorItem)) own("tint");
    if (clauses[i].some((it) => it.key === "#ratio")) own("crop");
    if (clauses[i].some((it) => it.key === "#quote")) own("text");
    options.reduce((a, b) => (b.delta < a.delta ? b : a)).apply();
  }
  // "it is upside down, fix it": "fix it" after another step points at that problem, it does not
  // ask for auto levels as well (alone, "fix it" does)
  if (kept.length > 1) {
    const vague = kept.find(
      (k) =>
        k.r.ops.length === 1 &&
        k.r.ops[0].op === "normalize" &&
        k.items.some((it) => it.key === "fix") &&
        k.items.every((it) => it.key === "fix" || isIgnorable(it)),
    );
    if (vague) {
      const said = vague.items.filter((it) => !isSeparator(it) && it.key !== "#punct");
      const words = text.slice(said[0].start, said.at(-1)?.end);
      vague.r = {
        ...vague.r,
        ops: [],
        errors: [`"${words}" next to another step: say what to fix, e.g. auto levels (to even out the tones)`],
        marks: said.filter((it) => it.key === "fix"),
      };
    }
  }
  // "1.000px": a thousands dot (1000 in much of Europe) or a decimal point (1)? Either reading is
  // a guess, and the wrong one is a thousandfold size.
  const dotted = items.find((it) => (it.num?.unit === "px" || it.dims) && /\d\.\d{3}(?!\d)/.test(it.text));
  if (dotted)
    return notUnderstood(
      `"${dotted.text}" is ambiguous: the dot may group thousands or mark decimals; write whole pixels without it, e.g. ${dotted.text.replace(/(\d)\.(\d{3})(?!\d)/g, "$1$2")}`,
      [dotted],
    );
  const unknown = kept.flatMap((k) => k.r.unknown);
  const errors = kept.flatMap((k) => k.r.errors);
  const marks = kept.flatMap((k) => k.r.marks);
  if (unknown.length || errors.length) return explain(unknown, errors, marks);
  let merged: OperationInput[];
  try {
    merged = mergeOutputSteps(kept.flatMap((k) => k.r.ops));
  } catch (e) {
    if (e instanceof OutputConflict) return notUnderstood(e.message, []);
    throw e;
  }
  const ops = merged.map((o) => {
    const { [IMPLICIT_FORMAT]: _, [COMPRESS_QUALITY_ONLY]: __, ...rest } = o as Record<string | symbol, unknown>;
    return rest as OperationInput;
  });
  if (ops.length === 0) {
    // only filler words: every word is "not understood" as an edit
    const words = items.filter((it) => !isSeparator(it) && it.key !== "#punct");
    return notUnderstood(
      "I found no edit in that command: say what to do, e.g. resize to 800px, rotate 90 degrees, convert to webp",
      words,
    );
  }
  // steps merged from several clauses ("convert to png, quality 80") are checked again as one
  const refusal = ops.map((o) => checkStep(o)).find(Boolean);
  if (refusal) return explain([], [refusalMessage(refusal, items)], []);
  const checked = PlanSchema.safeParse(ops);
  if (!checked.success) {
    const [issue] = planIssues(checked.error.issues, ops);
    return notUnderstood(`the plan is not valid: ${issue.field}: ${issue.message}`, []);
  }
  const conflict = conflictIn(checked.data);
  if (conflict) return notUnderstood(conflict, []);
  return { ok: true, plan: checked.data, steps: checked.data.map((op) => describeOperation(op)) };
}

const FORMAT_NAMES = new Set(["jpeg", "jpg", "png", "webp", "avif", "gif", "tiff", "tif"]);
/** Words that make a percent a quality ("80% quality", "compress 50% jpeg"). */
const QUALITY_CONTEXT = new Set(["quality", "q", "compress", "compressed", "compression", "optimize", "optimise"]);

/**
 * "make it 50% as a jpeg", "80% webp": "make it 50%" is a size everywhere else, "webp 80%" a
 * quality; a percent said before the format, with no word saying which, is either (a size word,
 * "resize to 50% as a jpeg", or "at 80% as webp" says which).
 */
function percentBeforeFormat(clause: Item[]): { n: Item; f: Item } | undefined {
  const sizeWord = (it: Item) => (TRIGGERS.get(it.key) ?? []).some((op) => op === "resize" || op === "scale");
  if (clause.some((it) => QUALITY_CONTEXT.has(it.key) || sizeWord(it) || it.key === "filesize")) return undefined;
  for (const [k, n] of clause.entries()) {
    if (n.num?.unit !== "%" || clause[k - 1]?.key === "at") continue;
    let j = k + 1;
    while (["as", "a", "an", "in", "into", "to", "the"].includes(clause[j]?.key ?? "")) j++;
    const f = clause[j];
    if (f && FORMAT_NAMES.has(f.key)) return { n, f };
  }
  return undefined;
}

/** Which way a tone step goes (1 up, -1 down): "brighter and darker" undo each other. */
const DIRECTION: Partial<Record<OperationName, (op: Record<string, unknown>) => number>> = {
  brightness: (o) => Math.sign(Number(o.factor) - 1),
  contrast: (o) => Math.sign(Number(o.factor) - 1),
  saturation: (o) => Math.sign(Number(o.factor) - 1),
  temperature: (o) => Math.sign(Number(o.amount)),
};

/**
 * Steps that contradict each other: two sizes, in a row or with steps between ("resize to 800 and
 * resize to 400": the first is lost, or the second blows a small image up), caps ("... max 2000")
 * aside, a
 * turn, flip or inversion undone by the next step, and one tone pushed both ways ("brighter and
 * darker"). Which was meant is not clear: refused.
 */
function conflictIn(ops: Operation[]): string | undefined {
  const isSize = (o: Operation) => o.op === "resize" || o.op === "scale";
  const capped = (o: Operation) => o.op === "resize" && o.withoutEnlargement === true;
  // two sizes with other steps between ("resize to 800, grayscale, resize to 400") are as unclear
  const sizes = ops.filter((o) => isSize(o) && !capped(o));
  if (sizes.length > 1) {
    const [a, b] = sizes;
    const next = ops.indexOf(b) === ops.indexOf(a) + 1;
    return `two sizes ${next ? "one after the other" : "in one command"} ("${describeOperation(a)}", then "${describeOperation(b)}"): one command makes one image, say one size`;
  }
  for (let i = 1; i < ops.length; i++) {
    const [a, b] = [ops[i - 1], ops[i]];
    // "rotate left and rotate right", "flip and flip": back where it started
    const undone =
      (a.op === "rotate" && b.op === "rotate" && (a.angle + b.angle) % 360 === 0) ||
      (a.op === "flip" && b.op === "flip" && a.direction === b.direction) ||
      (a.op === "negate" && b.op === "negate");
    if (undone) return `"${describeOperation(a)}" and "${describeOperation(b)}" undo each other: say one of them`;
  }
  for (let i = 0; i < ops.length; i++)
    for (let j = i + 1; j < ops.length; j++) {
      const dir = DIRECTION[ops[i].op];
      if (!dir || ops[j].op !== ops[i].op) continue;
      const [a, b] = [dir(ops[i] as never), dir(ops[j] as never)];
      if (a * b < 0)
        return `"${describeOperation(ops[i])}" and "${describeOperation(ops[j])}" undo each other: say one of them`;
    }
  return undefined;
}

/** Plain English -> plan. Pure and synchronous; never throws. */
export function parseCommand(text: string): ParseResult {
  try {
    return plan(text);
  } catch (e) {
    return notUnderstood(`the planner failed on this command: ${e instanceof Error ? e.message : String(e)}`, []);
  }
}
