// `npm run bench`: every section measured in this one run, printed beside its baseline, and
// written to bench/results/latest.json with the machine it ran on.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { machineInfo } from "./machine.js";
import { runMemory } from "./memory.js";
import { type BenchOptions, parseOptions, USAGE, UsageError } from "./options.js";
import { runPipeline } from "./pipeline.js";
import { runPlanner } from "./planner.js";
import {
  type BenchResults,
  header,
  memoryTable,
  pipelineTable,
  plannerTable,
  serviceTable,
  type Target,
  targetsTable,
} from "./report.js";
import { runService } from "./service.js";
import { ensureBaselines } from "./tools.js";

export function evaluateTargets(r: BenchResults): Target[] {
  const targets: Target[] = [];
  const jpeg = r.pipeline?.find((c) => c.id === "jpeg");
  const tool = (t: string) => jpeg?.tools.find((x) => x.tool === t);
  const pipelineRatios = (r.pipeline ?? [])
    .filter((c) => c.imgeditVsSharp !== undefined)
    .map(
      (c) =>
        `${c.id} ${(c.imgeditVsSharp ?? 0).toFixed(2)}` +
        (c.imgeditVsSharpCpu !== undefined ? ` (CPU ${c.imgeditVsSharpCpu.toFixed(2)})` : ""),
    );
  const worst = Math.min(...(r.pipeline ?? []).map((c) => c.imgeditVsSharp ?? Number.POSITIVE_INFINITY));
  targets.push({
    name: "pipeline vs bare sharp",
    goal: "imgedit >= 0.95x sharp's images/s, every case",
    measured: pipelineRatios.length ? pipelineRatios.join(", ") : "imgedit not available",
    met: pipelineRatios.length ? worst >= 0.95 : "unknown",
  });
  const ig = tool("imgedit")?.imagesPerSec;
  for (const im of ["convert", "magick-wasm"] as const) {
    const base = tool(im)?.imagesPerSec;
    targets.push({
      name: `JPEG resize vs ImageMagick (${im})`,
      goal: ">= 4x",
      measured: ig && base ? `${(ig / base).toFixed(1)}x (${ig.toFixed(1)} vs ${base.toFixed(1)} images/s)` : "-",
      met: ig && base ? ig / base >= 4 : "unknown",
    });
  }
  const s4 = r.service?.levels.find((l) => l.concurrency === 4);
  targets.push({
    name: "service overhead at concurrency 4",
    goal: "< 10% (service images/s >= 0.9x pipeline's)",
    measured:
      s4?.vsPipeline !== undefined
        ? `${((1 - s4.vsPipeline) * 100).toFixed(1)}% of throughput` +
          (s4.vsPipelineRounds && s4.vsPipelineRounds.length > 1
            ? ` (rounds ${Math.min(...s4.vsPipelineRounds).toFixed(2)}-${Math.max(...s4.vsPipelineRounds).toFixed(2)}x)`
            : "") +
          (s4.cpuOverhead !== undefined ? `; CPU per image +${(s4.cpuOverhead * 100).toFixed(1)}%` : "")
        : (r.service?.status ?? "-"),
    met: s4?.vsPipeline !== undefined ? s4.vsPipeline >= 0.9 : "unknown",
  });
  const failed = r.service?.levels.reduce((n, l) => n + l.failed, 0);
  if (failed !== undefined && r.service?.status === "ok")
    targets.push({ name: "service errors", goal: "0", measured: String(failed), met: failed === 0 });
  for (const run of r.memory?.runs ?? []) {
    if (!run.label.includes("10000x10000")) continue;
    const peak = run.arena2?.peakRssMB;
    targets.push({
      name: `peak RSS: ${run.label.split(" [")[0]}`,
      goal: "< 1024 MB",
      measured: peak !== undefined ? `${peak.toFixed(0)} MB` : (run.error ?? "-"),
      met: peak !== undefined ? peak < 1024 : "unknown",
    });
  }
  return targets;
}

export async function runBench(o: BenchOptions, log: (s: string) => void): Promise<BenchResults> {
  const started = performance.now();
  const results: BenchResults = { machine: await machineInfo(), quick: o.quick };
  log(header(results.machine));
  const wantPipeline = o.sections.includes("pipeline");
  const wantService = o.sections.includes("service");
  if (wantPipeline || wantService) {
    const unavailable = wantPipeline ? ensureBaselines(o.install, log) : {};
    log(wantPipeline ? "pipeline..." : "pipeline (JPEG case only, as the service's baseline)...");
    // the service's overhead is measured against the pipeline's own rate from this same run
    results.pipeline = await runPipeline(
      o,
      wantPipeline
        ? unavailable
        : { vipsthumbnail: "skipped", convert: "skipped", gm: "skipped", "magick-wasm": "skipped" },
      log,
      wantPipeline ? o.cases : ["jpeg"],
    );
    results.machine = await machineInfo();
  }
  if (wantService) {
    log("service...");
    const jpeg = results.pipeline?.find((c) => c.id === "jpeg")?.tools.find((t) => t.tool === "imgedit");
    results.service = await runService(o, jpeg?.imagesPerSec);
  }
  if (o.sections.includes("memory")) {
    log("memory...");
    const imgedit = results.pipeline?.find((c) => c.id === "jpeg")?.tools.find((t) => t.tool === "imgedit");
    results.memory = await runMemory(o, imgedit ? imgedit.status === "ok" : await imgeditPresent());
  }
  if (o.sections.includes("planner")) {
    log("planner...");
    results.planner = await runPlanner(o.plannerMs);
  }
  results.targets = evaluateTargets(results);
  results.durationSec = (performance.now() - started) / 1000;
  return results;
}

async function imgeditPresent(): Promise<boolean> {
  try {
    await import("../src/core/pipeline.js");
    return true;
  } catch {
    return false;
  }
}

export function render(r: BenchResults): string {
  const parts = [header(r.machine), ""];
  if (r.pipeline?.length) parts.push(pipelineTable(r.pipeline));
  if (r.service) parts.push(serviceTable(r.service), "");
  if (r.memory) parts.push(memoryTable(r.memory), "");
  if (r.planner) parts.push(plannerTable(r.planner), "");
  if (r.targets?.length) parts.push("targets", targetsTable(r.targets), "");
  parts.push(`(${r.quick ? "quick run; " : ""}${(r.durationSec ?? 0).toFixed(0)} s in all)`);
  return parts.join("\n");
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const o = parseOptions(argv, process.env);
  const results = await runBench(o, (s) => process.stderr.write(`${s}\n`));
  process.stdout.write(`${render(results)}\n`);
  if (o.outFile) {
    await mkdir(path.dirname(o.outFile), { recursive: true });
    await writeFile(o.outFile, `${JSON.stringify(results, null, 2)}\n`);
    process.stderr.write(`results written to ${path.relative(process.cwd(), o.outFile)}\n`);
  }
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      const usage = e instanceof UsageError;
      process.stderr.write(`bench: ${e instanceof Error ? (usage ? e.message : (e.stack ?? e.message)) : String(e)}\n`);
      process.exitCode = usage ? 2 : 1;
    },
  );
}
