// `imgedit cost`: the deployment guide's monthly cost table recomputed from the price table and
// from what the benchmark measured, side by side, per month and per image.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  type CostEstimate,
  DEPLOYED_API,
  estimateCost,
  GUIDE_PRINTED,
  guideWorkload,
  type LineKey,
  type Measured,
  measuredFromBench,
  measuredSeconds,
  measuredWorkload,
} from "../../cost/model.js";
import { PRICES } from "../../cost/prices.js";
import { nearestName } from "../args.js";
import type { CliCommand, CliIO } from "../main.js";

const USAGE = `
Usage: imgedit cost [--images-per-day N] [--memory-mb M] [--seconds S] [--from-bench [FILE]] [--json]

Recomputes the deployment guide's monthly AWS cost table (Lambda, DynamoDB, S3, transfer) from the
price table in src/cost/prices.ts and prints, side by side, the guide's assumptions and the figures
the benchmark measured (bench/results/latest.json: processing time, result size, session writes).

Options:
  --images-per-day N   volume, 1 to 1,000,000,000 (default 1000, as in the guide)
  --memory-mb M        processor Lambda memory, 128-10240 (default 2048); below 1769 MB Lambda gives
                       less than one vCPU, so the measured time is scaled up in proportion
  --seconds S          processing time per image on one core, instead of the benchmark's (at most
                       900, Lambda's limit)
  --from-bench [FILE]  the benchmark results to use (relative to the current directory; default
                       the repository's bench/results/latest.json, wherever you run this); without
                       this flag that file is used when it exists
  --json               machine-readable output
`;

/** A billion images a day; more is no longer a question this table answers. */
const MAX_IMAGES_PER_DAY = 1_000_000_000;
/** Lambda's longest run: 15 minutes. */
const MAX_SECONDS = 900;

interface Args {
  imagesPerDay: number;
  memoryMB: number;
  seconds?: number;
  benchFile?: string;
  requireBench: boolean;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { imagesPerDay: 1000, memoryMB: 2048, requireBench: false, json: false };
  const positive = (flag: string, v: string | undefined, integer: boolean, max: number, why: string) => {
    const n = Number(v);
    if (v === undefined || v.trim() === "" || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
      throw new Error(`${flag} needs a positive ${integer ? "whole " : ""}number, got ${v?.trim() ? v : "nothing"}`);
    if (n > max) throw new Error(`${flag} ${v}: at most ${max.toLocaleString("en-US")} (${why})`);
    return n;
  };
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    // `--images-per-day=5000` as well as `--images-per-day 5000`, as the other commands take it.
    const eq = argv[i].startsWith("--") ? argv[i].indexOf("=") : -1;
    const flag = eq === -1 ? argv[i] : argv[i].slice(0, eq);
    const inline = eq === -1 ? undefined : argv[i].slice(eq + 1);
    const value = () => (inline !== undefined ? inline : argv[++i]);
    if (!OPTIONS.includes(flag)) {
      const near = nearestName(
        flag,
        OPTIONS.map((o) => o.slice(2)),
      );
      throw new Error(`unknown option ${flag} (${near ? `did you mean --${near}?` : "see imgedit cost --help"})`);
    }
    // The last of two would win without a word: `--images-per-day 5000 --images-per-day 500`.
    if (seen.has(flag) && flag !== "--json") throw new Error(`${flag} is given twice: give it once`);
    seen.add(flag);
    if (flag === "--images-per-day")
      a.imagesPerDay = positive(flag, value(), true, MAX_IMAGES_PER_DAY, "beyond that the estimate means nothing");
    else if (flag === "--memory-mb") {
      a.memoryMB = positive(flag, value(), true, 10_240, "Lambda's range is 128-10240 MB");
      if (a.memoryMB < 128) throw new Error("--memory-mb must be 128-10240 (Lambda's range)");
    } else if (flag === "--seconds")
      a.seconds = positive(flag, value(), false, MAX_SECONDS, "Lambda stops a function after 15 minutes");
    else if (flag === "--from-bench") {
      a.requireBench = true;
      if (inline !== undefined) a.benchFile = inline;
      else if (argv[i + 1] && !argv[i + 1].startsWith("--")) a.benchFile = argv[++i];
    } else if (inline !== undefined) throw new Error(`${flag} takes no value`);
    else a.json = true;
  }
  return a;
}

