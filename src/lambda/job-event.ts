// The processor's event: one job. Shared by the processor and its on-failure recorder.
import { isStorableKey } from "../adapters/aws/session-store.js";
import type { Job } from "../ports.js";

/** An id the table can hold: one it cannot (empty, over the key limit) names no job. */
const isId = (v: unknown): v is string => typeof v === "string" && isStorableKey(v);

/**
 * The event's job, or undefined when it is not one (a malformed event is never retried: asking
 * DynamoDB about an id it cannot hold would throw, and Lambda would retry for nothing).
 */
export function parseJobEvent(event: unknown): Job | undefined {
  const job = (event as { job?: Record<string, unknown> } | null)?.job;
  if (!job || typeof job !== "object") return undefined;
  const { sessionId, imageId, userId, attempt } = job;
  if (!isId(sessionId) || !isId(imageId) || !isId(userId)) return undefined;
  return { sessionId, imageId, userId, attempt: typeof attempt === "number" && attempt > 0 ? attempt : 1 };
}
