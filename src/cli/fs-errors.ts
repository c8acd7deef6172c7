// File-system errors as a person reads them: "permission denied", "is a directory", "no space left
// on device", instead of Node's "EACCES: permission denied, open '/x/y'" or a stack trace.
import { lstat, readlink } from "node:fs/promises";

/** A failure the CLI reports as one line (a row's status, or `imgedit <cmd>: <message>`). */
export class CliFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function errnoCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** Node's system errors (fs, net): a string code and a syscall. */
export function isSystemError(e: unknown): e is NodeJS.ErrnoException {
  return (
    e instanceof Error && typeof errnoCode(e) === "string" && typeof (e as { syscall?: unknown }).syscall === "string"
  );
}

const REASONS: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOENT: "no such file or directory",
  ENOTDIR: "a part of the path is not a directory",
  EISDIR: "is a directory",
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EROFS: "read-only file system",
  EMFILE: "too many open files",
  ENFILE: "too many open files",
  ELOOP: "too many levels of symbolic links",
  ENAMETOOLONG: "file name too long",
  EEXIST: "already exists",
  ENOTEMPTY: "directory not empty",
  EXDEV: "on another file system",
  EIO: "input/output error",
  EBUSY: "resource busy",
};

/** "permission denied" for EACCES; Node's own text (without the code and path) otherwise. */
export function reason(e: unknown): string {
  const code = errnoCode(e);
  if (code && REASONS[code]) return REASONS[code];
  const message = e instanceof Error ? e.message : String(e);
  // "EFOO: something went wrong, open '/x'" -> "something went wrong"
  return message.replace(/^[A-Z0-9_]+: /, "").replace(/, \w+ '.*'$/, "");
}

/** Why `file` cannot be read as an input, as a CliFailure with a stable code. */
export async function readProblem(file: string, e: unknown): Promise<CliFailure> {
  const code = errnoCode(e);
  if (code === "ENOENT") {
    const link = await lstat(file).catch(() => undefined);
    if (link?.isSymbolicLink()) {
      const target = await readlink(file).catch(() => "?");
      return new CliFailure("NOT_FOUND", `${file} is a broken symbolic link (${target} does not exist)`);
    }
    return new CliFailure("NOT_FOUND", `no such file: ${file}`);
  }
  if (code === "ENOTDIR") return new CliFailure("NOT_FOUND", `no such file: ${file} (${REASONS.ENOTDIR})`);
  if (code === "EACCES" || code === "EPERM") return new CliFailure("PERMISSION_DENIED", `permission denied: ${file}`);
  if (code === "EISDIR") return notAFile(file, true);
  return new CliFailure("READ_FAILED", `cannot read ${file}: ${reason(e)}`);
}

export function notAFile(file: string, directory: boolean): CliFailure {
  return new CliFailure("NOT_A_FILE", directory ? `${file} is a directory` : `${file} is not a regular file`);
}

/** One line for an error no command handled: system errors read well, anything else is a bug. */
export function describeUnexpected(e: unknown): { message: string; bug: boolean } {
  if (e instanceof CliFailure) return { message: e.message, bug: false };
  if (isSystemError(e)) {
    const where = e.path ? `${e.path}: ` : "";
    return { message: `${where}${reason(e)} (${e.syscall})`, bug: false };
  }
  if (e instanceof Error) return { message: e.stack ?? e.message, bug: true };
  return { message: String(e), bug: true };
}
