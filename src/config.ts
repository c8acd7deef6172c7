// The one place that reads the environment: everything else receives a Config.
import os from "node:os";
import { z } from "zod";

const int = (def: number) => z.coerce.number().int().positive().default(def);
/** Node's timers take at most 2^31-1 ms; a longer delay silently becomes 1 ms (every wait times out at once). */
export const MAX_TIMER_MS = 2_147_483_647;
const ms = (def: number) =>
  z.coerce
    .number()
    .int()
    .positive()
    .max(MAX_TIMER_MS, {
      message: `must be at most ${MAX_TIMER_MS} ms (about 24.8 days), the longest timer Node can wait`,
    })
    .default(def);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));
const list = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? "")
      .split(",")
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );

export const ConfigSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default("127.0.0.1"),
  PUBLIC_URL: optionalString,
  DATA_DIR: z.string().default("./data"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  JWT_SECRET: optionalString,
  JWKS_URL: optionalString,
  JWT_ISSUER: optionalString,
  JWT_AUDIENCE: optionalString,
  MAX_IMAGE_SIZE: int(26_214_400),
  MAX_DIMENSIONS: int(10_000),
  MAX_INPUT_PIXELS: int(100_000_000),
  MAX_OPERATIONS: int(30),
  DEFAULT_QUALITY: z.coerce.number().int().min(1).max(100).default(90),
  MAX_IMAGES_PER_REQUEST: int(50),
  PROCESS_TIMEOUT_MS: ms(120_000),
  FETCH_TIMEOUT_MS: ms(30_000),
  FETCH_CONNECT_TIMEOUT_MS: ms(5_000),
  FETCH_MAX_REDIRECTS: z.coerce.number().int().min(0).max(20).default(5),
  FETCH_ALLOW_HOSTS: list,
  ALLOW_SVG: z
    .enum(["true", "false", "1", "0"])
    .default("false")
    .transform((v) => v === "true" || v === "1"),
  SESSION_TTL_DAYS: int(30),
  WORKER_CONCURRENCY: int(Math.max(1, os.availableParallelism?.() ?? os.cpus().length)),
  /** auto: worker threads only for plans with a thread-blocking step (effects); always: every image. */
  WORKER_THREADS: z.enum(["auto", "always"]).default("auto"),
  JOB_MAX_ATTEMPTS: int(3),
  RATE_LIMIT_PER_MINUTE: int(10),
  MAX_CONCURRENT_SESSIONS: int(3),
  LOCAL_SIGN_IN: z
    .enum(["true", "false", "1", "0"])
    .optional()
    .transform((v) => (v === undefined ? undefined : v === "true" || v === "1")),
  LLM_BASE_URL: optionalString,
  LLM_API_KEY: optionalString,
  LLM_MODEL: optionalString,
  LLM_TIMEOUT_MS: ms(20_000),
  AWS_REGION: optionalString,
  S3_BUCKET: optionalString,
  GENERATED_IMAGES_BUCKET: optionalString,
  DYNAMODB_TABLE: optionalString,
  IMAGE_EDIT_SESSIONS_TABLE: optionalString,
  IMAGE_PROCESSOR_FUNCTION_ARN: optionalString,
  S3_ENDPOINT: optionalString,
  DYNAMODB_ENDPOINT: optionalString,
  LAMBDA_ENDPOINT: optionalString,
});

export type RawConfig = z.infer<typeof ConfigSchema>;

export interface Config extends RawConfig {
  /** S3 bucket, from S3_BUCKET or the guide's GENERATED_IMAGES_BUCKET. */
  bucket?: string;
  /** DynamoDB table, from DYNAMODB_TABLE or the guide's IMAGE_EDIT_SESSIONS_TABLE. */
  table?: string;
  /** "aws" when a bucket and a table are configured, else "local". */
  mode: "local" | "aws";
}

export class ConfigError extends Error {}

/** Parse and validate configuration; throws ConfigError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join("\n  ")}`);
  }
  const raw = parsed.data;
  const bucket = raw.S3_BUCKET ?? raw.GENERATED_IMAGES_BUCKET;
  const table = raw.DYNAMODB_TABLE ?? raw.IMAGE_EDIT_SESSIONS_TABLE;
  return { ...raw, bucket, table, mode: bucket && table ? "aws" : "local" };
}
