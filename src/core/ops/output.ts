// How the result is written: format, quality, metadata.
import { z } from "zod";
import { defineOperation, OUTPUT_FORMATS, type OutputFormat, opSchema } from "./define.js";

const formatName = z.preprocess(
  (v) =>
    typeof v === "string"
      ? (({ jpg: "jpeg", tif: "tiff" } as Record<string, string>)[v.toLowerCase()] ?? v.toLowerCase())
      : v,
  z.enum(OUTPUT_FORMATS),
);

/**
 * The formats each option of a format step changes (the encoder ignores it for the others, so a
 * step giving it for another format is refused rather than silently doing nothing). TIFF takes a
 * quality on purpose: it is then written JPEG-compressed (docs/readme/core.md).
 */
export const FORMAT_OPTIONS = {
  quality: ["jpeg", "webp", "avif", "tiff"],
  lossless: ["webp", "avif"],
} as const satisfies Record<string, readonly OutputFormat[]>;

/** Why an option does nothing for a format, when there is more to say than "it does not apply". */
const NOT_APPLICABLE: Partial<Record<`${keyof typeof FORMAT_OPTIONS}:${OutputFormat}`, string>> = {
  "quality:png": "png is always lossless",
  "quality:gif": "gif has no quality setting",
  "lossless:png": "png is always lossless",
  "lossless:gif": "gif is written with at most 256 colours",
  "lossless:jpeg": "jpeg is always lossy",
  "lossless:tiff": "tiff is lossless unless it has a quality",
};

const listed = (names: readonly string[]) =>
  names.length < 2 ? names.join("") : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;

export const format = defineOperation({
  name: "format",
  family: "output",
  summary:
    "Convert to jpeg, png, webp, avif, gif or tiff; quality 1-100 for jpeg, webp, avif and tiff (JPEG-compressed); lossless for webp and avif.",
  schema: opSchema("format", {
    format: formatName,
    quality: z
      .number()
      .int()
      .min(1)
      .max(100)
      .describe(`only for ${listed(FORMAT_OPTIONS.quality)}`)
      .optional(),
    lossless: z
      .boolean()
      .describe(`only for ${listed(FORMAT_OPTIONS.lossless)}`)
      .optional(),
  }).superRefine((o, ctx) => {
    for (const [option, formats] of Object.entries(FORMAT_OPTIONS) as [
      keyof typeof FORMAT_OPTIONS,
      readonly OutputFormat[],
    ][]) {
      if (o[option] === undefined || formats.includes(o.format)) continue;
      const why = NOT_APPLICABLE[`${option}:${o.format}`];
      ctx.addIssue({
        code: "custom",
        path: [option],
        message: `${option} applies only to ${listed(formats)}, not ${o.format}${why ? ` (${why})` : ""}`,
      });
    }
  }),
  describe: (o) =>
    `Convert to ${o.format.toUpperCase()}${o.quality ? `, quality ${o.quality}` : ""}${o.lossless ? ", lossless" : ""}`,
  words: [
    "format",
    "convert",
    "save",
    "export",
    "compress",
    "optimize",
    "optimise",
    "file size",
    "quality",
    "lossless",
    "jpeg",
    "jpg",
    "png",
    "webp",
    "avif",
    "gif",
    "tiff",
    "tif",
  ],
  keepsAnimation: true,
  output: (settings, o) => ({
    ...settings,
    format: o.format,
    quality: o.quality ?? settings.quality,
    lossless: o.lossless,
  }),
});

export const metadata = defineOperation({
  name: "metadata",
  family: "output",
  summary: "Keep (true) or strip (false, the default) EXIF, ICC and other metadata.",
  schema: opSchema("metadata", { keep: z.boolean() }),
  describe: (o) => (o.keep ? "Keep metadata" : "Strip metadata"),
  words: ["metadata", "exif", "strip", "privacy", "gps", "location data", "geotag"],
  keepsAnimation: true,
  output: (settings, o) => ({ ...settings, keepMetadata: o.keep }),
});
