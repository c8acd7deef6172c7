// Standard output or error that cannot be written (`imgedit parse ... | head -1` closes the pipe,
// `> /dev/full` fills the disk): a closed pipe ends the output quietly with 141 (128 + SIGPIPE, as
// a shell reports a command a closed pipe ended); anything else is one line and exit status 1;
// never Node's "Unhandled 'error' event" and a stack trace.
import { spawn } from "node:child_process";
import { existsSync, openSync } from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { EXIT_CLOSED_PIPE, main } from "../../src/cli/main.js";
import { sink } from "./in-process.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

/** A stream whose writes fail with `code`, as a closed pipe or a full disk fails them. */
function failing(code: string, message: string): Writable {
  return new Writable({
    write(_chunk, _enc, done) {
      done(Object.assign(new Error(`${code}: ${message}, write`), { code, syscall: "write" }));
    },
  });
}

describe("output that cannot be written", () => {
  it("a closed pipe (EPIPE): nothing on stderr, exit status 141", async () => {
    const stderr = sink();
    const code = await main(["parse", "rotate 90"], {
      stdout: failing("EPIPE", "broken pipe"),
      stderr,
      env: { LOG_LEVEL: "silent" },
    });
    expect(code).toBe(EXIT_CLOSED_PIPE);
    expect(code).toBe(141);
    expect(stderr.text).toBe("");
  });

  it("a full disk (ENOSPC): one line on stderr, exit status 1", async () => {
    for (const argv of [["parse", "rotate 90"], ["cost"]]) {
      const stderr = sink();
      const code = await main(argv, { stdout: failing("ENOSPC", "no space left on device"), stderr, env: {} });
      expect(code, argv.join(" ")).toBe(1);
      expect(stderr.text).toBe("imgedit: cannot write the output: no space left on device\n");
    }
  });

  it.skipIf(!existsSync("/dev/full"))(
    "as a real process writing to /dev/full: one line, exit status 1, no stack trace",
    async () => {
      const full = openSync("/dev/full", "w");
      const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "src/cli/main.ts"), "cost"], {
        cwd: ROOT,
        stdio: ["ignore", full, "pipe"],
      });
      let stderr = "";
      child.stderr?.setEncoding("utf8").on("data", (d: string) => {
        stderr += d;
      });
      const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
      expect(stderr).toBe("imgedit: cannot write the output: no space left on device\n");
      expect(code).toBe(1);
    },
    30_000,
  );
});
