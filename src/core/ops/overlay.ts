// Things drawn on top: text and image watermarks.
import { z } from "zod";
import { colorSchema, defineOperation, notImplemented, opSchema, positionSchema } from "./define.js";

export const text = defineOperation({
  name: "text",
  family: "overlay",
  summary: "Draw text at a position; size in px (default 5% of the image height), colour, opacity 0-1.",
  schema: opSchema("text", {
    text: z.string().min(1).max(500),
    position: positionSchema.default("bottom-right"),
    size: z.number().int().min(4).max(2000).optional(),
    color: colorSchema.default("white"),
    opacity: z.number().min(0).max(1).default(0.8),
  }),
  describe: (o) => `Add text "${o.text}" at ${o.position}`,
  words: ["text", "caption", "label", "write", "copyright", "put", "add", "stamp", "say", "words"],
  keepsAnimation: true,
  apply: notImplemented,
});

export const watermark = defineOperation({
  name: "watermark",
  family: "overlay",
  summary: "Overlay another image (by URL) at a position; scale is its width relative to the image's (0.01-1).",
  schema: opSchema("watermark", {
    url: z.string().url().max(2048),
    position: positionSchema.default("bottom-right"),
    opacity: z.number().min(0).max(1).default(0.5),
    scale: z.number().min(0.01).max(1).default(0.25),
  }),
  describe: (o) => `Watermark with ${o.url} at ${o.position}`,
  words: ["watermark", "logo", "overlay"],
  keepsAnimation: true,
  apply: notImplemented,
});
