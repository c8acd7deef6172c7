// How the result is written: format, quality, metadata.
import { z } from "zod";
import { defineOperation, OUTPUT_FORMATS, opSchema } from "./define.js";

const formatName = z.preprocess(
  (v) =>
    typeof v === "string"
      ? (({ jpg: "jpeg", tif: "tiff" } as Record<string, string>)[v.toLowerCase()] ?? v.toLowerCase())
      : v,
  z.enum(OUTPUT_FORMATS),
);

export const format = defineOperation({
  name: "format",
  family: "output",
  summary: "Convert to jpeg, png, webp, avif, gif or tiff; quality 1-100 for lossy formats; lossless for webp/avif.",
  schema: opSchema("format", {
    format: formatName,
    quality: z.number().int().min(1).max(100).optional(),
    lossless: z.boolean().optional(),
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
