// One image of a session: fetch (or read the upload), process, store, record progress.
// Idempotent: an image already done or failed is skipped, the result key is deterministic, and
// "done" is recorded only after the file is stored. Retryable errors (network, storage) are
// retried with backoff up to JOB_MAX_ATTEMPTS; anything else fails this image only.
import type { Config } from "../config.js";
import { ImageEditError } from "../core/errors.js";
import type { Limits } from "../core/limits.js";
import type { Plan } from "../core/operations.js";
import type { ProcessOptions, ProcessResult } from "../core/pipeline.js";
import type { Logger } from "../logger.js";
import type { Clock, Job, Metrics, ObjectStore, Session, SessionImage, SessionStore } from "../ports.js";
import { isTerminal } from "./status.js";

export interface JobDeps {
  config: Config;
  limits: Limits;
  sessions: SessionStore;
  objects: ObjectStore;
  metrics: Metrics;
  logger: Logger;
  process: (input: Buffer, plan: Plan, opts: ProcessOptions) => Promise<ProcessResult>;
  fetchSource: (url: string, userId: string, signal?: AbortSignal) => Promise<Buffer>;
  clock?: Clock;
  /** Waits between retries (tests shorten it). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** First retry delay in ms (doubles each time, capped at 10 s). */
  retryBaseMs?: number;
  /** How long processing or storing must last before it is recorded (default PHASE_WRITE_DELAY_MS). */
  phaseWriteDelayMs?: number;
}

export function resultKey(userId: string, sessionId: string, imageId: string, ext: string): string {
  return `${userId}/${sessionId}/${imageId}.${ext}`;
}

/** Whether a result file name is this image's, `<imageId>.<ext>` (ids may hold dots: "a.b.png" is not a's). */
export function isResultName(name: string, imageId: string): boolean {
  return name.startsWith(`${imageId}.`) && /^[A-Za-z0-9]+$/.test(name.slice(imageId.length + 1));
}

/**
 * The result files stored for this image, whatever their extension. A run killed between storing
 * its file and recording done leaves one behind for the next run to find.
 */
export async function storedResults(
  objects: ObjectStore,
  userId: string,
  sessionId: string,
  imageId: string,
): Promise<string[]> {
  const dir = `${userId}/${sessionId}/`;
  return (await objects.list(resultKey(userId, sessionId, imageId, ""))).filter(
    (k) => k.startsWith(dir) && isResultName(k.slice(dir.length), imageId),
  );
}

const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });

/** Least time between two percent-only progress writes. */
const PROGRESS_INTERVAL_MS = 1000;
/**
 * "processing" and "storing" are recorded only once they have lasted this long: most images are
 * done in well under it, and a status nobody would see costs a session write (a DynamoDB write on
 * AWS) and a progress event. "fetching" (it carries the attempt count, which must be on record
 * before the pixels are touched) and the outcome are always written at once.
 */
export const PHASE_WRITE_DELAY_MS = 200;

class SessionGone extends Error {}
/** Another delivery of this job finished the image first. */
class Superseded extends Error {}

