// The image-processor Lambda: one asynchronous invocation = one job (one image of a session).
// Idempotent under Lambda's own retries: runJob skips images already finished and writes
// results under deterministic keys. A run stops itself before the function timeout and marks
// the image failed, instead of leaving it "processing" forever.
import { loadConfig } from "../config.js";
import { ImageEditError } from "../core/errors.js";
import { runJob, storedResults } from "../service/run-job.js";
import { isTerminal } from "../service/status.js";
import { buildLambdaDeps, type LambdaDeps } from "./deps.js";
import { makeFailureHandler } from "./failure.js";
import { parseJobEvent } from "./job-event.js";

export { parseJobEvent };

/** The part of Lambda's context object the handler uses. */
export interface LambdaContextLike {
  getRemainingTimeInMillis(): number;
  awsRequestId?: string;
}

/** Time kept back before the function timeout to record the outcome. */
export const DEADLINE_MARGIN_MS = 15_000;

export function makeProcessorHandler(getDeps: () => LambdaDeps) {
  return async (event: unknown, context: LambdaContextLike): Promise<{ ok: boolean; skipped?: string }> => {
    const deps = getDeps();
    const log = deps.logger.child({ requestId: context.awsRequestId });
    const job = parseJobEvent(event);
    if (!job) {
      log.error({ event }, "processor: not a job event; dropped");
      return { ok: false, skipped: "not a job event" };
    }
    const controller = new AbortController();
    const budget = Math.max(1_000, context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS);
    const timer = setTimeout(() => controller.abort(new Error("function deadline")), budget);
    const now = () => (deps.job.clock ?? Date).now();
    const started = now();
    try {
      // runJob's own lines (progress, retries, failures) carry the invocation's request id too.
      await runJob(job, { ...deps.job, logger: log }, { signal: controller.signal });
      if (controller.signal.aborted) {
        const s = await deps.sessions.get(job.sessionId);
        const img = s?.images.find((i) => i.id === job.imageId);
        if (s && img && !isTerminal(img.status)) {
          const message = `processing did not finish within the function's ${Math.round(budget / 1000)} s budget`;
          const recorded = await deps.sessions
            .updateImage(job.sessionId, job.imageId, {
              status: "failed",
              percent: 100,
              error: { code: "PROCESSING_TIMEOUT", message },
            })
            .then(
              () => true,
              (e: unknown) => {
                // Another delivery finished the image in between: its outcome stands.
                if (e instanceof ImageEditError && e.code === "CONFLICT" && !e.retryable) return false;
                throw e;
              },
            );
          if (recorded) {
            // The same series runJob writes for every other outcome (its own line for an aborted
            // run only says "interrupted"): this is the one line naming the image and why.
            deps.metrics.increment("jobs_total", { outcome: "failed", code: "PROCESSING_TIMEOUT" });
            deps.metrics.observe("job_duration_seconds", (now() - started) / 1000, { outcome: "failed" });
            log.warn(
              { sessionId: job.sessionId, imageId: job.imageId, code: "PROCESSING_TIMEOUT", budgetMs: budget },
              `image failed: ${message}`,
            );
            // A failed image keeps no file (as runJob's own failures): an earlier run killed between
            // storing its result and recording done left one. Failed is final: nothing can claim it.
            const left = await storedResults(deps.objects, s.userId, job.sessionId, job.imageId).catch(() => []);
            for (const key of left) await deps.objects.delete(key).catch(() => undefined);
          }
        }
      }
      return { ok: true };
    } finally {
      clearTimeout(timer);
      // Peak memory of this container so far: the dashboard's memory graph and the 1.8 GB alarm
      // (Lambda publishes no MaxMemoryUsed metric of its own).
      deps.metrics.gauge("max_memory_used_bytes", process.resourceUsage().maxRSS * 1024);
    }
  };
}

let deps: LambdaDeps | undefined;
export const handler = makeProcessorHandler(() => {
  deps ??= buildLambdaDeps(loadConfig(), { functionLabel: "processor" });
  return deps;
});

/**
 * The processor's on-failure destination ("index.failureHandler", its own small function): marks
 * the image failed once Lambda has given up on its job. Builds only what it uses, lazily.
 */
export const failureHandler = makeFailureHandler(() => {
  deps ??= buildLambdaDeps(loadConfig(), { functionLabel: "processor" });
  return deps;
});
