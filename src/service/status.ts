// Session status follows from its images: one rule shared by every SessionStore.
import type { ImageStatus, SessionImage, SessionStatus } from "../ports.js";

const ORDER: Record<ImageStatus, number> = { queued: 0, fetching: 1, processing: 2, storing: 3, done: 4, failed: 4 };

export function isTerminal(status: ImageStatus): boolean {
  return status === "done" || status === "failed";
}

export function isFinished(status: SessionStatus): boolean {
  return status === "completed" || status === "partial" || status === "failed";
}

/**
 * May an image in status `was` take this change? A done image is final; a failed one only goes
 * back to queued (a retry). Every store enforces this in the write itself, so of two deliveries
 * of one job the loser can neither overwrite "done" nor revive an image recorded as failed, and
 * writers need not read before they write.
 */
export function writableImage(was: ImageStatus, patch: { status?: ImageStatus }): boolean {
  if (was === "done") return false;
  if (was === "failed") return patch.status === "queued";
  return true;
}

/** Stage rank of an image status (done and failed are both last). */
export function imageStage(status: ImageStatus): number {
  return ORDER[status];
}

export function sessionStatusOf(images: Pick<SessionImage, "status">[]): SessionStatus {
  if (images.length === 0) return "failed";
  if (images.every((i) => i.status === "queued")) return "queued";
  if (!images.every((i) => isTerminal(i.status))) return "running";
  const done = images.filter((i) => i.status === "done").length;
  if (done === images.length) return "completed";
  return done === 0 ? "failed" : "partial";
}
