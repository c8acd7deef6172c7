// Images an SVG carries inline as data: URLs (<image href>, xlink:href, CSS url()). librsvg decodes
// each one at its own full size whatever the canvas is, so the limits must be checked against them
// before rendering. A small tokenizer (tags, attributes, text; no entity expansion, no XML parser
// runs on the input) finds every place librsvg reads a URL from, and each is read the way
// librsvg's URL parser (WHATWG, via the url and data-url crates) reads it.
import { isUtf8 } from "node:buffer";
import { ImageEditError } from "./errors.js";

/** More data: URLs than this in one SVG is refused outright (each costs a header probe). */
export const MAX_SVG_EMBEDS = 64;

/** One element, as the tokenizer saw it. */
export interface SvgNode {
  /** The local name (`rect` for `svg:rect`). */
  local: string;
  /** Attribute values by qualified name, references decoded and whitespace normalized as libxml2 does. */
  attrs: ReadonlyMap<string, string>;
  children: number[];
  /** Style elements: their direct text and CDATA children, concatenated, as librsvg reads the sheet. */
  text: string;
  /** Characters of direct text and CDATA other than whitespace (what a text element lays out), as written. */
  textLength: number;
}

export interface SvgMarkup {
  /** Elements in document order; the root is nodes[0]. */
  nodes: SvgNode[];
  /** Processing instructions and DOCTYPE declarations, raw (xml-stylesheet loads its href). */
  instructions: string[];
}

/** librsvg refuses a document with more elements ("cannot load more than 1000000 XML elements"). */
const MAX_ELEMENTS = 1_000_000;
// Shared by the elements that have none (a 10 MB SVG can hold a million elements).
const NO_ATTRIBUTES: ReadonlyMap<string, string> = new Map();
const NO_CHILDREN: number[] = [];

/**
 * The elements of a well-formed SVG, or undefined where the text is not well-formed XML as far as a
 * tokenizer can tell (libxml2 then refuses it too). DOCTYPE entities never get here: sniffing
 * refuses an internal subset, and libxml2 refuses an undefined entity.
 */
export function parseSvgMarkup(svg: Buffer): SvgMarkup | undefined {
  // XML reads CRLF and lone CR as LF before anything else.
  const s = svg
    .toString("utf8")
    .replace(/^\ufeff/, "")
    .replace(/\r\n?/g, "\n");
  const nodes: SvgNode[] = [];
  const instructions: string[] = [];
  const open: number[] = [];
  const names: string[] = [];
  // XML whitespace only (CR is gone): a JavaScript \s also matches characters XML names may hold.
  const NAME = /[^ \t\n/>]+/y;
  const ATTR = /[ \t\n]*([^ \t\n=/>]+)[ \t\n]*=[ \t\n]*(["'])/y;
  let i = 0;
  while (i < s.length) {
    const lt = s.indexOf("<", i);
    const top = open.length ? nodes[open[open.length - 1]] : undefined;
    if (top) top.textLength += visible(s, i, lt < 0 ? s.length : lt);
    if (top?.local === "style") top.text += decodeXmlReferences(s.slice(i, lt < 0 ? s.length : lt));
    if (lt < 0) break;
    let end: number;
    if (s.startsWith("<!--", lt)) {
      end = s.indexOf("-->", lt + 4);
      if (end < 0) return undefined;
      i = end + 3;
    } else if (s.startsWith("<![CDATA[", lt)) {
      end = s.indexOf("]]>", lt + 9);
      if (end < 0 || !top) return undefined;
      top.textLength += visible(s, lt + 9, end);
      if (top.local === "style") top.text += s.slice(lt + 9, end);
      i = end + 3;
    } else if (s.startsWith("<?", lt)) {
      end = s.indexOf("?>", lt + 2);
      if (end < 0) return undefined;
      instructions.push(s.slice(lt + 2, end));
      i = end + 2;
    } else if (s.startsWith("<!", lt)) {
      // A DOCTYPE, before the root only: its literals may hold ">"; an internal subset never
      // passed sniffing.
      if (!s.startsWith("<!DOCTYPE", lt) || nodes.length) return undefined;
      end = lt + 9;
      while (end < s.length && s[end] !== ">") {
        if (s[end] === "[") return undefined;
        end = s[end] === '"' || s[end] === "'" ? s.indexOf(s[end], end + 1) + 1 : end + 1;
        if (end === 0) return undefined;
      }
      instructions.push(s.slice(lt, end + 1));
      i = end + 1;
    } else if (s.startsWith("</", lt)) {
      end = s.indexOf(">", lt);
      let close = end;
      while (close > lt + 2 && " \t\n".includes(s[close - 1])) close--;
      if (end < 0 || s.slice(lt + 2, close) !== names.pop()) return undefined;
      open.pop();
      i = end + 1;
    } else {
      NAME.lastIndex = lt + 1;
      const name = NAME.exec(s)?.[0];
      if (!name || (!open.length && nodes.length) || nodes.length >= MAX_ELEMENTS) return undefined;
      const node: SvgNode = {
        local: name.slice(name.indexOf(":") + 1),
        attrs: NO_ATTRIBUTES,
        children: NO_CHILDREN,
        text: "",
        textLength: 0,
      };
      if (top) {
        if (top.children === NO_CHILDREN) top.children = [];
        top.children.push(nodes.length);
      }
      nodes.push(node);
      let attrs: Map<string, string> | undefined;
      i = lt + 1 + name.length;
      for (;;) {
        ATTR.lastIndex = i;
        const a = ATTR.exec(s);
        if (!a) break;
        const close = s.indexOf(a[2], ATTR.lastIndex);
        if (close < 0) return undefined;
        const raw = s.slice(ATTR.lastIndex, close);
        if (raw.includes("<")) return undefined;
        // Attribute-value normalization: literal tab and newline become spaces, references do not.
        attrs ??= new Map();
        attrs.set(a[1], decodeXmlReferences(raw.replace(/[\t\n]/g, " ")));
        i = close + 1;
      }
      if (attrs) node.attrs = attrs;
      const tail = /[ \t\n]*(\/?)>/y;
      tail.lastIndex = i;
      const t = tail.exec(s);
      if (!t) return undefined;
      if (!t[1]) {
        open.push(nodes.length - 1);
        names.push(name);
      }
      i = tail.lastIndex;
    }
  }
  return open.length || !nodes.length ? undefined : { nodes, instructions };
}

/** Characters of s[from, to) other than XML whitespace. */
function visible(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a) n++;
  }
  return n;
}

