// Colours are CSS-style names, hex (#rgb, #rgba, #rrggbb, #rrggbbaa) or rgb()/rgba().

export interface Rgba {
  r: number;
  g: number;
  b: number;
  /** 0..1 */
  alpha: number;
}

export const NAMED_COLORS: Readonly<Record<string, string>> = {
  black: "#000000",
  white: "#ffffff",
  red: "#ff0000",
  green: "#008000",
  lime: "#00ff00",
  blue: "#0000ff",
  navy: "#000080",
  yellow: "#ffff00",
  orange: "#ffa500",
  purple: "#800080",
  violet: "#ee82ee",
  magenta: "#ff00ff",
  fuchsia: "#ff00ff",
  pink: "#ffc0cb",
  cyan: "#00ffff",
  aqua: "#00ffff",
  teal: "#008080",
  brown: "#a52a2a",
  maroon: "#800000",
  olive: "#808000",
  gold: "#ffd700",
  silver: "#c0c0c0",
  gray: "#808080",
  grey: "#808080",
  lightgray: "#d3d3d3",
  lightgrey: "#d3d3d3",
  darkgray: "#a9a9a9",
  darkgrey: "#a9a9a9",
  beige: "#f5f5dc",
  ivory: "#fffff0",
  coral: "#ff7f50",
  salmon: "#fa8072",
  crimson: "#dc143c",
  indigo: "#4b0082",
  turquoise: "#40e0d0",
  skyblue: "#87ceeb",
  lightblue: "#add8e6",
  darkblue: "#00008b",
  darkgreen: "#006400",
  lightgreen: "#90ee90",
  darkred: "#8b0000",
  khaki: "#f0e68c",
  lavender: "#e6e6fa",
  tan: "#d2b48c",
  chocolate: "#d2691e",
  sepia: "#704214",
};

// The "#" is required: bare hex would make words such as "add", "bad" or "facade" colours.
const HEX = /^#([0-9a-f]{3}|[0-9a-f]{4}|[0-9a-f]{6}|[0-9a-f]{8})$/i;
const RGB = /^rgba?\((\d{1,3}),(\d{1,3}),(\d{1,3})(?:,(\d*\.?\d+)(%?))?\)$/;

/** Parse a colour name, hex string or rgb()/rgba(); undefined when it is none of them. */
export function parseColor(input: string): Rgba | undefined {
  const s = input
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, "");
  if (s === "transparent" || s === "none") return { r: 0, g: 0, b: 0, alpha: 0 };
  const rgb = RGB.exec(s);
  if (rgb) {
    const [r, g, b] = [rgb[1], rgb[2], rgb[3]].map(Number);
    const a = rgb[4] === undefined ? 1 : Number(rgb[4]) / (rgb[5] ? 100 : 1);
    if (r > 255 || g > 255 || b > 255 || !(a >= 0 && a <= 1)) return undefined;
    return { r, g, b, alpha: a };
  }
  const hex = NAMED_COLORS[s] ?? s;
  const m = HEX.exec(hex);
  if (!m) return undefined;
  let h = m[1];
  if (h.length <= 4) h = [...h].map((c) => c + c).join("");
  const n = (i: number) => Number.parseInt(h.slice(i, i + 2), 16);
  return { r: n(0), g: n(2), b: n(4), alpha: h.length === 8 ? Math.round((n(6) / 255) * 1000) / 1000 : 1 };
}

export function isColor(input: string): boolean {
  return parseColor(input) !== undefined;
}
