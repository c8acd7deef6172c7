// Child process for the memory section: runs one task, prints {peakRssKB, seconds, check} as JSON.
// It runs in a fresh process so that its peak RSS (getrusage) belongs to this task alone.
import { readFile } from "node:fs/promises";

interface Task {
  tool: "imgedit" | "sharp";
  input: string;
  plan: unknown[];
  images: number;
  concurrency: number;
  expectWidth: number;
}

const task = JSON.parse(process.argv[2] ?? "{}") as Task;
const input = await readFile(task.input);
const sharp = (await import("sharp")).default;

let one: () => Promise<Buffer>;
if (task.tool === "imgedit") {
  const { processImage } = await import("../src/core/pipeline.js");
  const { DEFAULT_LIMITS } = await import("../src/core/limits.js");
  const { validatePlan } = await import("../src/core/plan.js");
  const plan = validatePlan(task.plan, DEFAULT_LIMITS);
  one = async () => (await processImage(input, plan, { limits: DEFAULT_LIMITS })).data;
} else {
  // the same edits in bare sharp, used only when imgedit's pipeline is not there yet
  one = () => {
    let img = sharp(input).rotate();
    for (const op of task.plan as { op: string; width?: number; angle?: number; sigma?: number }[]) {
      if (op.op === "resize") img = img.resize({ width: op.width });
      if (op.op === "rotate") img = img.rotate(op.angle ?? 0);
      if (op.op === "sharpen") img = img.sharpen({ sigma: op.sigma ?? 1 });
    }
    return img.jpeg({ quality: 90 }).toBuffer();
  };
}

const t0 = performance.now();
let next = 0;
let last: Buffer | undefined;
const lane = async () => {
  while (next < task.images) {
    next++;
    last = await one();
  }
};
await Promise.all(Array.from({ length: Math.min(task.concurrency, task.images) }, lane));
const seconds = (performance.now() - t0) / 1000;
const peakRssKB = process.resourceUsage().maxRSS;
const meta = last ? await sharp(last).metadata() : undefined;
const check = meta?.width === task.expectWidth ? "ok" : `width ${meta?.width}, expected ${task.expectWidth}`;
process.stdout.write(`${JSON.stringify({ peakRssKB, seconds, check })}\n`);
