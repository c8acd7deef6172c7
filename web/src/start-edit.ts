// Starting an edit, safe to retry: one Idempotency-Key per start, so a retry of a request the
// service did accept (its answer lost on the way) gets that session back instead of a second one.
import { ApiError, api, type EditOperation, type StartAnswer } from "./api";
import { retryDelay } from "./stream";

const ATTEMPTS = 4;
/** A Retry-After longer than this is not waited for: the user is watching "Starting…". */
const MAX_WAIT_MS = 5_000;

/** Worth sending again: no answer at all, a proxy's gateway error, or "still being accepted". */
function retryable(e: unknown): boolean {
  if (!(e instanceof ApiError)) return !(e instanceof DOMException && e.name === "AbortError"); // fetch's TypeError
  return e.status === 502 || e.status === 503 || e.status === 504 || (e.status === 409 && e.retryable);
}

function newIdempotencyKey(): string {
  // randomUUID needs a secure context; a page served over plain http to another host has not.
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** POST /image-edit, sent again (same body, same key) on a failure a retry may cure; `onRetry` before each wait. */
export async function startEdit(
  images: { id: string; url: string; name: string }[],
  operation: EditOperation,
  onRetry?: () => void,
): Promise<StartAnswer> {
  const key = newIdempotencyKey();
  for (let attempt = 0; ; attempt++) {
    try {
      return await api.start(images, operation, key);
    } catch (e) {
      if (attempt + 1 >= ATTEMPTS || !retryable(e)) throw e;
      onRetry?.();
      const after = e instanceof ApiError ? e.retryAfterSec : undefined;
      const wait = after === undefined ? retryDelay(attempt) : Math.min(MAX_WAIT_MS, after * 1000);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
