// Runs one plan on one input file in its own process and prints the outcome with the process's
// peak resident memory (VmHWM, as bench/loopback.ts reads it): the memory one request makes the
// service spend, measured where the test runner's own heap does not count.
import { readFileSync } from "node:fs";
import { ImageEditError } from "../../../src/core/errors.js";
import { DEFAULT_LIMITS, type Limits } from "../../../src/core/limits.js";
import { processImage } from "../../../src/core/pipeline.js";
import { validatePlan } from "../../../src/core/plan.js";

export interface BombOutcome {
  ok: boolean;
  width?: number;
  height?: number;
  pages?: number;
  format?: string;
  code?: string;
  message?: string;
  /** Peak resident memory before processing (node, sharp, the input), MB. */
  baseMb: number;
  /** Peak resident memory at the end, MB. */
  peakMb: number;
}

const peakMb = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1]) / 1024;

const [file, planJson, limitsJson] = process.argv.slice(2);
const limits: Limits = { ...DEFAULT_LIMITS, ...(limitsJson ? JSON.parse(limitsJson) : {}) };
const input = readFileSync(file);
const plan = validatePlan(JSON.parse(planJson), limits);
const baseMb = peakMb();
let outcome: BombOutcome;
try {
  const r = await processImage(input, plan, { limits });
  outcome = { ok: true, width: r.width, height: r.height, pages: r.pages, format: r.format, baseMb, peakMb: peakMb() };
} catch (e) {
  const err = e as Error;
  outcome = {
    ok: false,
    code: e instanceof ImageEditError ? e.code : `untyped: ${err.name}`,
    message: err.message,
    baseMb,
    peakMb: peakMb(),
  };
}
process.stdout.write(`${JSON.stringify(outcome)}\n`);
process.exit(0);
