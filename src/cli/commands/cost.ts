// `imgedit cost`: the deployment guide's monthly cost table recomputed from the price table and
// from what the benchmark measured, side by side, per month and per image.
import { closeSync, constants, fstatSync, openSync, readFileSync } from "node:fs";
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
import { errnoCode, reason } from "../fs-errors.js";
import type { CliCommand, CliIO } from "../main.js";
import { printable } from "../printable.js";

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
    // Plain decimals only: Number() also takes "0x10", "1e3" and " 80 ".
    const plain = integer ? /^[0-9]+$/ : /^[0-9]+(\.[0-9]+)?$/;
    const n = v !== undefined && plain.test(v) ? Number(v) : Number.NaN;
    if (v === undefined || !Number.isFinite(n) || n <= 0)
      throw new Error(
        `${flag} needs a positive ${integer ? "whole " : ""}number, got ${v?.trim() ? printable(v) : "nothing"}`,
      );
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

/** A results file is a few kB: anything much larger is not one (/dev/zero would fill the memory). */
export const MAX_BENCH_BYTES = 10 * 1024 * 1024;

/**
 * The benchmark's results: --from-bench FILE (relative to the current directory), else the file
 * `npm run bench` writes in the repository, wherever `imgedit cost` is run from. With --from-bench
 * (and no --seconds) the file must hold a measured processing time: that is what was asked for.
 */
export function loadMeasured(
  a: Pick<Args, "benchFile" | "requireBench" | "seconds">,
  cwd: string,
  defaultFile = DEFAULT_BENCH_FILE,
): { measured?: Measured; note?: string } {
  const file = a.benchFile === undefined ? defaultFile : path.resolve(cwd, a.benchFile);
  const where = printable(file);
  let text: string;
  let fd: number;
  try {
    // Without blocking: a FIFO would wait for a writer; it is refused below, as is a device.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    if (errnoCode(e) !== "ENOENT") throw new Error(`could not read ${where}: ${reason(e)}`);
    if (a.requireBench) throw new Error(`no benchmark results at ${where}: run \`npm run bench\` first`);
    return { note: `no ${printable(shown(file, cwd))} yet (run \`npm run bench\`)` };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile())
      throw new Error(`${where} is ${st.isDirectory() ? "a directory" : "not a regular file"}, not benchmark results`);
    if (st.size > MAX_BENCH_BYTES)
      throw new Error(`${where} is ${st.size.toLocaleString("en-US")} bytes: too large for benchmark results`);
    text = readFileSync(fd, "utf8");
  } catch (e) {
    throw new Error(errnoCode(e) ? `could not read ${where}: ${reason(e)}` : (e as Error).message);
  } finally {
    closeSync(fd);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    // JSON.parse quotes the text: a PNG's bytes would reach the terminal.
    throw new Error(`could not read ${where}: not JSON (${printable(e instanceof Error ? e.message : String(e))})`);
  }
  const wrong = benchShapeProblem(json);
  if (wrong) throw new Error(`${where} is not benchmark results (bench/results/latest.json): ${wrong}`);
  const measured = measuredFromBench(json, shown(file, cwd));
  if (a.requireBench && a.seconds === undefined && measuredSeconds(measured) === undefined)
    throw new Error(
      `${where} has no measured processing time (a "jpeg" pipeline case with an ok imgedit or sharp row, or the service at concurrency 1): run \`npm run bench\``,
    );
  return { measured };
}

/** What is wrong with a results file's shape for measuredFromBench, if anything (it reads the file as is). */
function benchShapeProblem(json: unknown): string | undefined {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  const isNumber = (v: unknown) => v === undefined || (typeof v === "number" && Number.isFinite(v) && v >= 0);
  if (!isObject(json))
    return `a JSON object was expected, not ${json === null ? "null" : Array.isArray(json) ? "an array" : typeof json}`;
  const { machine, pipeline, service } = json;
  if (machine !== undefined && !isObject(machine)) return "machine is not an object";
  if (pipeline !== undefined) {
    if (!Array.isArray(pipeline)) return "pipeline is not a list";
    for (const [i, c] of pipeline.entries()) {
      if (!isObject(c) || !Array.isArray(c.tools)) return `pipeline[${i}] has no tools list`;
      for (const [j, t] of c.tools.entries()) {
        if (!isObject(t)) return `pipeline[${i}].tools[${j}] is not an object`;
        for (const k of ["medianMs", "outBytes"])
          if (!isNumber(t[k])) return `pipeline[${i}].tools[${j}].${k} is not a number`;
      }
    }
  }
  if (service !== undefined) {
    if (!isObject(service)) return "service is not an object";
    if (!isNumber(service.writesPerImage)) return "service.writesPerImage is not a number";
    if (service.status === "ok") {
      if (!Array.isArray(service.levels)) return "service.levels is not a list";
      // p50Ms may be null: JSON's NaN (measuredFromBench skips it).
      if (service.levels.some((l) => !isObject(l) || !(l.p50Ms === null || isNumber(l.p50Ms))))
        return "service.levels has an entry without a p50Ms number";
    }
  }
  return undefined;
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
    io.stderr.write(`imgedit cost: ${printable(e instanceof Error ? e.message : String(e))}\n`);
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
