// `imgedit bench`: runs the benchmark harness (bench/run.ts) from a source checkout, where the
// baselines and fixtures live; the published package does not ship bench/.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { CliCommand, CliIO } from "../main.js";

const USAGE = `
Usage: imgedit bench [--quick] [--only pipeline,service,memory,planner] [--cases LIST] [--no-install] [--out FILE]

Measures imgedit against bare sharp, vipsthumbnail, ImageMagick 7 (magick-wasm), ImageMagick 6
convert and GraphicsMagick in one run, plus the service end to end, memory and the planner; prints
the tables and writes bench/results/latest.json (--quick: quick.json; --out FILE: FILE, relative to
the current directory). Same as \`npm run bench\` (needs a source checkout with dev dependencies).
See docs/readme/performance.md.
`;

/** bench/options.ts's SECTIONS and bench/baselines.ts's case ids (a test keeps them the same). */
export const SECTIONS = ["pipeline", "service", "memory", "planner"];
export const CASES = ["jpeg", "webp", "avif", "plan12", "gif"];

export class BenchUsageError extends Error {}

/**
 * The harness's arguments, checked before anything runs: an unknown or mistyped flag must not
 * start a full run that overwrites bench/results/latest.json. --out is made absolute against
 * `cwd` (the harness itself runs in the repository).
 */
export function benchArgs(argv: string[], cwd: string): string[] {
  const out: string[] = [];
  const list = (flag: string, value: string, known: string[], what: string) => {
    const items = value.split(",").filter(Boolean);
    if (items.length === 0) throw new BenchUsageError(`${flag} needs a list: ${known.join(",")}`);
    for (const item of items)
      if (!known.includes(item))
        throw new BenchUsageError(`${flag}: unknown ${what} "${item}" (use ${known.join(", ")})`);
    return items.join(",");
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].startsWith("--") && argv[i].includes("=") ? argv[i].split(/=(.*)/s) : [argv[i]];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || (inline === undefined && v.startsWith("--")))
        throw new BenchUsageError(`${flag} needs a value`);
      return v;
    };
    if ((flag === "--quick" || flag === "--no-install") && inline === undefined) out.push(flag);
    else if (flag === "--only") out.push(flag, list(flag, value(), SECTIONS, "section"));
    else if (flag === "--cases") out.push(flag, list(flag, value(), CASES, "case"));
    else if (flag === "--out") {
      const file = value();
      if (file.trim() === "") throw new BenchUsageError("--out needs a file name");
      out.push(flag, path.resolve(cwd, file));
    } else throw new BenchUsageError(`unknown option ${argv[i]} (see imgedit bench --help)`);
  }
  return out;
}

// src/cli/commands or dist/cli/commands -> the repository root
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

function run(argv: string[], io: CliIO): Promise<number> {
  let args: string[];
  try {
    args = benchArgs(argv, process.cwd());
  } catch (e) {
    if (!(e instanceof BenchUsageError)) throw e;
    io.stderr.write(`imgedit bench: ${e.message}\n`);
    return Promise.resolve(2);
  }
  const entry = path.join(root, "bench", "run.ts");
  if (!existsSync(entry)) {
    io.stderr.write(`imgedit bench: ${entry} not found: the benchmark runs from a source checkout (npm run bench)\n`);
    return Promise.resolve(2);
  }
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", entry, ...args], {
      cwd: root,
      env: io.env as NodeJS.ProcessEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.pipe(io.stdout, { end: false });
    child.stderr.pipe(io.stderr, { end: false });
    child.on("error", (e) => {
      io.stderr.write(`imgedit bench: ${e.message}\n`);
      resolve(1);
    });
    child.on("close", (code) => resolve(code ?? 1));
  });
}

const command: CliCommand = {
  summary: "benchmark imgedit against sharp, libvips, ImageMagick and GraphicsMagick",
  usage: USAGE,
  run,
};
export default command;
