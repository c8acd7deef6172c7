// After a crash or a hard stop: images left mid-flight are queued again (their attempt counts
// bounded by JOB_MAX_ATTEMPTS), so no session stays "running" forever. An image failed here may
// have a result file its killed run stored before it could record done: the sweeper removes it
// (src/adapters/local/sweeper.ts, isOrphanResult).
import type { Config } from "../config.js";
import { ImageEditError } from "../core/errors.js";
import type { Logger } from "../logger.js";
import type { Job, JobRunner, Metrics, SessionStore } from "../ports.js";
import { isTerminal } from "./status.js";

export async function resumeUnfinished(deps: {
  config: Config;
  sessions: SessionStore;
  jobs: JobRunner;
  logger: Logger;
  metrics?: Metrics;
}): Promise<{ sessions: number; requeued: number; failed: number }> {
  const max = Math.max(1, deps.config.JOB_MAX_ATTEMPTS);
  const jobs: Job[] = [];
  let failed = 0;
  const unfinished = await deps.sessions.listUnfinished(10_000);
  for (const s of unfinished) {
    try {
      for (const img of s.images) {
        if (isTerminal(img.status)) continue;
        if (img.status !== "queued" && img.attempts >= max) {
          const error = {
            code: "INTERNAL" as const,
            message: `processing was interrupted by a server stop during attempt ${img.attempts} of ${max} (JOB_MAX_ATTEMPTS)`,
          };
          await deps.sessions.updateImage(s.sessionId, img.id, { status: "failed", percent: 100, error });
          // as runJob reports a failed image: logged once with its session, image and code, counted
          deps.logger.warn(
            { sessionId: s.sessionId, imageId: img.id, code: error.code, attempts: img.attempts },
            `image failed: ${error.message}`,
          );
          deps.metrics?.increment("jobs_total", { outcome: "failed", code: error.code });
          failed++;
          continue;
        }
        if (img.status !== "queued")
          await deps.sessions.updateImage(s.sessionId, img.id, { status: "queued", percent: 0 });
        jobs.push({ sessionId: s.sessionId, imageId: img.id, userId: s.userId, attempt: img.attempts + 1 });
      }
    } catch (e) {
      // Deleted (or expired) since it was listed: the server is listening already, and its user
      // may delete it meanwhile. Nothing to resume; a job already queued for it skips it.
      if (e instanceof ImageEditError && e.code === "NOT_FOUND") continue;
      throw e;
    }
  }
  if (jobs.length) await deps.jobs.enqueue(jobs);
  // A keyed session whose request stopped before marking it queued is queued now: let its key replay it.
  for (const s of unfinished) if (s.idempotencyKey) await deps.sessions.markEnqueued?.(s).catch(() => undefined);
  if (unfinished.length)
    deps.logger.info({ sessions: unfinished.length, requeued: jobs.length, failed }, "resumed unfinished sessions");
  return { sessions: unfinished.length, requeued: jobs.length, failed };
}
