// Composition for the Lambda functions: the AWS adapters plus the core, from one Config.
// Built once per container (the handlers keep the result), so clients and the wasm stay warm.
import { fileURLToPath } from "node:url";
import { type AwsClientSettings, createAwsAdapters } from "../adapters/aws/index.js";
import type { Config } from "../config.js";
import { limitsFromConfig } from "../core/limits.js";
import { setMagickWasmPath } from "../core/magick.js";
import { processImage } from "../core/pipeline.js";
import { fetchPolicyFromConfig } from "../fetch/index.js";
import { createLogger, type Logger } from "../logger.js";
import type { JobRunner, Metrics, ObjectStore, RateCounter, SessionStore } from "../ports.js";
import type { JobDeps } from "../service/run-job.js";
import { makeFetchSource } from "../service/source.js";

export interface LambdaDeps {
  config: Config;
  sessions: SessionStore;
  objects: ObjectStore;
  metrics: Metrics;
  logger: Logger;
  /** Per-user request counts, shared by the API function's containers. */
  rates: RateCounter;
  /** Present when IMAGE_PROCESSOR_FUNCTION_ARN is set (the API function). */
  jobs?: JobRunner;
  /** What runJob needs (the processor function; the API uses it only in tests' loopback). */
  job: JobDeps;
}

export interface LambdaDepsOptions {
  /** "api" or "processor": the `function` dimension of every metric. */
  functionLabel: "api" | "processor";
  /** Replace the job runner (tests: a loopback stand-in for Lambda's Invoke API). */
  jobs?: JobRunner;
  credentials?: AwsClientSettings["credentials"];
  logger?: Logger;
  /** Replace the EMF metrics (tests capture the lines). */
  metrics?: Metrics;
}

/**
 * In a bundle, magick.wasm sits beside index.mjs; from src/ the package export is found instead.
 * Only the bundle has a sibling file, so pointing there is harmless elsewhere (the loader tries
 * the package next).
 */
function pointMagickAtBundledWasm(): void {
  if (import.meta.url.endsWith("/index.mjs"))
    setMagickWasmPath(fileURLToPath(new URL("./magick.wasm", import.meta.url)));
}

export function buildLambdaDeps(config: Config, opts: LambdaDepsOptions): LambdaDeps {
  pointMagickAtBundledWasm();
  const created = createAwsAdapters(config, { functionLabel: opts.functionLabel, credentials: opts.credentials });
  const aws = { ...created, metrics: opts.metrics ?? created.metrics };
  const logger = (opts.logger ?? createLogger(config)).child({ function: opts.functionLabel });
  const limits = limitsFromConfig(config);
  const job: JobDeps = {
    config,
    limits,
    sessions: aws.sessions,
    objects: aws.objects,
    metrics: aws.metrics,
    logger,
    process: processImage,
    fetchSource: makeFetchSource(aws.objects, fetchPolicyFromConfig(config)),
  };
  return { config, ...aws, jobs: opts.jobs ?? aws.jobs, logger, job };
}
