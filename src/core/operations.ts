// The operation catalog: one entry per operation (schema + implementation), grouped by family
// in ./ops like sharp's lib/. The plan schema, the JSON Schema for the API docs and the LLM tool,
// the command planner's vocabulary and docs all derive from this list.
import { z } from "zod";
import {
  brightness,
  contrast,
  gamma,
  grayscale,
  hue,
  negate,
  normalize,
  posterize,
  saturation,
  sepia,
  temperature,
  threshold,
  tint,
} from "./ops/colour.js";
import type { OperationDef } from "./ops/define.js";
import { charcoal, oilPaint, polaroid, swirl, vignette } from "./ops/effects.js";
import { blur, median, sharpen } from "./ops/filters.js";
import { autoOrient, border, crop, flip, pad, resize, rotate, scale, trim } from "./ops/geometry.js";
import { format, metadata } from "./ops/output.js";
import { text, watermark } from "./ops/overlay.js";

export const catalog = [
  resize,
  scale,
  crop,
  trim,
  pad,
  border,
  rotate,
  flip,
  autoOrient,
  grayscale,
  sepia,
  negate,
  normalize,
  tint,
  brightness,
  contrast,
  saturation,
  hue,
  gamma,
  threshold,
  posterize,
  temperature,
  blur,
  sharpen,
  median,
  text,
  watermark,
  format,
  metadata,
  vignette,
  oilPaint,
  charcoal,
  swirl,
  polaroid,
] as const;

type Entry = (typeof catalog)[number];
export type OperationName = Entry["name"];

export const OPERATION_NAMES = catalog.map((d) => d.name) as OperationName[];

const byName = new Map<string, OperationDef>(catalog.map((d) => [d.name, d as unknown as OperationDef]));

export function getOperation(name: string): OperationDef | undefined {
  return byName.get(name);
}

export const OperationSchema = z.discriminatedUnion(
  "op",
  catalog.map((d) => d.schema) as unknown as [Entry["schema"], ...Entry["schema"][]],
);
export type Operation = z.output<typeof OperationSchema>;
export type OperationInput = z.input<typeof OperationSchema>;

export const PlanSchema = z.array(OperationSchema).min(1, "a plan needs at least one operation");
export type Plan = Operation[];

/** Readable one-line description of a step: "Resize to fit 800x800". */
export function describeOperation(op: Operation): string {
  const def = byName.get(op.op);
  return def ? def.describe(op as never) : op.op;
}

/** JSON Schema (draft 2020-12) of one operation, a plan, or the whole catalog. */
export function operationJsonSchema(name: OperationName): Record<string, unknown> {
  const def = byName.get(name);
  if (!def) throw new Error(`unknown operation ${name}`);
  return z.toJSONSchema(def.schema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
}

export function planJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(PlanSchema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
}
