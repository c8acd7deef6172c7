// Worker threads start under the node flags the service really runs with: the launcher adds V8's
// --initial-old-space-size, which Node refuses in a thread's explicit execArgv ("invalid execArgv
// flags"), and `node --input-type=module -e` scripts carry flags a thread must not inherit. Either
// way every ImageMagick effect (and, with threads "always", every image) failed.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { workerExecArgv } from "../../src/adapters/local/worker-pool.js";
import { makeImage } from "../helpers/images.js";
import { tempDir } from "../http/harness.js";

const root = path.resolve(import.meta.dirname, "../..");
const src = (p: string) => JSON.stringify(pathToFileURL(path.join(root, "src", p)).href);

describe("workerExecArgv", () => {
  it("inherits the process's flags when nothing in them is the main script's own", () => {
    expect(workerExecArgv([])).toBeUndefined();
    expect(workerExecArgv(["--initial-old-space-size=128", "--enable-source-maps", "--import", "tsx"])).toBeUndefined();
  });

  it("with -e/--input-type/--print: only the flags that load code, with their values", () => {
    expect(
      workerExecArgv([
        "--input-type=module",
        "--initial-old-space-size=128",
        "--import",
        "tsx",
        "--require=./hook.cjs",
        "-C",
        "dev",
        "--stack-size=900",
        "--enable-source-maps",
        "-e",
        "console.log(1)",
      ]),
    ).toEqual(["--import", "tsx", "--require=./hook.cjs", "-C", "dev", "--enable-source-maps"]);
    expect(workerExecArgv(["-p", "1 + 1"])).toEqual([]);
  });
});

describe("a pool started under the launcher's V8 flag", () => {
  // One ImageMagick effect and one plain resize in threads, in a child process started with the
  // flags; it prints each result's size.
  const script = (imagePath: string) => `
    const { readFileSync } = await import("node:fs");
    const { WorkerPool } = await import(${src("adapters/local/worker-pool.ts")});
    const { validatePlan } = await import(${src("core/plan.ts")});
    const { DEFAULT_LIMITS } = await import(${src("core/limits.ts")});
    const input = readFileSync(${JSON.stringify(imagePath)});
    const pool = new WorkerPool(1, { threads: "always" });
    const out = [];
    for (const plan of [[{ op: "resize", width: 40 }, { op: "swirl", degrees: 90 }], [{ op: "resize", width: 20 }]]) {
      const r = await pool.process(input, validatePlan(plan, DEFAULT_LIMITS), { limits: DEFAULT_LIMITS });
      out.push([r.width, r.height]);
    }
    await pool.close();
    console.log(JSON.stringify(out));
  `;

  async function run(how: "file" | "eval") {
    const dir = tempDir();
    const imagePath = path.join(dir, "in.png");
    writeFileSync(imagePath, await makeImage({ width: 80, height: 60, gradient: true }));
    const flags = ["--initial-old-space-size=128", "--stack-size=900", "--import", "tsx"];
    let args: string[];
    if (how === "file") {
      const file = path.join(dir, "run.mts");
      writeFileSync(file, script(imagePath));
      args = [...flags, file];
    } else {
      args = [...flags, "--input-type=module", "-e", script(imagePath)];
    }
    const r = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", timeout: 60_000 });
    return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr };
  }

  it.each([
    ["a script file", "file"],
    ["node --input-type=module -e", "eval"],
  ] as const)(
    "runs effects and plain plans in threads (%s)",
    async (_name, how) => {
      const r = await run(how);
      expect(r.stderr).not.toMatch(/invalid execArgv/);
      expect(r.stdout).toBe("[[40,30],[20,15]]");
      expect(r.status).toBe(0);
    },
    90_000,
  );
});
