// Request bodies of the API as zod schemas: the routes validate with them and /openapi.json is
// generated from them (the plan itself is the catalog's PlanSchema, checked by validatePlan).
import { z } from "zod";
import { MAX_COMMAND_LENGTH } from "../core/command/parser.js";
import { ImageEditError } from "../core/errors.js";
import { OUTPUT_FORMATS } from "../core/ops/define.js";

/** Image ids become part of object keys: a small safe alphabet. */
export const IMAGE_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;
export const UPLOAD_URL = /^upload:([a-f0-9]{32})$/;

export const ImageRefSchema = z.strictObject({
  id: z
    .string()
    .regex(IMAGE_ID, "use 1-64 letters, digits, '.', '_' or '-' (not starting with '.')")
    .optional()
    .describe("Your id for this image (default image-1, image-2, ...); results and events use it."),
  url: z.string().min(1).max(4096).describe("http(s) URL of the source image, or upload:<id> from POST /uploads."),
  name: z
    .string()
    .max(255)
    .optional()
    .describe("A display name (default: the name the upload was given, or the URL's last path segment)."),
});

/** A command: what the grammar takes (a longer one it refuses, and so does the LLM planner). */
const CommandText = z
  .string()
  .trim()
  .min(1, "the command is empty")
  .max(MAX_COMMAND_LENGTH, `the command is too long (at most ${MAX_COMMAND_LENGTH} characters)`);

export const CommandOperationSchema = z.strictObject({
  type: z.literal("command"),
  command: CommandText.describe('Plain English, e.g. "resize to 800px and convert to webp".'),
});

export const OperationsOperationSchema = z.strictObject({
  type: z.literal("operations"),
  operations: z.array(z.unknown()).describe("The plan: [{op, ...params}, ...] (see the Plan schema)."),
});

export const EditOperationSchema = z.discriminatedUnion("type", [CommandOperationSchema, OperationsOperationSchema]);

export const EditOptionsSchema = z.strictObject({
  outputFormat: z
    .enum(OUTPUT_FORMATS)
    .optional()
    .describe("Output format for every image (wins over a format step in the plan)."),
  quality: z.int().min(1).max(100).optional().describe("Lossy quality 1-100 (default DEFAULT_QUALITY)."),
  maxWidth: z.int().min(1).max(100_000).optional().describe("Shrink results wider than this (never enlarges)."),
  maxHeight: z.int().min(1).max(100_000).optional().describe("Shrink results taller than this (never enlarges)."),
  preserveMetadata: z.boolean().optional().describe("Keep EXIF/ICC/XMP (stripped by default)."),
});

export const EditRequestSchema = z.strictObject({
  images: z.array(ImageRefSchema).min(1, "send at least one image"),
  operation: EditOperationSchema,
  options: EditOptionsSchema.optional(),
});
export type EditRequest = z.output<typeof EditRequestSchema>;

export const ParseRequestSchema = z.strictObject({
  command: CommandText,
});

/**
 * What a user name may be, everywhere (POST /auth/local, `imgedit token --user`, and every token's
 * subject the verifier accepts): it becomes the first segment of the user's object keys, so no
 * slashes and no dot-only names.
 */
export const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@|:+=-]{0,127}$/;
export const USER_NAME_RULE = "1-128 letters, digits and ._@|:+=- starting with a letter or digit";

export const LocalSignInSchema = z.strictObject({
  user: z
    .string()
    .regex(USER_NAME, `use ${USER_NAME_RULE}`)
    .optional()
    .describe(`The user name (default "local"): ${USER_NAME_RULE}.`),
});

export const ListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(500).optional(),
});

/** "images[2].url" from a zod path. */
export function fieldName(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

/** Parse or throw INVALID_INPUT naming the first bad field (all issues in details). */
export function parseOrThrow<T extends z.ZodType>(schema: T, input: unknown, prefix = ""): z.output<T> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => {
    const field = fieldName([...(prefix ? [prefix] : []), ...i.path]);
    return { field: field || undefined, message: i.message };
  });
  const first = issues[0];
  throw new ImageEditError("INVALID_INPUT", first.field ? `${first.field}: ${first.message}` : first.message, {
    field: first.field,
    details: { issues },
  });
}
