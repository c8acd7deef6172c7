// Command-line flags and paths for `npm run bench`. Bench is a script (like bin/): it is the one
// place here that reads its own environment variables (BENCH_FIXTURES).
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const SECTIONS = ["pipeline", "service", "memory", "planner"] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchOptions {
  quick: boolean;
  sections: Section[];
  repoRoot: string;
  photoPath: string;
  gifPath: string;
  /** Install the Debian baselines with apt-get when missing. */
  install: boolean;
  /** Images in flight per tool: the number of cores (sharp.concurrency is 1 here, see DESIGN.md). */
  concurrency: number;
  warmup: number;
  minIterations: number;
  maxIterations: number;
  /** Measuring time per tool and case, after warm-up. */
  budgetMs: number;
  /** Service: concurrency levels, and requests per round of a level (pipeline, service, bare server). */
  serviceLevels: number[];
  serviceRequests: number;
  serviceRounds: number;
  /** Service: edits run before the first level, so V8 has compiled the request path (a server runs for days). */
  serviceWarmup: number;
  /** Memory: images in the batch run. */
  batchImages: number;
  plannerMs: number;
  outFile?: string;
  /** Pipeline cases to run (default: all). */
  cases?: string[];
}

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export const USAGE = `Usage: npm run bench -- [--quick] [--only pipeline,service,memory,planner] [--no-install] [--out FILE]

  --quick        a tiny run (seconds): one warm-up, a couple of iterations per tool
  --only LIST    run only these sections (default: all)
  --cases LIST   pipeline cases only: jpeg,webp,avif,plan12,gif (default: all)
  --no-install   do not apt-get the Debian baselines (imagemagick, graphicsmagick, libvips-tools)
  --out FILE     where to write the JSON results (default bench/results/latest.json; --quick writes
                 bench/results/quick.json unless --out is given)

Environment: BENCH_FIXTURES (default ../shared/fixtures beside the repo) holds
2569067123_aca715a2ee_o.jpg and rotating-squares.gif.`;

/** Bad options: the run says what is wrong, and no more (no stack). */
export class UsageError extends Error {}

export function parseOptions(argv: string[], env: Record<string, string | undefined>): BenchOptions {
  // A mistyped flag (--quik) must not start a full run that overwrites latest.json.
  for (let i = 0; i < argv.length; i++) {
    if (["--only", "--cases", "--out"].includes(argv[i])) i++;
    else if (argv[i] !== "--quick" && argv[i] !== "--no-install")
      throw new UsageError(`unknown option ${argv[i]}\n${USAGE}`);
  }
  const quick = argv.includes("--quick");
  const onlyIdx = argv.indexOf("--only");
  const only = onlyIdx >= 0 ? (argv[onlyIdx + 1] ?? "").split(",").filter(Boolean) : [];
  for (const s of only)
    if (!(SECTIONS as readonly string[]).includes(s)) throw new UsageError(`--only: unknown section "${s}"`);
  const outIdx = argv.indexOf("--out");
  const casesIdx = argv.indexOf("--cases");
  const fixtures = path.resolve(repoRoot, env.BENCH_FIXTURES ?? "../shared/fixtures");
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  return {
    quick,
    sections: only.length ? (only as Section[]) : [...SECTIONS],
    repoRoot,
    photoPath: path.join(fixtures, "2569067123_aca715a2ee_o.jpg"),
    gifPath: path.join(fixtures, "rotating-squares.gif"),
    install: !argv.includes("--no-install"),
    concurrency: cores,
    warmup: quick ? 1 : 3,
    minIterations: quick ? 2 : 6,
    maxIterations: quick ? 4 : 400,
    budgetMs: quick ? 200 : 2500,
    serviceLevels: [1, 2, 4, 8],
    serviceRequests: quick ? 8 : 150,
    serviceRounds: quick ? 1 : 3,
    serviceWarmup: quick ? 4 : 1500,
    batchImages: quick ? 6 : 50,
    plannerMs: quick ? 200 : 2000,
    cases: casesIdx >= 0 ? (argv[casesIdx + 1] ?? "").split(",").filter(Boolean) : undefined,
    outFile:
      outIdx >= 0
        ? path.resolve(argv[outIdx + 1] ?? "")
        : path.join(repoRoot, "bench/results", quick ? "quick.json" : "latest.json"),
  };
}
