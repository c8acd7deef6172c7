// The processor's on-failure destination: when Lambda gives up on a job (its process died or the
// run threw on every delivery, or the event waited too long), it invokes this handler with an
// invocation record instead of dropping the event silently. It marks the image failed with a
// reason, so the session completes and the progress stream sends `complete`. It never overwrites
// a finished image. Deployed as its own small function (handler "index.failureHandler" in the
// processor's bundle) with no destination of its own, so a failure here cannot loop.
import { ImageEditError } from "../core/errors.js";
import type { Job } from "../ports.js";
import { storedResults } from "../service/run-job.js";
import { isTerminal } from "../service/status.js";
import type { LambdaDeps } from "./deps.js";
import { parseJobEvent } from "./job-event.js";
import type { LambdaContextLike } from "./processor.js";

/** What Lambda sends an on-failure destination for an asynchronous invocation. */
export interface FailureRecord {
  job: Job;
  /** "RetriesExhausted", "EventAgeExceeded" (or another condition Lambda names). */
  condition: string;
  /** Deliveries Lambda made before giving up. */
  invokeCount: number;
  /** The last run's error, when it threw (a dead process reports none). */
  lastError?: string;
}

/** The record's job and why Lambda gave up, or undefined when it is not such a record. */
export function parseFailureRecord(event: unknown): FailureRecord | undefined {
  const e = event as {
    requestContext?: { condition?: unknown; approximateInvokeCount?: unknown };
    requestPayload?: unknown;
    responsePayload?: { errorType?: unknown; errorMessage?: unknown } | null;
  } | null;
  if (!e || typeof e !== "object" || !e.requestContext) return undefined;
  const job = parseJobEvent(e.requestPayload);
  if (!job) return undefined;
  const { condition, approximateInvokeCount } = e.requestContext;
  const errorType = typeof e.responsePayload?.errorType === "string" ? e.responsePayload.errorType : undefined;
  const errorMessage = typeof e.responsePayload?.errorMessage === "string" ? e.responsePayload.errorMessage : undefined;
  return {
    job,
    condition: typeof condition === "string" ? condition : "unknown",
    invokeCount: typeof approximateInvokeCount === "number" ? approximateInvokeCount : 0,
    lastError: errorType || errorMessage ? [errorType, errorMessage].filter(Boolean).join(": ") : undefined,
  };
}

/** The user-facing reason for an image Lambda gave up on. */
export function failureReason(r: FailureRecord): string {
  if (r.condition === "EventAgeExceeded")
    return "the job waited too long in Lambda's queue and was dropped before it could run";
  const times = r.invokeCount > 0 ? `${r.invokeCount} times` : "on every attempt";
  // A killed or timed-out run reports Runtime.ExitError / Sandbox.Timedout (or nothing at all).
  const died = !r.lastError || /Runtime\.ExitError|Sandbox\.Timedout|timed out|signal/i.test(r.lastError);
  return died
    ? `the processor stopped ${times} on this image (out of memory or timeout?)`
    : `the processor failed ${times} on this image (last error: ${r.lastError?.slice(0, 200)})`;
}

export type FailureOutcome = { ok: true; recorded: boolean; skipped?: string } | { ok: false; skipped: string };

export function makeFailureHandler(getDeps: () => LambdaDeps) {
  return async (event: unknown, context: LambdaContextLike): Promise<FailureOutcome> => {
    const deps = getDeps();
    const log = deps.logger.child({ requestId: context.awsRequestId, destination: "on-failure" });
    const record = parseFailureRecord(event);
    if (!record) {
      log.error({ event }, "failure recorder: not a processor invocation record; dropped");
      return { ok: false, skipped: "not an invocation record" };
    }
    const { sessionId, imageId } = record.job;
    const session = await deps.sessions.get(sessionId);
    const image = session?.images.find((i) => i.id === imageId);
    if (!session || !image) {
      log.warn({ sessionId, imageId }, "failure recorder: session or image gone; nothing to record");
      return { ok: true, recorded: false, skipped: "gone" };
    }
    // A late success (or an earlier recorded failure) stands.
    if (isTerminal(image.status)) return { ok: true, recorded: false, skipped: image.status };
    const message = failureReason(record);
    try {
      await deps.sessions.updateImage(sessionId, imageId, {
        status: "failed",
        percent: 100,
        error: { code: "PROCESSING_FAILED", message },
      });
    } catch (e) {
      // The store refuses to overwrite a done image: a delivery finished it meanwhile.
      if (e instanceof ImageEditError && e.code === "CONFLICT")
        return { ok: true, recorded: false, skipped: "done meanwhile" };
      throw e; // Lambda retries this function's own async invocation
    }
    // No job_duration_seconds here: the record says when Lambda gave up, not when any run started
    // (a run killed at 300 s and one dead of memory at 2 s look alike), so there is none to observe.
    deps.metrics.increment("jobs_total", { outcome: "failed", code: "PROCESSING_FAILED" });
    log.error(
      { sessionId, imageId, code: "PROCESSING_FAILED", condition: record.condition, invokeCount: record.invokeCount },
      message,
    );
    // A failed image keeps no file (as runJob's own failures): a run killed between storing its
    // result and recording done left one. Failed is final, so no delivery can still claim it. Best
    // effort: the object expires with the bucket's lifecycle rule anyway.
    try {
      for (const key of await storedResults(deps.objects, session.userId, sessionId, imageId))
        await deps.objects.delete(key);
    } catch (e) {
      log.warn({ sessionId, imageId, err: e }, "failure recorder: could not remove the image's stored result");
    }
    return { ok: true, recorded: true };
  };
}
