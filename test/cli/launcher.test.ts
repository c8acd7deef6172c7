// bin/imgedit.js: the settings glibc and libuv read only at start-up are in place before the CLI
// runs (MALLOC_ARENA_MAX=2, a libuv pool with room for the images beside file work), the user's
// own values win, and the CLI's exit code comes through. The real launcher runs in a copy of the
// package layout whose dist/cli/main.js reports what it sees, so no build is needed.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, expect, it } from "vitest";
import { tempDir } from "../http/harness.js";

const LAUNCHER = fileURLToPath(new URL("../../bin/imgedit.js", import.meta.url));
let root = "";

beforeAll(() => {
  root = tempDir();
  mkdirSync(path.join(root, "bin"));
  mkdirSync(path.join(root, "dist", "cli"), { recursive: true });
  copyFileSync(LAUNCHER, path.join(root, "bin", "imgedit.js"));
  copyFileSync(path.join(path.dirname(LAUNCHER), "start-settings.js"), path.join(root, "bin", "start-settings.js"));
  // Counts this process's threads after the libuv pool has started: the pool's size shows in it.
  writeFileSync(
    path.join(root, "dist", "cli", "main.js"),
    `import { readdirSync } from "node:fs";
import { pbkdf2 } from "node:crypto";
export async function main(argv, io) {
  await new Promise((r) => pbkdf2("a", "b", 1, 32, "sha256", r));
  io.stdout.write(JSON.stringify({
    arena: process.env.MALLOC_ARENA_MAX ?? null,
    uv: process.env.UV_THREADPOOL_SIZE ?? null,
    threads: readdirSync("/proc/self/task").length,
    execArgv: process.execArgv,
    argv,
  }));
  return Number(argv[0] ?? 0);
}
`,
  );
});

function launch(env: Record<string, string | undefined>, args: string[] = [], nodeArgs: string[] = []) {
  const e: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k];
  const r = spawnSync(process.execPath, [...nodeArgs, path.join(root, "bin", "imgedit.js"), ...args], {
    env: e,
    encoding: "utf8",
  });
  return {
    status: r.status,
    seen: JSON.parse(r.stdout) as { arena: string; uv: string; threads: number; execArgv: string[]; argv: string[] },
  };
}

it("sets MALLOC_ARENA_MAX=2 and a libuv pool of images + 4 threads, and passes arguments and exit code", () => {
  const r = launch({ MALLOC_ARENA_MAX: undefined, UV_THREADPOOL_SIZE: undefined, WORKER_CONCURRENCY: "3" }, ["3", "x"]);
  expect(r.seen.arena).toBe("2");
  expect(r.seen.uv).toBe("7");
  expect(r.seen.argv).toEqual(["3", "x"]);
  expect(r.status).toBe(3);
});

it("the pool really has that size: three more threads than with the user's own 4", () => {
  const four = launch({ MALLOC_ARENA_MAX: "2", UV_THREADPOOL_SIZE: "4" });
  expect(four.seen.uv).toBe("4");
  // MALLOC_ARENA_MAX already set: the launcher still starts the CLI afresh for the pool size
  const seven = launch({ MALLOC_ARENA_MAX: "2", UV_THREADPOOL_SIZE: undefined, WORKER_CONCURRENCY: "3" });
  expect(seven.seen.uv).toBe("7");
  expect(seven.seen.threads - four.seen.threads).toBe(3);
});

it("keeps values the user set", () => {
  const r = launch({ MALLOC_ARENA_MAX: "4", UV_THREADPOOL_SIZE: "9" });
  expect([r.seen.arena, r.seen.uv]).toEqual(["4", "9"]);
  expect(r.status).toBe(0);
});

it("starts V8 with a 128 MB first old-generation limit, unless the user passed one to node", () => {
  const r = launch({ MALLOC_ARENA_MAX: "2", UV_THREADPOOL_SIZE: "4" });
  expect(r.seen.execArgv).toContain("--initial-old-space-size=128");
  const own = launch({ MALLOC_ARENA_MAX: "2", UV_THREADPOOL_SIZE: "4" }, [], ["--initial_old_space_size=32"]);
  expect(own.seen.execArgv).toEqual(["--initial_old_space_size=32"]);
});
