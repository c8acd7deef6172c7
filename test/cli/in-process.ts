// The `imgedit` command run in this process: main(argv, io) with the output collected, for tests
// that need no terminal and want to be quick (edit.test.ts runs real processes).
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { main } from "../../src/cli/main.js";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function sink(): Writable & { text: string } {
  const w = new Writable({
    write(chunk, _enc, done) {
      w.text += String(chunk);
      done();
    },
  }) as Writable & { text: string };
  w.text = "";
  return w;
}

/** Runs `imgedit <argv>`; env is added to a quiet default (no logs). Never rejects: main must not. */
export async function imgedit(argv: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const stdout = sink();
  const stderr = sink();
  const code = await main(argv, { stdout, stderr, env: { LOG_LEVEL: "silent", ...env } });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

export function scratch(prefix = "imgedit-cli-"): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

/** chmod 000 stops nobody who runs as root: permission checks are skipped there. */
export const isRoot = process.getuid?.() === 0;