/** Where librsvg may read a URL: the readings of its text that may reach the URL parser. */
interface Place {
  readings: string[];
  /** A style sheet or xml-stylesheet instruction: a data: URL here may be loaded as CSS. */
  sheet: boolean;
  /** Not tokenized (malformed XML): a data: URL may start anywhere. */
  anywhere?: boolean;
}

/** The decoded bytes of every data: URL in `svg`, in order. */
export function svgDataUrls(svg: Buffer): Buffer[] {
  const markup = parseSvgMarkup(svg);
  // Attributes and style sheets are read as written and, as CSS may parse them, with escapes decoded.
  const css = (text: string) => [text, decodeCssEscapes(text)];
  const places: Place[] = markup
    ? [
        ...markup.nodes.flatMap((n) => [
          ...[...n.attrs.values()].map((text) => ({ readings: css(text), sheet: false })),
          ...(n.local === "style" ? [{ readings: css(n.text), sheet: true }] : []),
        ]),
        // librsvg decodes references in xml-stylesheet's pseudo-attributes: read both ways.
        ...markup.instructions.map((text) => ({ readings: [text, decodeXmlReferences(text)], sheet: true })),
      ]
    : // librsvg refuses malformed XML; should it not, every reading is checked.
      [{ readings: css(decodeXmlReferences(svg.toString("utf8"))), sheet: true, anywhere: true }];
  const out: Buffer[] = [];
  for (const place of places) {
    // A URL that reads the same both ways counts once.
    const seen = new Set<string>();
    const [first, second] = place.readings;
    for (const text of second === first ? [first] : place.readings) {
      for (const url of dataUrls(text, place.anywhere ?? false)) {
        if (seen.has(url.key)) continue;
        seen.add(url.key);
        // librsvg loads a stylesheet from any data: URL whatever its media type; text that passed
        // for an image (a valid UTF-8 TIFF, say) could restyle the SVG with references no scan sees.
        if (place.sheet && readsAsText(url.bytes, url.base64))
          throw new ImageEditError(
            "UNSUPPORTED_FORMAT",
            "the SVG has a data: URL holding text in a <style> element or xml-stylesheet instruction: librsvg would load it as a stylesheet, which imgedit cannot check; an SVG may embed only raster images",
          );
        out.push(url.bytes);
      }
    }
  }
  return out;
}

// "data:" as the URL parser reads a scheme: any case, with tabs and newlines anywhere (it drops them).
const SCHEME = /d[\t\n\r]*a[\t\n\r]*t[\t\n\r]*a[\t\n\r]*:/gi;
// A base64 body: the alphabet, percent-escapes and ASCII whitespace. Anything else makes librsvg's
// forgiving-base64 decode fail, so the URL decodes to nothing and may be cut there.
const BASE64_RUN = /[A-Za-z0-9+/=%\t\n\f\r ]*/y;
// A percent-encoded body, up to the first character whose meaning depends on where the URL stands
// (whitespace, quotes, parentheses, backslash, non-ASCII) or "#" (the fragment): what is read is
// then the start of what librsvg decodes, enough for the header probe; a header cut short fails it.
const OPAQUE_RUN = /[!$-&*-;=?-[\]-~]*/y;

interface DataUrl {
  /** The header and body as written, to tell the same URL read two ways. */
  key: string;
  bytes: Buffer;
  base64: boolean;
}

