// Local housekeeping (on AWS the bucket lifecycle rule and DynamoDB TTL do this): delete expired
// sessions with their files, result files no done image owns (after a grace period, so a file
// being written for a brand-new session, or stored and not yet recorded done, is safe), stale temp
// files, and uploads older than the TTL.
import type { Logger } from "../../logger.js";
import type { Clock, Session, SessionStore } from "../../ports.js";
import { isResultName } from "../../service/run-job.js";
import { isTerminal } from "../../service/status.js";
import type { FsObjectStore } from "./fs-objects.js";

/**
 * Whether a result file of a live session is an orphan: its name is no image's (`<imageId>.<ext>`),
 * or its image is finished and this file is not its result (a failed image keeps no file; a done
 * one only the file it records). Files of images still in flight stay: their job overwrites them,
 * or removes them if the image fails. Left behind by a process killed between storing a file and
 * recording the image, or between recording a failure and removing the file.
 */
export function isOrphanResult(session: Session, key: string): boolean {
  const parts = key.split("/");
  if (parts.length !== 3) return false; // not a result key: not ours to judge
  const name = parts[2];
  const image = session.images.find((i) => isResultName(name, i.id));
  if (!image) return true;
  if (!isTerminal(image.status)) return false;
  return !(image.status === "done" && image.result?.key === key);
}

export interface SweepOptions {
  sessions: SessionStore;
  objects: FsObjectStore;
  clock: Clock;
  logger?: Logger;
  /** Orphan files and temp files younger than this are kept (ms). */
  graceMs: number;
  /** Uploads older than this are deleted (ms). */
  uploadTtlMs: number;
}

export interface SweepReport {
  expiredSessions: number;
  orphanFiles: number;
  oldUploads: number;
}

export async function sweep(o: SweepOptions): Promise<SweepReport> {
  const now = o.clock.now();
  const report: SweepReport = { expiredSessions: 0, orphanFiles: 0, oldUploads: 0 };
  for (;;) {
    const expired = await o.sessions.listExpired(Math.floor(now / 1000), 100);
    if (!expired.length) break;
    for (const s of expired) {
      await o.objects.deletePrefix(`${s.userId}/${s.sessionId}/`);
      await o.sessions.delete(s.sessionId);
      report.expiredSessions++;
    }
  }
  // Per "<userId>/<sessionId>": the session if it is alive and belongs to that user, else null.
  const known = new Map<string, Session | null>();
  for (const f of await o.objects.listWithTimes("")) {
    const old = now - f.mtimeMs > o.graceMs;
    const parts = f.key.split("/");
    if (f.temp) {
      if (old) {
        await o.objects.removeListed(f.key);
        report.orphanFiles++;
      }
    } else if (parts[0] === "uploads") {
      if (now - f.mtimeMs > o.uploadTtlMs) {
        await o.objects.delete(f.key);
        report.oldUploads++;
      }
    } else if (old && parts.length >= 3) {
      const [userId, sessionId] = parts;
      let session = known.get(`${userId}/${sessionId}`);
      if (session === undefined) {
        const s = await o.sessions.get(sessionId);
        session = s && s.userId === userId ? s : null;
        known.set(`${userId}/${sessionId}`, session);
      }
      // The session was read once per sweep; a file judged from a stale read is still judged
      // right: only finished images (final states) and names no image has make an orphan.
      if (!session || isOrphanResult(session, f.key)) {
        await o.objects.delete(f.key);
        report.orphanFiles++;
      }
    }
  }
  if (report.expiredSessions || report.orphanFiles || report.oldUploads) o.logger?.info(report, "sweeper removed");
  return report;
}

/**
 * Temp files a stopped process left half-written (killed, out of memory). Called at start-up with
 * DATA_DIR locked, before any job runs: nothing else writes there, so every one is stale, and the
 * disk need not wait for the sweeper's grace period.
 */
export async function removeTempFiles(objects: FsObjectStore, logger?: Logger): Promise<number> {
  let removed = 0;
  for (const f of await objects.listWithTimes("")) {
    if (!f.temp) continue;
    await objects.removeListed(f.key);
    removed++;
  }
  if (removed) logger?.info({ tempFiles: removed }, "removed temp files a stopped server left");
  return removed;
}

/** Runs sweep every intervalMs; returns a stop function. */
export function startSweeper(o: SweepOptions & { intervalMs: number }): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    sweep(o)
      .catch((e: unknown) => o.logger?.error({ err: e }, "sweeper failed"))
      .finally(() => {
        running = false;
      });
  }, o.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
