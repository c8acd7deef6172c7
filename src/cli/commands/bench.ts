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
the tables and writes bench/results/latest.json. Same as \`npm run bench\` (needs a source checkout
with dev dependencies). See docs/readme/performance.md.
`;

// src/cli/commands or dist/cli/commands -> the repository root
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

function run(argv: string[], io: CliIO): Promise<number> {
  const entry = path.join(root, "bench", "run.ts");
  if (!existsSync(entry)) {
    io.stderr.write(`imgedit bench: ${entry} not found: the benchmark runs from a source checkout (npm run bench)\n`);
    return Promise.resolve(2);
  }
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", entry, ...argv], {
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
