// Images an SVG carries inline as data: URLs (<image href>, xlink:href, CSS url()). librsvg decodes
// each one at its own full size whatever the canvas is, so the limits must be checked against them
// before rendering. Pure text scan: no XML parser runs on the input.

/** More data: URLs than this in one SVG is refused outright (each costs a header probe). */
export const MAX_SVG_EMBEDS = 64;

// "data:" then the media type and parameters up to the comma. Anywhere in the text, not only in
// attributes we know: a false positive only costs a header probe (or a refusal), a miss a bomb.
const DATA_URL = /data:([^,"'()<>\s]*),/gi;
// The payload runs to the end of the attribute value or of the CSS url().
const PAYLOAD = /[^"'()<>]*/y;

/** The decoded bytes of every data: URL in `svg`, in order. */
export function svgDataUrls(svg: Buffer): Buffer[] {
  // Character references and CSS escapes reach librsvg decoded ("&#100;ata:", "\64 ata:"), so the
  // scan reads the text the same way. DOCTYPE entities never get here: sniffing refuses them.
  const text = svgText(svg);
  const out: Buffer[] = [];
  for (const m of text.matchAll(DATA_URL)) {
    PAYLOAD.lastIndex = (m.index ?? 0) + m[0].length;
    const payload = PAYLOAD.exec(text)?.[0] ?? "";
    const base64 = m[1].toLowerCase().split(";").includes("base64");
    out.push(base64 ? Buffer.from(payload.replace(/\s+/g, ""), "base64") : percentDecode(payload));
  }
  return out;
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

function decodeCssEscapes(s: string): string {
  return s.replace(/\\([0-9a-f]{1,6})\s?/gi, (all, hex) => {
    const code = Number.parseInt(hex, 16);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : all;
  });
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