const OPTIONS = ["--images-per-day", "--memory-mb", "--seconds", "--from-bench", "--json"];

// src/cli/commands or dist/cli/commands -> the repository root, where `npm run bench` writes.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const DEFAULT_BENCH_FILE = path.join(ROOT, "bench", "results", "latest.json");

/** A path as the user can find it: relative to where they are when it is below, else absolute. */
function shown(file: string, cwd: string): string {
  const relative = path.relative(cwd, file);
  return relative && !relative.startsWith("..") && !path.isAbsolute(relative) ? relative : file;
}

/**
 * The benchmark's results: --from-bench FILE (relative to the current directory), else the file
 * `npm run bench` writes in the repository, wherever `imgedit cost` is run from.
 */
export function loadMeasured(
  a: Pick<Args, "benchFile" | "requireBench">,
  cwd: string,
  defaultFile = DEFAULT_BENCH_FILE,
): { measured?: Measured; note?: string } {
  const file = a.benchFile === undefined ? defaultFile : path.resolve(cwd, a.benchFile);
  if (!existsSync(file)) {
    if (a.requireBench) throw new Error(`no benchmark results at ${file}: run \`npm run bench\` first`);
    return { note: `no ${shown(file, cwd)} yet (run \`npm run bench\`)` };
  }
  try {
    return { measured: measuredFromBench(JSON.parse(readFileSync(file, "utf8")), shown(file, cwd)) };
  } catch (e) {
    throw new Error(`could not read ${file}: ${e instanceof Error ? e.message : e}`);
  }
}

const usd = (n: number) => (n >= 0.01 || n === 0 ? `$${n.toFixed(2)}` : `$${n.toPrecision(2)}`);
const perImage = (n: number) => `$${n.toFixed(6)}`;

function pad(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows
    .map((r) => r.map((c, i) => (i > 0 && /^\$/.test(c) ? c.padStart(w[i]) : c.padEnd(w[i]))).join("  "))
    .join("\n")
    .replace(/ +$/gm, "");
}

