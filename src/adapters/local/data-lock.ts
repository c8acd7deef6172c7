// One server per data directory: a second one on the same DATA_DIR would resume the first one's
// unfinished images as its own (every image processed twice) and never see the other's progress
// events. A lock file holds the owner's pid; a lock whose process is gone is stale and taken over.
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
  for (let tries = 0; tries < 3; tries++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: "wx", mode: 0o644 });
      return () => {
        try {
          if (fs.readFileSync(file, "utf8").trim() === String(process.pid)) fs.rmSync(file, { force: true });
        } catch {
          // already gone
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const owner = Number.parseInt(fs.readFileSync(file, "utf8"), 10);
    // This process's own lock (a server in it that was not closed: tests that simulate a crash).
    if (Number.isInteger(owner) && owner !== process.pid && alive(owner))
      throw new DataDirInUseError(
        `DATA_DIR ${dataDir} is in use by another imgedit server (pid ${owner}); stop it or use another DATA_DIR`,
      );
    fs.rmSync(file, { force: true }); // stale: its process is gone
  }
  throw new DataDirInUseError(`DATA_DIR ${dataDir}: could not take its lock (${file})`);
}
