// One server per data directory: a second one on the same DATA_DIR would resume the first one's
// unfinished images as its own (every image processed twice) and never see the other's progress
// events. A lock file holds the owner's pid (and when it started); a lock whose process is gone
// is stale and taken over.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { ImageEditError } from "../../core/errors.js";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"; // exists, another user's
  }
}

/**
 * When a process started (Linux: clock ticks since boot, /proc/<pid>/stat field 22), or undefined
 * where that cannot be read. Kept in the lock beside the pid: after a crash and a reboot or a long
 * while, the pid may belong to another program, and the lock would block every start until removed by hand.
 */
function startTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** The lock's owner still runs: its pid is alive and, where the lock says when it started, it is that process. */
function holds(owner: { pid: number; started?: string }): boolean {
  if (!Number.isInteger(owner.pid) || !alive(owner.pid)) return false;
  const now = owner.started === undefined ? undefined : startTime(owner.pid);
  return now === undefined || now === owner.started;
}

/** DATA_DIR is another live server's: a setting to change (or a server to stop), not a bug. */
export class DataDirInUseError extends ImageEditError {
  constructor(message: string) {
    super("CONFLICT", message, { field: "DATA_DIR" });
    this.name = "DataDirInUseError";
  }
}

/** Takes DATA_DIR's lock for this process; returns its release. Throws DataDirInUseError (CONFLICT) if it is taken. */
export function lockDataDir(dataDir: string): () => void {
  const file = path.join(dataDir, "server.lock");
  // The lock appears whole: written beside it, then linked into place (link fails if it exists).
  // Written in place, a server starting at the same moment could read it empty and take it as stale.
  const mine = `${file}.${process.pid}-${randomBytes(4).toString("hex")}`;
  const started = startTime(process.pid);
  fs.writeFileSync(mine, `${process.pid}${started ? ` ${started}` : ""}\n`, { mode: 0o644 });
  try {
    for (let tries = 0; tries < 50; tries++) {
      try {
        fs.linkSync(mine, file);
        return () => {
          try {
            if (readLock(file)?.pid === process.pid) fs.rmSync(file, { force: true });
          } catch {
            // already gone
          }
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      const seen = readLock(file);
      // This process's own lock (a server in it that was not closed: tests that simulate a crash).
      if (seen !== undefined && seen.pid !== process.pid && holds(seen))
        throw new DataDirInUseError(
          `DATA_DIR ${dataDir} is in use by another imgedit server (pid ${seen.pid}); stop it or use another DATA_DIR`,
        );
      removeStale(file, seen);
    }
  } finally {
    fs.rmSync(mine, { force: true });
  }
  throw new DataDirInUseError(`DATA_DIR ${dataDir}: could not take its lock (${file})`);
}

function readLock(file: string): { pid: number; started?: string; ino: number } | undefined {
  try {
    const fd = fs.openSync(file, "r");
    try {
      const [pid, started] = fs.readFileSync(fd, "utf8").trim().split(/\s+/);
      return { pid: Number.parseInt(pid, 10), started, ino: fs.fstatSync(fd).ino };
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined; // gone meanwhile: try again
  }
}

/**
 * Removes the stale lock that was read (same file, by its inode), never one another server has
 * just put in its place: of several servers starting over one stale lock, each would otherwise
 * remove the lock the first of them took. The removal runs under a mkdir mutex (atomic); one
 * left by a process that died inside it is old within a second and taken over.
 */
function removeStale(file: string, seen: { pid: number; started?: string; ino: number } | undefined): void {
  const mutex = `${file}.takeover`;
  try {
    fs.mkdirSync(mutex);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    const age = Date.now() - (fs.statSync(mutex, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
    if (age > 1000) fs.rmSync(mutex, { recursive: true, force: true });
    sleepSync(5);
    return;
  }
  try {
    const now = readLock(file);
    if (seen && now && now.ino === seen.ino && now.pid === seen.pid) fs.rmSync(file, { force: true });
  } finally {
    fs.rmSync(mutex, { recursive: true, force: true });
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