export function renderCost(
  a: Pick<Args, "imagesPerDay" | "memoryMB" | "seconds">,
  guide: CostEstimate,
  measured: CostEstimate | undefined,
  m: Measured | undefined,
): string {
  const printed = a.imagesPerDay === GUIDE_PRINTED.imagesPerDay && a.memoryMB === 2048;
  const head = ["resource", "guide's assumptions", ...(printed ? ["guide printed"] : []), "recomputed"];
  if (measured) head.push("measured", "measured $");
  const rows = [head];
  for (const line of guide.lines) {
    const ml = measured?.lines.find((x) => x.key === line.key);
    const row = [line.resource, line.usage];
    if (printed) row.push(usd(GUIDE_PRINTED.lines[line.key as LineKey]));
    row.push(usd(line.cost));
    if (ml) row.push(ml.usage, usd(ml.cost));
    rows.push(row);
  }
  const total = ["Total per month", ""];
  if (printed) total.push(usd(GUIDE_PRINTED.total));
  total.push(usd(guide.total));
  if (measured) total.push("", usd(measured.total));
  const each = ["Per image", ""];
  if (printed) each.push(perImage(GUIDE_PRINTED.perImage));
  each.push(perImage(guide.perImage));
  if (measured) each.push("", perImage(measured.perImage));
  rows.push(total, each);

  const out = [
    `imgedit cost — ${a.imagesPerDay.toLocaleString("en-US")} images/day (${guide.imagesPerMonth.toLocaleString("en-US")}/month), processor ${a.memoryMB} MB`,
    `Prices: AWS ${PRICES.region} list prices as of ${PRICES.asOf} (src/cost/prices.ts); check them against AWS's pricing pages before relying on them. No free tier applied.`,
    "",
    pad(rows),
    "",
  ];
  if (printed) {
    const proc = guide.lines.find((l) => l.key === "processor")?.cost ?? 0;
    const api = guide.lines.find((l) => l.key === "api")?.cost ?? 0;
    const ddb = guide.lines.find((l) => l.key === "dynamodb")?.cost ?? 0;
    out.push(
      "Where the guide's arithmetic is off (same assumptions, same prices):",
      `  processor: 30,000 x 10 s x 2 GB = 600,000 GB-s x $0.0000166667 = $10.00 (+ $0.006 requests) = ${usd(proc)}; the guide's $16.67 is what 1,000,000 GB-s would cost.`,
      `  main Lambda: 30,000 x 1 s x 0.25 GB = 7,500 GB-s = $0.125 (+ $0.006 requests) = ${usd(api)}, not $0.83.`,
      `  DynamoDB: 90,000 writes + 90,000 reads = ${usd(ddb)} on demand ($0.135 at the prices before 2024-11-01); $1.13 is $1.25 per 100,000 writes instead of per million.`,
      `  So the guide's own assumptions give ${usd(guide.total)}/month, not $25.60.`,
      "",
    );
  }
  if (m && measured) {
    const proc = measured.lines.find((l) => l.key === "processor");
    out.push(
      `Measured (${m.source}${m.date ? `, ${m.date.slice(0, 10)}` : ""}${m.machine ? `, ${m.machine}` : ""}):`,
      `  processing: ${processingText(a.seconds, m)}`,
      `  (2725x2225 JPEG -> 800 px JPEG; the guide assumes 10 s). Cold starts (loading sharp) are not included.`,
      `  ${proc?.usage ?? ""}: one bench core taken as one Lambda vCPU (1769 MB); below that Lambda gets less CPU, so time grows.`,
      `  API: billed at ${DEPLOYED_API.memoryMB} MB (as deployed) while the progress stream is open (response streaming), ~the processing time, over 2 invocations (POST + stream).`,
      `  storage and transfer from the measured result size (${m.outputBytes ? `${Math.round(m.outputBytes / 1024)} KB` : "unknown"}), kept 30 days, downloaded ${2} times.`,
      `  DynamoDB: ${m.writesPerImage !== undefined ? `${m.writesPerImage} session writes per image (progress events counted)` : "the guide's 3 writes per image (not measured)"} and 1 for the edit's rate count, ${measured.workload.dynamodb.readsPerImage} reads (the guide's 3, plus the open progress stream's: one, and one more per ${DEPLOYED_API.pollSeconds} s).`,
      "",
    );
  }
  return out.join("\n");
}

function processingText(seconds: number | undefined, m: Measured): string {
  if (seconds !== undefined) return `${seconds} s per image on one core (--seconds)`;
  const ms = (v: number | undefined) => (v === undefined ? "not measured" : `${Math.round(v * 1000)} ms`);
  return `${ms(measuredSeconds(m))} per image, the larger of the service's end-to-end p50 at concurrency 1 (${ms(m.serviceSeconds)}) and the pipeline's median (${ms(m.pipelineSeconds)})`;
}

async function run(argv: string[], io: CliIO): Promise<number> {
  let a: Args;
  let loaded: ReturnType<typeof loadMeasured>;
  try {
    a = parseArgs(argv);
    loaded = loadMeasured(a, process.cwd());
  } catch (e) {
    io.stderr.write(`imgedit cost: ${e instanceof Error ? e.message : e}\n`);
    return 2;
  }
  const guide = estimateCost(guideWorkload(a.imagesPerDay, a.memoryMB), PRICES);
  let measured: CostEstimate | undefined;
  let m = loaded.measured;
  if (!m && a.seconds !== undefined) m = { source: "--seconds" };
  if (m) {
    try {
      measured = estimateCost(
        measuredWorkload(m, { imagesPerDay: a.imagesPerDay, processorMemoryMB: a.memoryMB, seconds: a.seconds }),
        PRICES,
      );
    } catch (e) {
      io.stderr.write(`imgedit cost: ${e instanceof Error ? e.message : e}\n`);
      measured = undefined;
    }
  }
  if (a.json) {
    io.stdout.write(`${JSON.stringify({ prices: PRICES, guide, measured, measuredInputs: m }, null, 2)}\n`);
    return 0;
  }
  io.stdout.write(renderCost(a, guide, measured, m));
  if (loaded.note && !measured) io.stdout.write(`Measured column missing: ${loaded.note}, or pass --seconds.\n`);
  return 0;
}

const command: CliCommand = {
  summary: "monthly AWS cost: the guide's assumptions vs the benchmark's measurements",
  usage: USAGE,
  run,
};
export default command;
