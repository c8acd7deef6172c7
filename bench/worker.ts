// A child process that runs one in-process tool (imgedit, bare sharp or magick-wasm) for one
// case, so the peak RSS it reports belongs to that tool alone. Driven over IPC by pipeline.ts.
import { readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { CASES, type ToolName } from "./baselines.js";

export type WorkerRequest =
  | { type: "init"; tool: ToolName; caseId: string; inputPath: string }
  | { type: "run"; n: number; concurrency: number }
  | { type: "save"; path: string };

export type WorkerReply =
  | { type: "ready" }
  | { type: "error"; message: string }
  | { type: "done"; latenciesMs: number[]; wallMs: number; cpuMs: number; maxRssKB: number; outBytes: number }
  | { type: "saved" };

type Job = () => Promise<Uint8Array>;

async function makeJob(tool: ToolName, caseId: string, inputPath: string): Promise<Job> {
  const c = CASES.find((x) => x.id === caseId);
  if (!c) throw new Error(`unknown case ${caseId}`);
  const input = await readFile(inputPath);
  if (tool === "sharp") {
    const sharp = (await import("sharp")).default;
    return () => c.sharp(sharp, input);
  }
  if (tool === "imgedit") {
    const pipeline = await import("../src/core/pipeline.js");
    const { DEFAULT_LIMITS } = await import("../src/core/limits.js");
    let plan: unknown = c.plan;
    try {
      const { validatePlan } = await import("../src/core/plan.js");
      plan = validatePlan(c.plan, DEFAULT_LIMITS);
    } catch (e) {
      if (!(e instanceof Error && /Cannot find module|ERR_MODULE_NOT_FOUND/.test(e.message))) throw e;
    }
    const processImage = pipeline.processImage as (i: Buffer, p: unknown, o: unknown) => Promise<{ data: Buffer }>;
    return async () => (await processImage(input, plan, { limits: DEFAULT_LIMITS })).data;
  }
  if (tool === "magick-wasm") {
    const m = await import("@imagemagick/magick-wasm");
    const require = createRequire(import.meta.url);
    // the x86 build: the memory64 one fails on Node 20 (see DESIGN.md)
    const wasm = await readFile(require.resolve("@imagemagick/magick-wasm/magick.wasm"));
    await m.initializeImageMagick(wasm);
    const bytes = new Uint8Array(input);
    const fn = c.magick;
    if (!fn) throw new Error(`no magick-wasm version of ${caseId}`);
    return async () => fn(m, bytes);
  }
  throw new Error(`${tool} is not an in-process tool`);
}

let job: Job | undefined;
let last: Uint8Array | undefined;

async function run(n: number, concurrency: number): Promise<WorkerReply> {
  if (!job) throw new Error("not initialised");
  const one = job;
  const latenciesMs: number[] = [];
  let next = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const lane = async () => {
    while (next < n) {
      next++;
      const s = performance.now();
      last = await one();
      latenciesMs.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, lane));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    type: "done",
    latenciesMs,
    wallMs,
    // every thread of this process: libvips' and the libuv pool's included
    cpuMs: (cpu.user + cpu.system) / 1000,
    maxRssKB: process.resourceUsage().maxRSS,
    outBytes: last?.length ?? 0,
  };
}

const send = (m: WorkerReply) => process.send?.(m);
const describe = (e: unknown) => (e instanceof Error ? e.message.split("\n")[0] : String(e));

process.on("message", (msg: WorkerRequest) => {
  const handle = async (): Promise<WorkerReply> => {
    if (msg.type === "init") {
      job = await makeJob(msg.tool, msg.caseId, msg.inputPath);
      return { type: "ready" };
    }
    if (msg.type === "run") return run(msg.n, msg.concurrency);
    if (!last) throw new Error("nothing to save yet");
    await writeFile(msg.path, last);
    return { type: "saved" };
  };
  handle().then(send, (e) => send({ type: "error", message: describe(e) }));
});
process.on("disconnect", () => process.exit(0));
