// The directories a run creates for its outputs (`-o new/sub/out.png`), so that a run that writes
// nothing into them can take them away again instead of leaving an empty tree behind.
import { rmdirSync } from "node:fs";
import { mkdir, rmdir, stat } from "node:fs/promises";
import path from "node:path";
import { errnoCode } from "./fs-errors.js";

export class CreatedDirs {
  private readonly made = new Set<string>();

  /** `mkdir -p dir`, remembering the parts of it that did not exist before. */
  async create(dir: string): Promise<void> {
    const target = path.resolve(dir);
    // Looked for first: a mkdir that fails half-way (a full disk) does not say what it made.
    const top = await firstMissing(target);
    try {
      const first = await mkdir(target, { recursive: true });
      if (first !== undefined) this.remember(target, path.resolve(first));
    } catch (e) {
      if (top !== undefined) this.remember(target, top);
      throw e;
    }
  }

  /**
   * Removes the empty ones, deepest first. rmdir refuses a directory that is not empty, so one
   * holding anything (an output of this run, someone else's file) stays; so does any that existed
   * before the run, which was never remembered.
   */
  async removeEmpty(): Promise<void> {
    for (const dir of this.deepestFirst()) await rmdir(dir).catch(() => {});
  }

  /** The same, synchronously: from a signal handler, which the process ends right after. */
  removeEmptySync(): void {
    for (const dir of this.deepestFirst())
      try {
        rmdirSync(dir);
      } catch {
        // not empty, or gone: it stays
      }
  }

  private deepestFirst(): string[] {
    // A child's path is longer than its parent's.
    return [...this.made].sort((a, b) => b.length - a.length);
  }

  /** `target` and its parents up to `top`. */
  private remember(target: string, top: string): void {
    for (let dir = target; ; dir = path.dirname(dir)) {
      this.made.add(dir);
      if (dir === top || dir === path.dirname(dir)) return;
    }
  }
}

/** The highest part of `target` that does not exist (undefined when it all does). */
async function firstMissing(target: string): Promise<string | undefined> {
  let missing: string | undefined;
  for (let dir = target; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const absent = await stat(dir).then(
      () => false,
      (e: unknown) => errnoCode(e) === "ENOENT",
    );
    if (!absent) return missing;
    missing = dir;
  }
  return missing;
}
