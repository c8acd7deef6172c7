// Local housekeeping (on AWS the bucket lifecycle rule and DynamoDB TTL do this): delete expired
// sessions with their files, result files whose session is gone (after a grace period, so a file
// being written for a brand-new session is safe), stale temp files, and uploads older than the TTL.
import type { Logger } from "../../logger.js";
import type { Clock, SessionStore } from "../../ports.js";
import type { FsObjectStore } from "./fs-objects.js";

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
  const known = new Map<string, boolean>();
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
      let alive = known.get(sessionId);
      if (alive === undefined) {
        const s = await o.sessions.get(sessionId);
        alive = !!s && s.userId === userId;
        known.set(sessionId, alive);
      }
      if (!alive) {
        await o.objects.delete(f.key);
        report.orphanFiles++;
      }
    }
  }
  if (report.expiredSessions || report.orphanFiles || report.oldUploads) o.logger?.info(report, "sweeper removed");
  return report;
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
