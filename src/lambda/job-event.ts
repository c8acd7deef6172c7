// The processor's event: one job. Shared by the processor and its on-failure recorder.
import type { Job } from "../ports.js";

/** The event's job, or undefined when it is not one (a malformed event is never retried). */
export function parseJobEvent(event: unknown): Job | undefined {
  const job = (event as { job?: Record<string, unknown> } | null)?.job;
  if (!job || typeof job !== "object") return undefined;
  const { sessionId, imageId, userId, attempt } = job;
  if (typeof sessionId !== "string" || typeof imageId !== "string" || typeof userId !== "string") return undefined;
  return { sessionId, imageId, userId, attempt: typeof attempt === "number" && attempt > 0 ? attempt : 1 };
}
