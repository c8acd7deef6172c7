// Size and shape: resize, scale, crop, trim, pad, border, rotate, flip, autoOrient.
import { z } from "zod";
import { colorSchema, defineOperation, notImplemented, opSchema, POSITIONS } from "./define.js";

const side = z.number().int().min(1).max(100_000);

export const resize = defineOperation({
  name: "resize",
  family: "geometry",
  summary: "Resize to a width and/or height; fit says how the aspect ratio is kept.",
  schema: opSchema("resize", {
    width: side.optional(),
    height: side.optional(),
    fit: z.enum(["inside", "cover", "contain", "fill", "outside"]).default("inside"),
    withoutEnlargement: z.boolean().default(false),
    background: colorSchema.optional(),
  }).refine((o) => o.width !== undefined || o.height !== undefined, {
    message: "resize needs a width, a height, or both",
    path: ["width"],
  }),
  describe: (o) => {
    const box = `${o.width ?? "auto"}x${o.height ?? "auto"}`;
    const verb = {
      inside: "Resize to fit",
      cover: "Resize to cover",
      contain: "Resize into",
      fill: "Stretch to",
      outside: "Resize to at least",
    }[o.fit];
    return `${verb} ${box}${o.withoutEnlargement ? " (never enlarge)" : ""}`;
  },
  words: [
    "resize",
    "size",
    "shrink",
    "enlarge",
    "downsize",
    "upsize",
    "width",
    "height",
    "wide",
    "tall",
    "smaller",
    "bigger",
    "larger",
    "thumbnail",
    "fit",
  ],
  keepsAnimation: true,
  apply: notImplemented,
});

export const scale = defineOperation({
  name: "scale",
  family: "geometry",
  summary: "Scale both sides by a factor (0.5 = half size, 2 = double).",
  schema: opSchema("scale", { factor: z.number().positive().max(20) }),
  describe: (o) => `Scale by ${Math.round(o.factor * 1000) / 10}%`,
  words: ["scale", "half", "double", "triple", "quarter"],
  keepsAnimation: true,
  apply: notImplemented,
});

export const crop = defineOperation({
  name: "crop",
  family: "geometry",
  summary:
    'Crop a region (left, top, width, height), a size at a gravity, or an aspect ratio ("16:9"); gravity attention/entropy crops smartly.',
  schema: opSchema("crop", {
    left: z.number().int().min(0).optional(),
    top: z.number().int().min(0).optional(),
    width: side.optional(),
    height: side.optional(),
    aspectRatio: z
      .string()
      .regex(/^\d+(\.\d+)?:\d+(\.\d+)?$/, "aspect ratio looks like 16:9 or 1:1")
      .optional(),
    gravity: z.enum([...POSITIONS, "attention", "entropy"]).default("center"),
  }).superRefine((o, ctx) => {
    const region = o.left !== undefined || o.top !== undefined;
    if (o.aspectRatio !== undefined) {
      if (o.width !== undefined || o.height !== undefined || region)
        ctx.addIssue({
          code: "custom",
          message: "crop takes an aspectRatio or a size, not both",
          path: ["aspectRatio"],
        });
      const [w, h] = o.aspectRatio.split(":").map(Number);
      if (!(w > 0 && h > 0))
        ctx.addIssue({ code: "custom", message: "aspect ratio sides must be above 0", path: ["aspectRatio"] });
      return;
    }
    if (o.width === undefined || o.height === undefined)
      ctx.addIssue({ code: "custom", message: "crop needs width and height (or an aspectRatio)", path: ["width"] });
  }),
  describe: (o) => {
    if (o.aspectRatio) return `Crop to ${o.aspectRatio} (${o.gravity})`;
    if (o.left !== undefined || o.top !== undefined)
      return `Crop ${o.width}x${o.height} at (${o.left ?? 0}, ${o.top ?? 0})`;
    return `Crop to ${o.width}x${o.height} (${o.gravity})`;
  },
  words: ["crop", "cut", "square", "aspect", "ratio", "portrait", "landscape"],
  keepsAnimation: true,
  apply: notImplemented,
});

export const trim = defineOperation({
  name: "trim",
  family: "geometry",
  summary: "Trim borders that match the top-left pixel's colour (threshold = tolerance 0-255).",
  schema: opSchema("trim", { threshold: z.number().min(0).max(255).default(10) }),
  describe: (o) => `Trim edges (tolerance ${o.threshold})`,
  words: ["trim", "autocrop", "whitespace", "edges"],
  keepsAnimation: false,
  apply: notImplemented,
});

const edge = z.number().int().min(0).max(10_000).default(0);
export const pad = defineOperation({
  name: "pad",
  family: "geometry",
  summary: "Add space around the image (per side, in px) filled with a colour.",
  schema: opSchema("pad", { top: edge, right: edge, bottom: edge, left: edge, color: colorSchema.default("white") }),
  describe: (o) => `Pad ${o.top}/${o.right}/${o.bottom}/${o.left} px with ${o.color}`,
  words: ["pad", "padding", "extend", "margin", "space"],
  keepsAnimation: true,
  apply: notImplemented,
});

export const border = defineOperation({
  name: "border",
  family: "geometry",
  summary: "Add a border of the given width (px) and colour on every side.",
  schema: opSchema("border", { width: z.number().int().min(1).max(5_000), color: colorSchema.default("black") }),
  describe: (o) => `Add a ${o.width}px ${o.color} border`,
  words: ["border", "frame", "outline"],
  keepsAnimation: true,
  apply: notImplemented,
});

export const rotate = defineOperation({
  name: "rotate",
  family: "geometry",
  summary: "Rotate clockwise by any angle in degrees; the uncovered corners take the background colour.",
  schema: opSchema("rotate", {
    angle: z.number().min(-3600).max(3600),
    background: colorSchema.default("white"),
  }),
  describe: (o) => (o.angle < 0 ? `Rotate ${-o.angle}° counter-clockwise` : `Rotate ${o.angle}° clockwise`),
  words: ["rotate", "turn", "spin", "tilt", "straighten"],
  keepsAnimation: true,
  apply: notImplemented,
});

export const flip = defineOperation({
  name: "flip",
  family: "geometry",
  summary: "Mirror horizontally (left-right) or flip vertically (upside down).",
  schema: opSchema("flip", { direction: z.enum(["horizontal", "vertical"]).default("horizontal") }),
  describe: (o) => (o.direction === "horizontal" ? "Mirror left-right" : "Flip upside down"),
  words: ["flip", "mirror", "flop", "reflect", "upside"],
  keepsAnimation: true,
  apply: notImplemented,
});

export const autoOrient = defineOperation({
  name: "autoOrient",
  family: "geometry",
  summary: "Turn the image upright from its EXIF orientation (always done first anyway).",
  schema: opSchema("autoOrient", {}),
  describe: () => "Auto-orient from EXIF",
  words: ["orient", "upright", "autoorient", "auto-orient", "exif"],
  keepsAnimation: true,
  apply: notImplemented,
});
