// The HTTP app for the API function: the same createApp as the local server, composed with the
// AWS adapters. Progress streams poll DynamoDB (another function writes the progress); results
// go out as S3 presigned URLs, so there is no /files route to verify here.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { staticFiles } from "../adapters/local/static-files.js";
import { ImageEditError } from "../core/errors.js";
import { limitsFromConfig } from "../core/limits.js";
import { probeImage } from "../core/pipeline.js";
import { createApp } from "../http/app.js";
import { createAuth } from "../http/auth.js";
import { pollingWatcher } from "../service/watch.js";
import type { LambdaDeps } from "./deps.js";

/**
 * The largest image POST /uploads takes through a function URL. Lambda refuses an invocation event
 * over 6 MB itself (its own 413, before the function runs), and the event carries the body
 * base64-encoded (4 bytes for 3) beside the headers and request context: 32 KiB is kept for those
 * and the multipart envelope. About 4.5 MB; bigger images go by URL (up to MAX_IMAGE_SIZE).
 */
export const LAMBDA_MAX_UPLOAD_BYTES = Math.floor(((6 * 1024 * 1024 - 32 * 1024) * 3) / 4);

export interface ApiAppOptions {
  /** How often a progress stream reads the session (default 1 s: ~1 read/s per open stream). */
  pollMs?: number;
  sseHeartbeatMs?: number;
  /** The built web page; default: a `web` directory beside the bundle, when there is one. */
  webRoot?: string;
}

export function buildApiApp(deps: LambdaDeps, opts: ApiAppOptions = {}) {
  const { config } = deps;
  if (!deps.jobs) {
    throw new ImageEditError(
      "INTERNAL",
      "the API function needs IMAGE_PROCESSOR_FUNCTION_ARN (the processor to queue jobs on)",
    );
  }
  // Stream tokens (and local-mode tokens) are HS256: every container must share the key.
  if (!config.JWT_SECRET) {
    throw new ImageEditError("INTERNAL", "the API function needs JWT_SECRET (the stack sets it from Secrets Manager)");
  }
  const clock = { now: () => Date.now() };
  const webRoot = opts.webRoot ?? fileURLToPath(new URL("./web", import.meta.url));
  return createApp({
    config,
    limits: limitsFromConfig(config),
    sessions: deps.sessions,
    objects: deps.objects,
    rates: deps.rates,
    jobs: deps.jobs,
    watcher: pollingWatcher(deps.sessions, opts.pollMs ?? 1000),
    metrics: deps.metrics,
    logger: deps.logger,
    clock,
    auth: createAuth({ config, secret: new TextEncoder().encode(config.JWT_SECRET), clock }),
    probe: probeImage,
    assets: existsSync(webRoot) ? staticFiles(webRoot) : undefined,
    sseHeartbeatMs: opts.sseHeartbeatMs,
    maxUploadBytes: LAMBDA_MAX_UPLOAD_BYTES,
  });
}