/** The bytes of the data: URL an href (of an <image>, say) holds, if it holds one. */
export function hrefData(href: string): Buffer | undefined {
  return dataUrls(href, false)[0]?.bytes;
}

/** The data: URLs in one attribute value, style sheet or instruction. */
function dataUrls(text: string, anywhere: boolean): DataUrl[] {
  const out: DataUrl[] = [];
  let comma = -1;
  let lastBody = -1;
  for (const m of text.matchAll(SCHEME)) {
    const at = m.index ?? 0;
    if (!anywhere && !opensUrl(text, at)) continue;
    const header = at + m[0].length;
    // The first "," or "#" from here (kept across matches: the scan stays linear).
    if (comma < header) {
      const stop = /[,#]/g;
      stop.lastIndex = header;
      comma = stop.exec(text)?.index ?? text.length;
    }
    // No comma before the fragment: not a data: URL librsvg decodes.
    if (text[comma] !== ",") continue;
    const body = comma + 1;
    if (body === lastBody) continue;
    lastBody = body;
    const base64 = isBase64(text.slice(header, comma));
    const run = base64 ? BASE64_RUN : OPAQUE_RUN;
    run.lastIndex = body;
    let payload = run.exec(text)?.[0] ?? "";
    let bytes: Buffer;
    if (base64) {
      bytes = Buffer.from(
        percentDecode(payload)
          .toString("latin1")
          .replace(/[\t\n\f\r ]/g, ""),
        "base64",
      );
    } else {
      // Cut at the next data: URL, which is read on its own (so the scan stays linear).
      const next = payload.search(/data:/i);
      if (next >= 0) payload = payload.slice(0, next);
      bytes = percentDecode(payload);
    }
    out.push({ key: `${text.slice(header, comma)},${payload}`, bytes, base64 });
  }
  return out;
}

/**
 * Whether "data:" at `at` can open a URL: the URL parser trims leading C0 controls and spaces, and
 * a URL is a whole attribute value, a CSS string or the inside of url(). Anything else before it
 * ("metadata:", "x data:") makes it part of another scheme or no URL at all.
 */
function opensUrl(text: string, at: number): boolean {
  let i = at - 1;
  while (i >= 0 && text.charCodeAt(i) <= 0x20) i--;
  return i < 0 || "(\"'=".includes(text[i]);
}

/** data-url's rule: after trimming, the header ends in ";base64" (spaces may follow the ";"). */
function isBase64(header: string): boolean {
  const h = header.replace(/[\t\n\r]/g, "");
  let end = h.length;
  while (end > 0 && h[end - 1] === " ") end--;
  if (end < 7 || h.slice(end - 6, end).toLowerCase() !== "base64") return false;
  let i = end - 7;
  while (i >= 0 && h[i] === " ") i--;
  return i >= 0 && h[i] === ";";
}

/** Valid UTF-8, allowing a sequence cut at the end of a body read only in part. */
function readsAsText(bytes: Buffer, whole: boolean): boolean {
  if (isUtf8(bytes)) return true;
  if (whole) return false;
  for (let cut = 1; cut <= 3 && cut <= bytes.length; cut++) if (isUtf8(bytes.subarray(0, -cut))) return true;
  return false;
}

/** The SVG's text as librsvg reads it: character references and CSS escapes decoded. */
export function svgText(svg: Buffer): string {
  return decodeCssEscapes(decodeXmlReferences(svg.toString("utf8")));
}

function decodeXmlReferences(s: string): string {
  const named: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };
  return s.replace(/&(?:#x([0-9a-f]+)|#([0-9]+)|(lt|gt|amp|quot|apos));/gi, (all, hex, dec, name) => {
    if (name) return named[name.toLowerCase()];
    const code = hex ? Number.parseInt(hex, 16) : Number(dec);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : all;
  });
}

/** CSS escapes as cssparser reads them: hex (one whitespace after), an escaped newline, any other character. */
export function decodeCssEscapes(s: string): string {
  if (!s.includes("\\")) return s;
  return s.replace(
    /\\(?:([0-9a-f]{1,6})(?:\r\n|[ \t\n\r\f])?|(\r\n|[\n\r\f])|([\s\S]))?/gi,
    (_all, hex, newline, char) => {
      if (hex) {
        const code = Number.parseInt(hex, 16);
        return code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff) ? String.fromCodePoint(code) : "\ufffd";
      }
      if (newline) return "";
      return char ?? "\ufffd";
    },
  );
}

function percentDecode(s: string): Buffer {
  const bytes = Buffer.from(s, "utf8");
  const out = Buffer.alloc(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const hex = bytes[i] === 0x25 && i + 2 < bytes.length ? bytes.toString("latin1", i + 1, i + 3) : "";
    if (/^[0-9a-f]{2}$/i.test(hex)) {
      out[n++] = Number.parseInt(hex, 16);
      i += 2;
    } else out[n++] = bytes[i];
  }
  return out.subarray(0, n);
}
