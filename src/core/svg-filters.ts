// SVG filter effects: librsvg renders each filter primitive into its own canvas-sized surface, in
// one uninterruptible call (libvips' time limit cannot stop it), so a 600-byte SVG applying one
// blur to a 10000x10000 canvas peaked at 2.8 GB and ran ~90 s past its time limit. The cost is
// read from the markup (no XML parser runs on the input) and held to a budget before rendering.
// What counts is what librsvg draws, not what the text holds: an element drawn again through
// <use>, a pattern, a marker, a mask, a clip path or a filter's feImage is drawn (and filtered) once
// per reference, and references to references multiply (ten levels of ten <use> are 10^10 copies).
import { ImageEditError } from "./errors.js";
import { decodeCssEscapes, hrefData, parseSvgMarkup, type SvgNode, svgText } from "./svg-embeds.js";

/** Filter primitives in one SVG: more is refused whatever the canvas. */
export const MAX_SVG_FILTER_PRIMITIVES = 32;
/**
 * Canvas pixels x (primitives applied + SURFACES): ~4 bytes each, so about 0.5 GB at most, and (at
 * 0.2-2 microseconds per pixel and primitive, measured) well inside the time limit that cannot stop it.
 */
export const MAX_SVG_FILTER_PIXELS = 128_000_000;
/** Surfaces librsvg holds besides one per primitive (measured: 2.8 GB for one blur on 100 Mpx). */
const SURFACES = 6;
/** Canvas pixels x feMorphology radius, summed over applications (about 2.7 ns each: ~11 s). */
export const MAX_SVG_MORPHOLOGY_WORK = 4_000_000_000;
/** Elements drawn again through references: more is refused whatever the canvas (~10 us each). */
export const MAX_SVG_COPIES = 100_000;
/**
 * Attribute values (path data above all) of the elements drawn again, in characters: a path costs
 * 10-25 ns a character to draw, up to 4 us when its segments cross every row (measured).
 */
export const MAX_SVG_COPIED_BYTES = 2_000_000;
/** Characters of text drawn again: librsvg lays text out at 40-300 us a character (measured). */
export const MAX_SVG_COPIED_TEXT = 20_000;
/**
 * Pixels of embedded images drawn again: librsvg decodes an image once but scales all of it for
 * every copy (a 4000x4000 one took 20 ms a copy, measured), so ~5 s at most.
 */
export const MAX_SVG_COPIED_IMAGE_PIXELS = 4_000_000_000;
/**
 * Copies x canvas pixels: a copy may cover the canvas (measured per pixel: 0.25 ns for a plain
 * rect, 1.4 ns with opacity, 13 ns with a mask), so at most ~25 s of rendering nothing can stop.
 */
export const MAX_SVG_COPY_PIXELS = 4_000_000_000;

