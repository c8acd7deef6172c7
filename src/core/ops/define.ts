// The shape of one catalog entry: its schema is the single source of truth for what is accepted.
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

/** The image as it passes between steps. Each step gets the previous step's output. */
export interface ImageState {
  /** Encoded or raw pixels, as the pipeline chooses; see pipeline.ts. */
  data: Buffer;
  /** Set when `data` holds raw pixels. */
  raw?: { width: number; height: number; channels: 1 | 2 | 3 | 4 };
  width: number;
  /** Height of one frame (page) for animated images. */
  height: number;
  /** Frames: 1 for still images. */
  pages: number;
  /** Per-frame delays in ms, for animations. */
  delay?: number[];
  loop?: number;
  /** The format the result is written in unless a `format` step says otherwise. */
  format: OutputFormat;
  quality?: number;
  lossless?: boolean;
  keepMetadata: boolean;
  /** Whether the source had an ICC profile / EXIF worth keeping when keepMetadata is set. */
  hasProfile?: boolean;
}

export interface ApplyContext {
  limits: Limits;
  /** Loads another image (watermarks); the service provides a safe fetcher. */
  loadAsset(url: string): Promise<Buffer>;
  signal?: AbortSignal;
}

export type Apply<T> = (image: ImageState, op: T, ctx: ApplyContext) => Promise<ImageState>;

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
  /** Runs through ImageMagick (loaded lazily). */
  magick?: boolean;
  apply: Apply<z.infer<S>>;
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

export const notImplemented: Apply<unknown> = async () => {
  throw new Error("not implemented yet");
};
