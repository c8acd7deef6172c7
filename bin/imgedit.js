#!/usr/bin/env node
// Launcher. glibc malloc fragments under libvips, so the process must start with
// MALLOC_ARENA_MAX=2, and libuv's pool must be large enough for the images processed at once.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";

// Both are read by the C runtime or libuv only at start-up, so the launcher sets what is missing
// and re-execs once. sharp holds one libuv pool thread per image for the whole decode-resize-
// encode, and file and DNS work waits for the same pool (4 threads by default): leave 4 free
// beside the images.
const startEnv = {};
if (!process.env.MALLOC_ARENA_MAX) startEnv.MALLOC_ARENA_MAX = "2";
if (!process.env.UV_THREADPOOL_SIZE) {
  const images = Number(process.env.WORKER_CONCURRENCY) || os.availableParallelism();
  startEnv.UV_THREADPOOL_SIZE = String(Math.min(1024, Math.max(4, images + 4)));
}

const self = fileURLToPath(import.meta.url);
if (Object.keys(startEnv).length) {
  const child = spawn(process.execPath, [...process.execArgv, self, ...process.argv.slice(2)], {
    stdio: "inherit",
    env: { ...process.env, ...startEnv },
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