export async function runJob(job: Job, deps: JobDeps, opts: { signal?: AbortSignal } = {}): Promise<void> {
  const { sessions, logger, metrics } = deps;
  const signal = opts.signal;
  const now = () => (deps.clock ?? Date).now();
  const log = logger.child({ sessionId: job.sessionId, imageId: job.imageId });

  const session = await sessions.get(job.sessionId);
  const image = session?.images.find((i) => i.id === job.imageId);
  if (!session || session.userId !== job.userId || !image) {
    log.info("job skipped: session or image no longer exists");
    return;
  }
  if (isTerminal(image.status)) {
    log.info({ status: image.status }, "job skipped: image already finished (duplicate delivery)");
    return;
  }
  // An image still in flight is taken over, not skipped: the other delivery may have died (a
  // killed function, a crash), and two live ones write the same deterministic key atomically.

  // Progress writes go one after another, so a late progress tick never overwrites "done". No
  // read first: the store itself refuses writes to a finished image (see writableImage).
  let chain: Promise<unknown> = Promise.resolve();
  const update = (patch: Partial<Omit<SessionImage, "id" | "version">>): Promise<Session> => {
    const p = chain.then(() => sessions.updateImage(job.sessionId, job.imageId, patch));
    chain = p.catch(() => undefined);
    return p.catch((e: unknown) => {
      // A finished image: another delivery of this job won (or recorded a failure) meanwhile. (A
      // retryable CONFLICT is contention on the session, worth another attempt.)
      if (e instanceof ImageEditError && e.code === "CONFLICT" && !e.retryable) throw new Superseded();
      if (e instanceof ImageEditError) throw e.code === "NOT_FOUND" ? new SessionGone() : e;
      // The session store hiccuped (busy, throttled, a dropped connection): worth another attempt.
      throw new ImageEditError("STORAGE_FAILED", `could not record progress: ${(e as Error)?.message ?? e}`, {
        retryable: true,
        cause: e,
      });
    });
  };
  let lastPercent = 0;
  let lastWriteAt = 0;
  // A phase's status, written only if the phase is still going after phaseWriteDelayMs. Its
  // failure is ignored like a progress tick's: the outcome's write reports what matters.
  let phaseTimer: ReturnType<typeof setTimeout> | undefined;
  const endPhase = () => {
    clearTimeout(phaseTimer);
    phaseTimer = undefined;
  };
  const phase = (patch: Partial<Omit<SessionImage, "id" | "version">>) => {
    endPhase();
    phaseTimer = setTimeout(() => {
      phaseTimer = undefined;
      lastWriteAt = now();
      update(patch).catch(() => undefined);
    }, deps.phaseWriteDelayMs ?? PHASE_WRITE_DELAY_MS);
  };
  const tick = (status: "processing", percent: number) => {
    const p = Math.floor(percent);
    // Progress every ~10 points and at most once a second: a typical image is done in well under
    // a second, and a percent the client would see for a few milliseconds is not worth a write.
    if (p < lastPercent + 10 || now() - lastWriteAt < PROGRESS_INTERVAL_MS) return;
    endPhase();
    lastPercent = p;
    lastWriteAt = now();
    update({ status, percent: p }).catch(() => undefined);
  };

  const maxAttempts = Math.max(1, deps.config.JOB_MAX_ATTEMPTS);
  const started = now();
  let attempts = image.attempts;
  // A result stored but not yet recorded as done: removed if this image ends up failed.
  let storedKey: string | undefined;
  for (;;) {
    attempts++;
    lastPercent = 5;
    try {
      await update({ status: "fetching", percent: 5, attempts, error: undefined });
      const input = await deps.fetchSource(image.sourceUrl, job.userId, signal);
      metrics.increment(
        "bytes_in_total",
        { source: image.sourceUrl.startsWith("upload:") ? "upload" : "url" },
        input.length,
      );
      // The pipeline reads the header (and refuses pixel bombs) before decoding, and reports it.
      const inputBytes = input.length; // the pool may take the buffer's memory
      lastPercent = 30;
      lastWriteAt = now();
      phase({ status: "processing", percent: 30 });
      const o = session.options ?? {};
      const result = await deps.process(input, session.plan, {
        limits: deps.limits,
        signal,
        outputFormat: o.outputFormat,
        quality: o.quality,
        maxWidth: o.maxWidth,
        maxHeight: o.maxHeight,
        keepMetadata: o.preserveMetadata,
        loadAsset: (url) => deps.fetchSource(url, job.userId, signal),
        onProgress: (percent) => tick("processing", 30 + (Math.max(0, Math.min(100, percent)) * 60) / 100),
      });
      const { width, height, format } = result.source;
      const source = { width, height, format, bytes: inputBytes };
      phase({ status: "storing", percent: 92, source });
      const key = resultKey(job.userId, job.sessionId, job.imageId, result.ext);
      await deps.objects.put(key, result.data, result.contentType).catch((e: unknown) => {
        throw e instanceof ImageEditError
          ? e
          : new ImageEditError("STORAGE_FAILED", "could not store the result (a storage error; see the server log)", {
              retryable: true,
              cause: e,
            });
      });
      storedKey = key;
      metrics.increment("bytes_out_total", { kind: "result" }, result.bytes);
      endPhase();
      await update({
        status: "done",
        percent: 100,
        source,
        result: {
          key,
          width: result.width,
          height: result.height,
          format: result.format,
          bytes: result.bytes,
          ...(result.pages > 1 ? { pages: result.pages } : {}),
        },
      });
      metrics.increment("jobs_total", { outcome: "done", code: "none" });
      metrics.observe("job_duration_seconds", (now() - started) / 1000, { outcome: "done" });
      log.info({ attempts, bytes: result.bytes, ms: now() - started }, "image done");
      return;
    } catch (e) {
      endPhase();
      if (e instanceof Superseded) {
        // The result key is the same for every delivery: a "done" image's file is this one. One
        // the other delivery recorded failed keeps no result, so the file we stored is an orphan.
        if (storedKey) {
          const now = await sessions.get(job.sessionId).catch(() => undefined);
          const other = now?.images.find((i) => i.id === job.imageId);
          if (other && other.status !== "done") await deps.objects.delete(storedKey).catch(() => undefined);
        }
        log.info("job stopped: another delivery finished this image");
        return;
      }
      if (e instanceof SessionGone) {
        // Deleted while we worked: leave nothing behind.
        if (storedKey) await deps.objects.delete(storedKey).catch(() => undefined);
        log.info("session deleted while its image was processed");
        return;
      }
      if (signal?.aborted) {
        // Stopped from outside (a server shutting down, a Lambda deadline): leave the image as it
        // is; whoever stopped it decides what becomes of it (recovery re-queues it on the next start).
        const why = signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? "stopped");
        log.info({ reason: why }, `job interrupted: ${why}`);
        return;
      }
      // A fault from below that nobody typed (a file system or network message naming the server's
      // paths) is the server's business: the user sees that it failed, the log sees why.
      const err =
        e instanceof ImageEditError
          ? e
          : new ImageEditError(
              "PROCESSING_FAILED",
              "the image could not be processed (a server error; see the server log)",
              {
                cause: e,
              },
            );
      const cause = err.cause instanceof Error ? err.cause.message : undefined;
      if (err.retryable && attempts < maxAttempts) {
        const delay = Math.min(10_000, (deps.retryBaseMs ?? 500) * 2 ** (attempts - 1)) * (0.75 + Math.random() * 0.5);
        log.warn({ code: err.code, attempts, delay: Math.round(delay), cause }, `retrying: ${err.message}`);
        metrics.increment("job_retries_total", { code: err.code });
        try {
          await (deps.sleep ?? defaultSleep)(delay, signal);
        } catch {
          return; // aborted while waiting
        }
        continue;
      }
      log.warn({ code: err.code, attempts, cause }, `image failed: ${err.message}`);
      const removeStored = async () => {
        if (storedKey) await deps.objects.delete(storedKey).catch(() => undefined);
      };
      try {
        await update({ status: "failed", percent: 100, error: { code: err.code, message: err.message } });
      } catch (e2) {
        if (e2 instanceof Superseded) return; // the file is the other delivery's result now
        await removeStored();
        if (e2 instanceof SessionGone) return;
        throw e2;
      }
      // A failed image keeps no file: ours, nor one an earlier run stored before it was killed
      // (a process killed between storing and recording done; the source gone on the next run).
      // Failed is final, so no other delivery can still make one of these its result.
      await removeStored();
      const left = await storedResults(deps.objects, job.userId, job.sessionId, job.imageId).catch(() => []);
      for (const key of left) await deps.objects.delete(key).catch(() => undefined);
      metrics.increment("jobs_total", { outcome: "failed", code: err.code });
      metrics.observe("job_duration_seconds", (now() - started) / 1000, { outcome: "failed" });
      return;
    }
  }
}