// <feGaussianBlur>, <svg:feMorphology>, ... (element names cannot be escaped in XML)
const PRIMITIVE = /<(?:[\w.-]+:)?fe[A-Z][\w]*/g;
// CSS filter functions (filter="blur(5px)", style="filter: drop-shadow(...)"): one primitive each
const CSS_FUNCTION =
  /\b(?:blur|drop-shadow|brightness|contrast|grayscale|hue-rotate|invert|opacity|saturate|sepia)\s*\(/gi;
const MORPHOLOGY = /<(?:[\w.-]+:)?feMorphology\b[^>]*>/g;

const int = (n: number) => (n > 1e15 ? "more than 1,000,000,000,000,000" : Math.round(n).toLocaleString("en-US"));
const plural = (n: number) => (n === 1 ? "" : "s");

/** Refuses an SVG whose filters or copies would cost too much at its canvas size (width x height, px). */
export function checkSvgFilters(svg: Buffer, width: number, height: number): void {
  const text = svgText(svg);
  const written = (text.match(PRIMITIVE)?.length ?? 0) + (text.match(CSS_FUNCTION)?.length ?? 0);
  const canvas = `${width}x${height}`;
  if (written > MAX_SVG_FILTER_PRIMITIVES)
    throw new ImageEditError(
      "PIXEL_LIMIT",
      `the SVG has ${written} filter primitives; at most ${MAX_SVG_FILTER_PRIMITIVES} are accepted`,
      { details: { primitives: written, limit: MAX_SVG_FILTER_PRIMITIVES } },
    );
  const work = svgWork(svg);
  const pixels = width * height;
  const longest = (budget: number, per: number) =>
    Math.floor(Math.sqrt(budget / per / pixels) * Math.max(width, height));
  // Filters applied through references are counted as applied; one never applied still as written.
  const primitives = Math.max(written, work.primitives);
  const copies = pixels * (primitives + SURFACES);
  if (primitives > 0 && copies > MAX_SVG_FILTER_PIXELS) {
    const side = longest(MAX_SVG_FILTER_PIXELS, primitives + SURFACES);
    const what =
      primitives > written
        ? `the SVG applies filter primitives ${int(primitives)} times to a ${canvas} canvas (its ${written} primitive${plural(written)} drawn through <use> or other references, or on several elements): librsvg renders a canvas-sized copy per primitive applied`
        : `the SVG applies ${primitives} filter primitive${plural(primitives)} to a ${canvas} canvas: librsvg keeps a canvas-sized copy per primitive`;
    throw new ImageEditError(
      "PIXEL_LIMIT",
      `${what} (${int(copies)} pixels in all; the limit is ${int(MAX_SVG_FILTER_PIXELS)}): ${side >= 1 ? `give the SVG a width and height of at most ${side} px on the longer side, or use fewer filters` : "use fewer filters"}`,
      { details: { width, height, primitives, pixels: copies, limit: MAX_SVG_FILTER_PIXELS } },
    );
  }
  const again = "again through <use> and other references (patterns, markers, masks, clip paths, filters)";
  if (work.copies > MAX_SVG_COPIES)
    throw new ImageEditError(
      "PIXEL_LIMIT",
      `the SVG draws ${int(work.copies)} elements ${again}; at most ${int(MAX_SVG_COPIES)} are accepted`,
      { details: { copies: work.copies, limit: MAX_SVG_COPIES } },
    );
  if (work.bytes > MAX_SVG_COPIED_BYTES)
    throw new ImageEditError(
      "PIXEL_LIMIT",
      `the SVG draws elements whose path data and other attributes add up to ${int(work.bytes)} characters ${again}; at most ${int(MAX_SVG_COPIED_BYTES)} are accepted`,
      { details: { characters: work.bytes, limit: MAX_SVG_COPIED_BYTES } },
    );
  if (work.imagePixels > MAX_SVG_COPIED_IMAGE_PIXELS)
    throw new ImageEditError(
      "PIXEL_LIMIT",
      `the SVG draws embedded images with ${int(work.imagePixels)} pixels in all ${again}; the limit is ${int(MAX_SVG_COPIED_IMAGE_PIXELS)}`,
      { details: { pixels: work.imagePixels, limit: MAX_SVG_COPIED_IMAGE_PIXELS } },
    );
  if (work.text > MAX_SVG_COPIED_TEXT)
    throw new ImageEditError(
      "PIXEL_LIMIT",
      `the SVG draws ${int(work.text)} characters of text ${again}; at most ${int(MAX_SVG_COPIED_TEXT)} are accepted`,
      { details: { characters: work.text, limit: MAX_SVG_COPIED_TEXT } },
    );
  const copyPixels = work.copies * pixels;
  if (copyPixels > MAX_SVG_COPY_PIXELS) {
    const side = longest(MAX_SVG_COPY_PIXELS, work.copies);
    throw new ImageEditError(
      "PIXEL_LIMIT",
      `the SVG draws ${int(work.copies)} element${plural(work.copies)} again through <use> and other references on a ${canvas} canvas: librsvg renders every copy in one call the time limit cannot stop (${int(copyPixels)} pixels in all; the limit is ${int(MAX_SVG_COPY_PIXELS)}): ${side >= 1 ? `give the SVG a width and height of at most ${side} px on the longer side, or use fewer copies` : "use fewer copies"}`,
      { details: { width, height, copies: work.copies, pixels: copyPixels, limit: MAX_SVG_COPY_PIXELS } },
    );
  }
  for (const m of text.matchAll(MORPHOLOGY)) {
    const r = radius(/\bradius\s*=\s*["']([^"']*)["']/.exec(m[0])?.[1]);
    if (pixels * r > MAX_SVG_MORPHOLOGY_WORK)
      throw new ImageEditError(
        "PIXEL_LIMIT",
        `the SVG's feMorphology radius ${r} on a ${canvas} canvas is too much work (${int(Math.round(pixels * r))} pixel steps; the limit is ${int(MAX_SVG_MORPHOLOGY_WORK)}): use a smaller radius or canvas`,
        { details: { width, height, radius: r, limit: MAX_SVG_MORPHOLOGY_WORK } },
      );
  }
  if (pixels * work.morphology > MAX_SVG_MORPHOLOGY_WORK)
    throw new ImageEditError(
      "PIXEL_LIMIT",
      `the SVG's feMorphology radii, applied through <use> or other references or on several elements, add up to ${int(work.morphology)} on a ${canvas} canvas: too much work (${int(pixels * work.morphology)} pixel steps; the limit is ${int(MAX_SVG_MORPHOLOGY_WORK)}): use fewer copies, a smaller radius or a smaller canvas`,
      { details: { width, height, radius: work.morphology, limit: MAX_SVG_MORPHOLOGY_WORK } },
    );
}

/** The largest feMorphology radius in a `radius` attribute ("3" or "3 5"). */
function radius(value: string | undefined): number {
  return (value ?? "0")
    .split(/[\s,]+/)
    .map(Number)
    .reduce((max, r) => (Number.isFinite(r) && r > max ? r : max), 0);
}

interface Work {
  /** Elements drawn again through references, counting every copy of a copy. */
  copies: number;
  /** Their attribute values (path data, points, ...) in characters. */
  bytes: number;
  /** Their text, in characters. */
  text: number;
  /** Pixels of the embedded images among them (images of a size not read count as too many). */
  imagePixels: number;
  /** Filter primitives run, once per element the filter is drawn for. */
  primitives: number;
  /** feMorphology radii, summed likewise. */
  morphology: number;
}

/** The measures summed over everything drawn, in Work's order. */
const MEASURES = ["copies", "bytes", "text", "imagePixels", "primitives", "morphology"] as const;
/** The measures also summed over what references draw again. */
const COPIED = MEASURES.slice(0, 4);

// Drawn only when referenced, never as a child where they stand.
const NOT_DRAWN = new Set([
  "defs",
  "symbol",
  "clipPath",
  "mask",
  "pattern",
  "marker",
  "filter",
  "linearGradient",
  "radialGradient",
  "style",
  "script",
  "title",
  "desc",
  "metadata",
]);

/**
 * How a reference repeats what it points at: once; for every shape the property is inherited by
 * (fill and stroke patterns); for every shape and vertex (markers); or as a <use> copy.
 */
type Kind = "once" | "paint" | "marker" | "use";

/** Properties that reference other elements, the element each may point at, and how it repeats. */
const PROPERTIES: Record<string, [string, Kind]> = {
  filter: ["filter", "once"],
  mask: ["mask", "once"],
  "clip-path": ["clipPath", "once"],
  fill: ["pattern", "paint"],
  stroke: ["pattern", "paint"],
  marker: ["marker", "marker"],
  "marker-start": ["marker", "marker"],
  "marker-mid": ["marker", "marker"],
  "marker-end": ["marker", "marker"],
};
/** Elements whose href draws (or inherits the content of) the element it points at. */
const HREF_TARGETS: Record<string, [string | undefined, Kind]> = {
  use: [undefined, "use"],
  feImage: [undefined, "once"],
  pattern: ["pattern", "once"],
  filter: ["filter", "once"],
};

/** Edges (children and references) followed at most: a million elements, each referencing a few. */
const MAX_EDGES = 8_000_000;

/** Declarations that matter here: property and value (escapes decoded). */
type Declarations = [string, string][];

/**
 * What rendering `svg` costs, following every reference from the root. A reference back to an
 * element being drawn adds nothing: librsvg refuses circular references.
 */
function svgWork(svg: Buffer): Work {
  const markup = parseSvgMarkup(svg);
  // librsvg parsed it already (the header was read): markup a tokenizer cannot follow is refused
  // rather than drawn unmeasured.
  if (!markup)
    throw new ImageEditError(
      "UNSUPPORTED_FORMAT",
      "imgedit cannot follow the SVG's markup to bound the work of rendering it: it is not well-formed XML",
    );
  const { nodes } = markup;
  const n = nodes.length;
  // librsvg resolves a duplicated id to its first element, and reads ids as written.
  const ids = new Map<string, number>();
  for (const [i, node] of nodes.entries()) {
    const id = node.attrs.get("id");
    if (id !== undefined && !ids.has(id)) ids.set(id, i);
  }
  const matched = sheetDeclarations(nodes);
  // Edges, element by element: first the children it draws where they stand (drawn[e] of them),
  // then the elements it references.
  const start = new Uint32Array(n + 1);
  const drawn = new Uint32Array(n);
  const to: number[] = [];
  const kinds: Kind[] = [];
  // What drawing an element once costs by itself, per measure (see Work); vertices for markers.
  const own = MEASURES.map(() => new Float64Array(n));
  const [, ownBytes, ownText, ownImage, ownPrimitives, ownMorphology] = own;
  const ownVertices = new Float64Array(n);
  const refer = (id: string, local: string | undefined, kind: Kind) => {
    const t = ids.get(id);
    if (t === undefined || (local && nodes[t].local !== local)) return;
    if (to.length >= MAX_EDGES)
      throw new ImageEditError(
        "UNSUPPORTED_FORMAT",
        `the SVG has more than ${int(MAX_EDGES)} elements and references; imgedit cannot bound the work of rendering it`,
      );
    to.push(t);
    kinds.push(kind);
  };
  for (const [i, node] of nodes.entries()) {
    start[i] = to.length;
    for (const c of node.children)
      if (!NOT_DRAWN.has(nodes[c].local)) {
        to.push(c);
        kinds.push("once");
      }
    drawn[i] = to.length - start[i];
    const href = HREF_TARGETS[node.local];
    if (href)
      for (const [name, value] of node.attrs)
        if (name === "href" || name.endsWith(":href")) {
          const v = value.trim();
          if (v.startsWith("#")) refer(v.slice(1), href[0], href[1]);
        }
    const declarations: Declarations = [];
    for (const [name, value] of node.attrs) {
      if (name in PROPERTIES) declarations.push([name, decodeCssEscapes(value)]);
      else if (name === "style") for (const d of parseDeclarations(decodeCssEscapes(value))) declarations.push(d);
    }
    for (const d of matched[i] ?? []) declarations.push(d);
    for (const [property, value] of declarations) {
      const [local, kind] = PROPERTIES[property];
      for (const m of value.matchAll(/url\(\s*["']?\s*#([^"')\s]+)/gi)) refer(m[1], local, kind);
      if (property === "filter") ownPrimitives[i] += value.match(CSS_FUNCTION)?.length ?? 0;
    }
    own[0][i] = 1;
    for (const [name, value] of node.attrs) {
      const isHref = name === "href" || name.endsWith(":href");
      // An image's data: URL is decoded once; what each copy costs is scaling its pixels.
      if (!isHref) ownBytes[i] += value.length;
      else if (node.local === "image" || node.local === "feImage") {
        const data = hrefData(value);
        if (data) ownImage[i] += rasterPixels(data);
      }
    }
    if (!NOT_DRAWN.has(node.local)) ownText[i] = node.textLength;
    if (/^fe[A-Z]/.test(node.local)) ownPrimitives[i] += 1;
    if (node.local === "feMorphology") ownMorphology[i] = radius(node.attrs.get("radius"));
    ownVertices[i] = vertices(node);
  }
  start[n] = to.length;

  // Depth-first from the root, without recursion (nesting may be 100k deep), children and
  // references alike; each element's cost is computed once, after everything it draws.
  const state = new Uint8Array(n); // 0 unseen, 1 being drawn, 2 done
  const total = MEASURES.map(() => new Float64Array(n)); // drawing it once, everything it draws included
  const copied = COPIED.map(() => new Float64Array(n)); // of which drawn again through references
  const shapes = new Float64Array(n); // elements a property it sets is inherited by
  const verts = new Float64Array(n);
  const cursor = start.slice(0, n);
  const stack = [0];
  state[0] = 1;
  while (stack.length) {
    const e = stack[stack.length - 1];
    if (cursor[e] < start[e + 1]) {
      const t = to[cursor[e]++];
      if (state[t] === 0) {
        state[t] = 1;
        stack.push(t);
      }
      continue;
    }
    stack.pop();
    state[e] = 2;
    // Anything not done yet is being drawn: a circular reference, where librsvg draws nothing.
    let sh = 1;
    let vx = ownVertices[e];
    for (let k = start[e]; k < start[e + 1]; k++)
      if (state[to[k]] === 2 && (k < start[e] + drawn[e] || kinds[k] === "use")) {
        sh += shapes[to[k]];
        vx += verts[to[k]];
      }
    shapes[e] = sh;
    verts[e] = vx;
    for (let m = 0; m < MEASURES.length; m++) {
      let sum = own[m][e];
      let again = 0;
      for (let k = start[e]; k < start[e + 1]; k++) {
        const t = to[k];
        if (state[t] !== 2) continue;
        // A child is drawn where it stands; whatever a reference draws is drawn again.
        if (k < start[e] + drawn[e]) {
          sum += total[m][t];
          if (m < COPIED.length) again += copied[m][t];
        } else {
          const w = kinds[k] === "paint" ? sh : kinds[k] === "marker" ? sh + vx : 1;
          sum += w * total[m][t];
          again += w * total[m][t];
        }
      }
      total[m][e] = sum;
      if (m < COPIED.length) copied[m][e] = again;
    }
  }
  return {
    copies: copied[0][0],
    bytes: copied[1][0],
    text: copied[2][0],
    imagePixels: copied[3][0],
    primitives: total[4][0],
    morphology: total[5][0],
  };
}

/**
 * Width x height from a raster's header (PNG, GIF, WebP, JPEG), as librsvg's decoders read it;
 * Infinity for anything else (the embedded-image check refuses what is no image).
 */
function rasterPixels(b: Buffer): number {
  const ascii = (from: number, to: number) => b.toString("latin1", from, to);
  if (b.length >= 24 && b.readUInt32BE(0) === 0x89504e47) return b.readUInt32BE(16) * b.readUInt32BE(20);
  if (b.length >= 10 && ascii(0, 3) === "GIF") return b.readUInt16LE(6) * b.readUInt16LE(8);
  if (b.length >= 30 && ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") {
    const chunk = ascii(12, 16);
    if (chunk === "VP8X") return (b.readUIntLE(24, 3) + 1) * (b.readUIntLE(27, 3) + 1);
    if (chunk === "VP8L") {
      const v = b.readUInt32LE(21);
      return ((v & 0x3fff) + 1) * (((v >>> 14) & 0x3fff) + 1);
    }
    if (chunk === "VP8 ") return (b.readUInt16LE(26) & 0x3fff) * (b.readUInt16LE(28) & 0x3fff);
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    // The first start-of-frame marker (SOF0-SOF15 but DHT, JPG and DAC).
    for (let i = 2; i + 9 <= b.length; ) {
      if (b[i] !== 0xff || b[i + 1] === 0xff) {
        i++;
        continue;
      }
      const m = b[i + 1];
      if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc)
        return b.readUInt16BE(i + 5) * b.readUInt16BE(i + 7);
      i += m === 0x01 || (m >= 0xd0 && m <= 0xd8) ? 2 : 2 + b.readUInt16BE(i + 2);
    }
  }
  return Number.POSITIVE_INFINITY;
}

/** Vertices a marker is drawn at, at most: one per number in a path or point list. */
function vertices(node: SvgNode): number {
  if (node.local === "line") return 2;
  const data =
    node.local === "path"
      ? node.attrs.get("d")
      : node.local === "polyline" || node.local === "polygon"
        ? node.attrs.get("points")
        : undefined;
  return data ? (data.match(/[\d.]+|[zZ]/g)?.length ?? 0) : 0;
}

/** `property: value` pairs of a declaration block, for the properties that reference elements. */
function parseDeclarations(block: string): Declarations {
  const out: Declarations = [];
  for (const m of block.matchAll(/(?:^|[;{\s])([a-z-]+)\s*:([^;]*)/gi)) {
    const property = m[1].toLowerCase();
    if (property in PROPERTIES) out.push([property, m[2]]);
  }
  return out;
}

interface Rule {
  /** Subjects of the selector list: type (or "*"), ids and classes each must have; undefined matches all. */
  subjects: { type: string; ids: string[]; classes: string[] }[] | undefined;
  declarations: Declarations;
}

/** Pairs of element and rule tried before giving up on matching a style sheet (about a second). */
const MAX_MATCHING = 5_000_000;

/**
 * The declarations style sheets (<style> elements) give each element, for the properties that
 * reference elements. Selectors are matched loosely (on type, id and class only; combinators,
 * attributes and pseudo-classes ignored), so a rule may apply to more elements than it does in
 * librsvg, never fewer.
 */
function sheetDeclarations(nodes: SvgNode[]): Declarations[] {
  const rules: Rule[] = [];
  for (const node of nodes) if (node.local === "style") parseRules(withoutComments(node.text), rules);
  const out: Declarations[] = [];
  if (!rules.length) return out;
  const byKey = new Map<string, number[]>();
  const anyElement: number[] = [];
  for (const [r, rule] of rules.entries()) {
    if (!rule.subjects) {
      anyElement.push(r);
      continue;
    }
    for (const subject of rule.subjects) {
      const key = subject.ids.length
        ? `#${subject.ids[0]}`
        : subject.classes.length
          ? `.${subject.classes[0]}`
          : subject.type !== "*"
            ? subject.type.toLowerCase()
            : undefined;
      if (key === undefined) anyElement.push(r);
      else {
        const list = byKey.get(key);
        if (list) list.push(r);
        else byKey.set(key, [r]);
      }
    }
  }
  const tried = new Int32Array(rules.length).fill(-1);
  let matching = 0;
  for (const [i, node] of nodes.entries()) {
    const id = node.attrs.get("id")?.trim();
    const classes = (node.attrs.get("class") ?? "").split(/\s+/).filter(Boolean);
    const keys = [node.local.toLowerCase(), ...(id ? [`#${id}`] : []), ...classes.map((c) => `.${c}`)];
    for (const r of [...anyElement, ...keys.flatMap((k) => byKey.get(k) ?? [])]) {
      if (tried[r] === i) continue;
      tried[r] = i;
      if (++matching > MAX_MATCHING)
        throw new ImageEditError(
          "UNSUPPORTED_FORMAT",
          "the SVG's style sheets are too large for imgedit to bound the work of rendering it",
        );
      const rule = rules[r];
      const hit =
        !rule.subjects ||
        rule.subjects.some(
          (sub) =>
            (sub.type === "*" || sub.type.toLowerCase() === node.local.toLowerCase()) &&
            sub.ids.every((x) => x === id) &&
            sub.classes.every((c) => classes.includes(c)),
        );
      if (hit) {
        matching += rule.declarations.length;
        const mine = out[i] ?? [];
        for (const d of rule.declarations) mine.push(d);
        out[i] = mine;
      }
    }
  }
  return out;
}

function withoutComments(css: string): string {
  let out = "";
  let i = 0;
  for (;;) {
    const open = css.indexOf("/*", i);
    if (open < 0) return out + css.slice(i);
    out += css.slice(i, open);
    const close = css.indexOf("*/", open + 2);
    if (close < 0) return out;
    i = close + 2;
  }
}

/** Qualified rules (and those inside @media and other blocks) whose declarations reference elements. */
function parseRules(css: string, rules: Rule[]): void {
  let start = 0;
  let i = 0;
  while (i < css.length) {
    const c = css[i];
    if (c === '"' || c === "'") {
      const end = css.indexOf(c, i + 1);
      i = end < 0 ? css.length : end + 1;
    } else if (c === ";" || c === "}") {
      start = ++i;
    } else if (c === "{") {
      const prelude = css.slice(start, i).trim();
      // An at-rule's block (@media, @supports) is read as rules where it stands; its "}" is a separator.
      if (prelude.startsWith("@")) {
        start = ++i;
        continue;
      }
      const close = blockEnd(css, i + 1);
      const declarations = parseDeclarations(decodeCssEscapes(css.slice(i + 1, close)));
      if (declarations.length) rules.push({ subjects: subjects(prelude), declarations });
      start = i = close + 1;
    } else i++;
  }
}

/** The index of the "}" closing a block opened before `from` (strings skipped), or the end. */
function blockEnd(css: string, from: number): number {
  let depth = 1;
  for (let i = from; i < css.length; i++) {
    const c = css[i];
    if (c === '"' || c === "'") {
      const end = css.indexOf(c, i + 1);
      if (end < 0) return css.length;
      i = end;
    } else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return i;
  }
  return css.length;
}

/** The subject (last compound) of each selector, or undefined (matches all) where it is unclear. */
function subjects(prelude: string): Rule["subjects"] {
  // Escapes could hide any name: such a rule applies everywhere.
  if (prelude.includes("\\")) return undefined;
  // Arguments of pseudo-classes (:not(...), :is(...)) and attribute selectors are dropped.
  let flat = "";
  let depth = 0;
  for (const c of prelude) {
    if (c === "(" || c === "[") depth++;
    else if (c === ")" || c === "]") depth = Math.max(0, depth - 1);
    else if (depth === 0) flat += c;
  }
  return flat.split(",").map((selector) => {
    const trimmed = selector.trim();
    let from = trimmed.length;
    while (from > 0 && !" \t\n\r\f>+~".includes(trimmed[from - 1])) from--;
    const compound = trimmed.slice(from).replace(/^[^|]*\|/, "");
    const plain = compound.replace(/::?[\w-]*/g, "");
    return {
      type: /^[A-Za-z_][\w-]*/.exec(plain)?.[0] ?? "*",
      ids: [...plain.matchAll(/#([^#.\s]+)/g)].map((m) => m[1]),
      classes: [...plain.matchAll(/\.([^#.\s]+)/g)].map((m) => m[1]),
    };
  });
}
