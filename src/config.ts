// The one place that reads the environment: everything else receives a Config.
import os from "node:os";
import { z } from "zod";
import { compileAllowList } from "./fetch/url.js";

/** A whole number from min to max, as the message (or `message`) says when it is not. */
const whole = (min: number, max: number, def: number, message?: string) => {
  const error =
    message ??
    (max === Number.MAX_SAFE_INTEGER
      ? `must be a whole number from ${min} up`
      : `must be a whole number from ${min} to ${max}`);
  return z.coerce.number({ error }).int({ error }).min(min, { error }).max(max, { error }).default(def);
};
const int = (def: number) => whole(1, Number.MAX_SAFE_INTEGER, def);
/** A size in bytes: "25MB" is refused with an example of what is meant. */
const bytes = (def: number) =>
  whole(
    1,
    Number.MAX_SAFE_INTEGER,
    def,
    `must be a whole number of bytes from 1 up, e.g. ${def} for ${def / 1048576} MB`,
  );
/** Node's timers take at most 2^31-1 ms; a longer delay silently becomes 1 ms (every wait times out at once). */
export const MAX_TIMER_MS = 2_147_483_647;
const ms = (def: number) => {
  const error = "must be a whole number of milliseconds from 1 up";
  return z.coerce
    .number({ error })
    .int({ error })
    .positive({ error })
    .max(MAX_TIMER_MS, {
      message: `must be at most ${MAX_TIMER_MS} ms (about 24.8 days), the longest timer Node can wait`,
    })
    .default(def);
};
const optionalString = z.string().optional();
/** One of a few words, as the message lists them. */
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `must be one of ${values.join(", ")}` });
const flag = oneOf(["true", "false", "1", "0"]);

/** A value as it may be quoted in a message: JSON-escaped (one line), and not endless. */
function quote(value: string): string {
  return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
}

/**
 * An http:// or https:// URL. A base (PUBLIC_URL, LLM_BASE_URL) has paths appended to it, so it
 * may not carry a query or a fragment.
 */
const httpUrl = (kind: "url" | "base") =>
  z
    .string()
    .optional()
    .superRefine((value, ctx) => {
      if (value === undefined) return;
      let url: URL;
      try {
        // The URL parser drops tabs and line breaks; here they are a mistake (a bad paste).
        if (/\s/.test(value)) throw new Error("white space");
        url = new URL(value);
      } catch {
        ctx.addIssue({ code: "custom", message: `${quote(value)} is not a URL (give an http:// or https:// URL)` });
        return;
      }
      if (url.protocol !== "http:" && url.protocol !== "https:")
        ctx.addIssue({ code: "custom", message: `${quote(value)} is not an http:// or https:// URL` });
      else if (kind === "base" && (url.search || url.hash || value.includes("?") || value.includes("#")))
        ctx.addIssue({
          code: "custom",
          message: `${quote(value)} has a query or fragment (give the base URL only: paths are added to it)`,
        });
    });

/** FETCH_ALLOW_HOSTS: comma-separated entries, each checked as the fetcher will read it. */
const allowHosts = z
  .string()
  .optional()
  .transform((value, ctx) => {
    const entries = (value ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    for (const entry of entries) {
      try {
        compileAllowList([entry]);
      } catch (e) {
        ctx.addIssue({ code: "custom", message: (e as Error).message });
      }
    }
    return entries.map((s) => s.toLowerCase());
  });

export const ConfigSchema = z.object({
  PORT: whole(0, 65535, 8080),
  HOST: z.string().default("127.0.0.1"),
  PUBLIC_URL: httpUrl("base"),
  DATA_DIR: z.string().default("./data"),
  LOG_LEVEL: oneOf(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  JWT_SECRET: optionalString,
  JWKS_URL: httpUrl("url"),
  JWT_ISSUER: optionalString,
  JWT_AUDIENCE: optionalString,
  MAX_IMAGE_SIZE: bytes(26_214_400),
  MAX_DIMENSIONS: int(10_000),
  MAX_INPUT_PIXELS: int(100_000_000),
  MAX_FRAMES: int(1000),
  MAX_OPERATIONS: int(30),
  DEFAULT_QUALITY: whole(1, 100, 90),
  MAX_IMAGES_PER_REQUEST: int(50),
  PROCESS_TIMEOUT_MS: ms(120_000),
  FETCH_TIMEOUT_MS: ms(30_000),
  FETCH_CONNECT_TIMEOUT_MS: ms(5_000),
  FETCH_MAX_REDIRECTS: whole(0, 20, 5),
  FETCH_ALLOW_HOSTS: allowHosts,
  ALLOW_SVG: flag.default("false").transform((v) => v === "true" || v === "1"),
  SESSION_TTL_DAYS: int(30),
  WORKER_CONCURRENCY: int(Math.max(1, os.availableParallelism?.() ?? os.cpus().length)),
  /** auto: worker threads only for plans with a thread-blocking step (effects); always: every image. */
  WORKER_THREADS: oneOf(["auto", "always"]).default("auto"),
  JOB_MAX_ATTEMPTS: int(3),
  RATE_LIMIT_PER_MINUTE: int(10),
  MAX_CONCURRENT_SESSIONS: int(3),
  LOCAL_SIGN_IN: flag.optional().transform((v) => (v === undefined ? undefined : v === "true" || v === "1")),
  LLM_BASE_URL: httpUrl("base"),
  LLM_API_KEY: optionalString,
  LLM_MODEL: optionalString,
  LLM_TIMEOUT_MS: ms(20_000),
  AWS_REGION: optionalString,
  S3_BUCKET: optionalString,
  GENERATED_IMAGES_BUCKET: optionalString,
  DYNAMODB_TABLE: optionalString,
  IMAGE_EDIT_SESSIONS_TABLE: optionalString,
  IMAGE_PROCESSOR_FUNCTION_ARN: optionalString,
  S3_ENDPOINT: httpUrl("url"),
  DYNAMODB_ENDPOINT: httpUrl("url"),
  LAMBDA_ENDPOINT: httpUrl("url"),
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

/** A setting that cannot be used; the message is one line naming each bad variable. */
export class ConfigError extends Error {
  /** One entry per problem: `NAME: what is wrong`. */
  readonly problems: string[];

  constructor(problems: string | string[]) {
    const list = typeof problems === "string" ? [problems] : problems;
    super(`invalid configuration: ${list.join("; ")}`.replace(/[\r\n]+/g, " "));
    this.name = "ConfigError";
    this.problems = list;
  }
}

/**
 * The settings as the schema reads them. One rule for every variable: surrounding spaces are
 * ignored, and a value that is empty (or only spaces) counts as unset, so `PORT=` in a compose
 * file or an .env template means the default, not port 0.
 */
function settingsFromEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(ConfigSchema.shape)) {
    const value = env[name]?.trim();
    if (value) out[name] = value;
  }
  return out;
}

/** Parse and validate configuration; throws ConfigError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = ConfigSchema.safeParse(settingsFromEnv(env));
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
  }
  const raw = parsed.data;
  const bucket = raw.S3_BUCKET ?? raw.GENERATED_IMAGES_BUCKET;
  const table = raw.DYNAMODB_TABLE ?? raw.IMAGE_EDIT_SESSIONS_TABLE;
  return { ...raw, bucket, table, mode: bucket && table ? "aws" : "local" };
}
