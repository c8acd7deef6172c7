// Printing the tables and the targets; the JSON written beside them has the same figures.
import { TOOL_LABEL } from "./baselines.js";
import type { MachineInfo } from "./machine.js";
import { describeMachine } from "./machine.js";
import type { MemoryResult } from "./memory.js";
import type { CaseResult } from "./pipeline.js";
import type { PlannerResult } from "./planner.js";
import type { ServiceResult } from "./service.js";
import { fmt, table } from "./stats.js";

export interface BenchResults {
  machine: MachineInfo;
  quick: boolean;
  durationSec?: number;
  pipeline?: CaseResult[];
  service?: ServiceResult;
  memory?: MemoryResult;
  planner?: PlannerResult;
  targets?: Target[];
}

export interface Target {
  name: string;
  goal: string;
  measured: string;
  met: boolean | "unknown";
}

const x = (n: number | undefined) => (n === undefined ? "-" : `${n.toFixed(2)}x`);

export function pipelineTable(cases: CaseResult[]): string {
  const out: string[] = [];
  for (const c of cases) {
    const sharp = c.tools.find((t) => t.tool === "sharp")?.imagesPerSec;
    const rows = [
      ["tool", "images/s", "median ms", "p95 ms", "CPU ms/img", "peak RSS MB", "vs sharp", "n", "output", "note"],
    ];
    for (const t of c.tools) {
      rows.push(
        t.status === "ok"
          ? [
              TOOL_LABEL[t.tool],
              fmt(t.imagesPerSec, 2),
              fmt(t.medianMs),
              fmt(t.p95Ms),
              fmt(t.cpuMsPerImage),
              fmt(t.peakRssMB, 0),
              x(t.imagesPerSec && sharp ? t.imagesPerSec / sharp : undefined),
              String(t.iterations ?? "-"),
              t.check?.startsWith("ok") ? `${t.check} ${Math.round((t.outBytes ?? 0) / 1024)} KB` : (t.check ?? "-"),
              t.note ?? "",
            ]
          : [TOOL_LABEL[t.tool], t.status, "", "", "", "", "", "", "", t.note ?? ""],
      );
    }
    out.push(`${c.label}  (${c.concurrency} images in flight per tool)`, table(rows));
    out.push(
      `  imgedit / bare sharp: ${x(c.imgeditVsSharp)} images/s, ${x(c.imgeditVsSharpCpu)} CPU efficiency (sharp's CPU per image / imgedit's)`,
      "",
    );
  }
  return out.join("\n");
}

export function serviceTable(s: ServiceResult): string {
  if (s.status !== "ok") return `service: ${s.status}${s.note ? ` (${s.note})` : ""}`;
  const rows = [
    [
      "concurrency",
      "images/s",
      "p50 ms",
      "p95 ms",
      "p99 ms",
      "failed",
      "pipeline images/s",
      "vs pipeline",
      "overhead",
      "server CPU ms/img",
      "pipeline CPU ms/img",
      "CPU overhead",
      "client CPU ms/img",
      "bare server images/s",
      "bare CPU ms/img",
      "service / bare",
    ],
  ];
  const pct = (v: number | undefined) => (v === undefined ? "-" : `${(v * 100).toFixed(1)}%`);
  for (const l of s.levels)
    rows.push([
      String(l.concurrency),
      fmt(l.imagesPerSec, 2),
      fmt(l.p50Ms),
      fmt(l.p95Ms),
      fmt(l.p99Ms),
      String(l.failed),
      fmt(l.pipelineImagesPerSec, 2),
      x(l.vsPipeline),
      pct(l.vsPipeline === undefined ? undefined : 1 - l.vsPipeline),
      fmt(l.serverCpuMsPerImage),
      fmt(l.pipelineCpuMsPerImage),
      pct(l.cpuOverhead),
      fmt(l.clientCpuMsPerImage),
      fmt(l.bareImagesPerSec, 2),
      fmt(l.bareCpuMsPerImage),
      x(l.vsBare),
    ]);
  return [
    `service: POST /image-edit "resize to 800px" + progress stream until "complete", loopback; server with ${s.workerConcurrency} workers, peak RSS ${fmt(s.serverPeakRssMB, 0)} MB, ${s.writesPerImage ?? "?"} session writes per image`,
    table(rows),
    "  pipeline images/s: imgedit's processImage alone, same edit, as many images in flight as the level (up to the",
    "  server's workers), each lane starting its next image at once; each level runs rounds of",
    "  pipeline, service and bare server one after the other, and its ratios are the median of the rounds' ratios.",
    "  The client (HTTP + SSE) and the image server share the same cores as the server: client CPU is theirs.",
    "  bare server: bench/bare-server.mjs, the same fetch, pixels, result file and progress event per edit and",
    "  nothing else (no auth, sessions, checks, metrics or logs), driven the same way right after the service.",
    s.note ? `  ${s.note}` : "",
    s.bareNote ? `  ${s.bareNote}` : "",
  ].join("\n");
}

export function memoryTable(m: MemoryResult): string {
  if (m.status !== "ok") return `memory: ${m.status}${m.note ? ` (${m.note})` : ""}`;
  const rows = [["run", "MALLOC_ARENA_MAX=2: peak RSS MB", "glibc default: peak RSS MB", "seconds (=2)", "check"]];
  for (const r of m.runs)
    rows.push([
      r.label,
      fmt(r.arena2?.peakRssMB, 0),
      fmt(r.arenaDefault?.peakRssMB, 0),
      fmt(r.arena2?.seconds, 2),
      r.check ?? "",
    ]);
  return [`memory (each run in a fresh node process; Lambda has ${m.lambdaMB} MB)`, table(rows)].join("\n");
}

export function plannerTable(p: PlannerResult): string {
  if (p.status !== "ok") return `planner: ${p.status}${p.note ? ` (${p.note})` : ""}`;
  return `planner: parseCommand ${fmt(p.commandsPerSec, 0)} commands/s over ${p.distinct} distinct commands (${p.understood} understood), mean ${fmt(p.meanUs, 1)} µs`;
}

export function targetsTable(targets: Target[]): string {
  const rows = [["target", "goal", "measured", "met"]];
  for (const t of targets) rows.push([t.name, t.goal, t.measured, t.met === "unknown" ? "?" : t.met ? "yes" : "NO"]);
  return table(rows);
}

export function header(m: MachineInfo): string {
  return `imgedit bench — ${describeMachine(m)}`;
}
