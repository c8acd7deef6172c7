#!/usr/bin/env node
// Launcher. glibc malloc fragments under libvips, so the process must start with
// MALLOC_ARENA_MAX=2 (glibc reads it only at start-up): re-exec once with it set.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const self = fileURLToPath(import.meta.url);
if (!process.env.MALLOC_ARENA_MAX) {
  const child = spawn(process.execPath, [...process.execArgv, self, ...process.argv.slice(2)], {
    stdio: "inherit",
    env: { ...process.env, MALLOC_ARENA_MAX: "2" },
  });
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => child.kill(sig));
  child.on("exit", (code, signal) => {
    process.exitCode = code ?? (signal ? 128 : 1);
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
