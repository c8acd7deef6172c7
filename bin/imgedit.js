#!/usr/bin/env node
// Launcher: glibc, libuv and V8 read some settings only at start-up (MALLOC_ARENA_MAX=2, libuv's
// pool size, V8's first heap limit: see start-settings.js), so the launcher adds what is missing
// and re-execs once.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { startSettings } from "./start-settings.js";

const missing = startSettings(process.env, process.execArgv);
const self = fileURLToPath(import.meta.url);
if (Object.keys(missing.env).length || missing.nodeArgs.length) {
  const child = spawn(process.execPath, [...process.execArgv, ...missing.nodeArgs, self, ...process.argv.slice(2)], {
    stdio: "inherit",
    env: { ...process.env, ...missing.env },
  });
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => child.kill(sig));
  // A child killed by a signal: 128 + its number, as a shell reports it (143 for SIGTERM).
  child.on("exit", (code, signal) => {
    process.exitCode = code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1);
  });
} else {
  const built = new URL("../dist/cli/main.js", import.meta.url);
  if (!existsSync(built)) {
    process.stderr.write("imgedit: not built yet; run `npm run build` first\n");
    process.exit(1);
  }
  const { main } = await import(built.href);
  process.exitCode = await main(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  });
}
