// The shape of one catalog entry: its schema is the single source of truth for what is accepted.
import type { Sharp } from "sharp";
import { z } from "zod";
import { isColor } from "../color.js";
import type { Limits } from "../limits.js";

export const POSITIONS = [
  "center",
  "top",
  "bottom",
  "left",
  "right",
  "top-left",
  "top-right",
  "bottom-left",
  "bottom-right",
] as const;
export type Position = (typeof POSITIONS)[number];

export const OUTPUT_FORMATS = ["jpeg", "png", "webp", "avif", "gif", "tiff"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const colorSchema = z
  .string()
  .min(1)
  .max(40)
  .refine(isColor, { message: "not a colour: use a name (white, red, ...) or hex (#ff8800)" });
export const positionSchema = z.enum(POSITIONS);

/** What a step knows about the image it receives (per frame for animations). */
export interface ImageMeta {
  width: number;
  /** Height of one frame (page); equals the full height for still images. */
  height: number;
  /** Frames: 1 for still images. */
  pages: number;
  channels: number;
  hasAlpha: boolean;
  /** The source format (jpeg, png, webp, gif, tiff, avif/heif, svg, ...). */
  sourceFormat: string;
}

/** How the result will be written; `format`/`metadata` steps change it, the pipeline applies it last. */
export interface OutputSettings {
  format: OutputFormat;
  quality?: number;
  lossless?: boolean;
  keepMetadata: boolean;
}

export interface ApplyContext {
  limits: Limits;
  /** Loads another image (watermarks); the service provides a safe fetcher. */
  loadAsset(url: string): Promise<Buffer>;
  signal?: AbortSignal;
  /**
   * `make` on each frame of `image` alone, the frames stacked again: for a step that decides only
   * from its options whether the strip can be taken whole (the pipeline's own frame loop).
   */
  eachFrame(image: Sharp, make: (frame: Sharp, meta: ImageMeta) => Sharp | Promise<Sharp>): Promise<Sharp>;
}

export interface StepContext extends ApplyContext {
  /** The image entering this step (after the previous step). */
  meta: ImageMeta;
}

/**
 * A pixel step: gets a sharp instance reading the previous step's output and returns the chain
 * to run (one resize/rotate per chain: the pipeline materialises between steps where needed).
 */
export type Apply<T> = (image: Sharp, op: T, ctx: StepContext) => Sharp | Promise<Sharp>;

/** An output step: changes how the result is written, not its pixels. */
export type ApplyOutput<T> = (settings: OutputSettings, op: T) => OutputSettings;

export type Family = "geometry" | "colour" | "filter" | "overlay" | "output" | "effect";

export interface OperationDef<Name extends string = string, S extends z.ZodType = z.ZodType> {
  name: Name;
  family: Family;
  /** One line for the docs and the LLM tool description. */
  summary: string;
  schema: S;
  /** A readable step for people: "Resize to fit 800x800". */
  describe(op: z.infer<S>): string;
  /** Words and phrases the command planner maps to this operation (it adds typo tolerance). */
  words: readonly string[];
  /** Whether frames of an animation survive this operation. */
  keepsAnimation: boolean;
  /**
   * How an animation reaches apply: "each" (default) = the pipeline calls apply once per frame
   * (meta.pages is 1); "whole" = apply gets the whole strip of frames (meta.pages > 1, sharp's
   * page-aware resize/extract/extend/flop handle it).
   */
  frames?: "each" | "whole";
  /** Predicted output size (one frame) so limits fail before the step runs; undefined = unknown. */
  outputSize?(meta: ImageMeta, op: z.infer<S>): { width: number; height: number } | undefined;
  /** Runs through ImageMagick (loaded lazily). */
  magick?: boolean;
  /** Pixel steps have apply; output steps (format, metadata) have output. */
  apply?: Apply<z.infer<S>>;
  output?: ApplyOutput<z.infer<S>>;
}

/** Build the strict `{op: name, ...params}` schema for one operation. */
export function opSchema<Name extends string, Shape extends z.ZodRawShape>(name: Name, shape: Shape) {
  return z.strictObject({ op: z.literal(name), ...shape });
}

export function defineOperation<Name extends string, S extends z.ZodType>(
  def: OperationDef<Name, S>,
): OperationDef<Name, S> {
  return def;
}

// Placeholder while the implementation lands; a plan using it fails with a clear error
// (the pipeline checks for it before decoding anything).
export const notImplemented: Apply<unknown> = () => {
  throw new Error("operation not implemented yet");
};

/** Whether a catalog entry still has the placeholder instead of an implementation. */
export function isNotImplemented(def: { apply?: unknown; output?: unknown }): boolean {
  return def.apply === notImplemented || (def.apply === undefined && def.output === undefined);
}
