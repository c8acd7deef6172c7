// Pipeline section: every case, every tool, interleaved round by round so all tools see the same
// background load, each at the same number of images in flight. Outputs are checked (size, format).
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { type BenchCase, BINARIES, CASES, hasTool, TOOLS, type ToolName } from "./baselines.js";
import type { BenchOptions } from "./options.js";
import { makeRunner, type Runner } from "./runners.js";
import { median, percentile } from "./stats.js";

export interface ToolResult {
  tool: ToolName;
  status: "ok" | "not available" | "failed";
  note?: string;
  imagesPerSec?: number;
  medianMs?: number;
  p95Ms?: number;
  /** CPU time per image (user + system, all threads): steadier than wall time on a busy machine. */
  cpuMsPerImage?: number;
  peakRssMB?: number;
  iterations?: number;
  outBytes?: number;
  /** Output check: "ok" or what was wrong (wrong size/format means the tool did different work). */
  check?: string;
}

export interface CaseResult {
  id: string;
  label: string;
  concurrency: number;
  tools: ToolResult[];
  /** imgedit throughput / bare sharp throughput. */
  imgeditVsSharp?: number;
  /** bare sharp CPU per image / imgedit CPU per image (1 = same work, below 1 = imgedit does more). */
  imgeditVsSharpCpu?: number;
  /** What each tool was given: imgedit's plan and the command lines of the external tools. */
  commands: Record<string, string>;
}

export type Availability = Partial<Record<ToolName, string>>;

async function checkOutput(file: string, c: BenchCase): Promise<string> {
  const sharp = (await import("sharp")).default;
  const m = await sharp(file, { animated: true }).metadata();
  const height = m.pageHeight ?? m.height;
  const problems: string[] = [];
  if (m.width !== c.expect.width || height !== c.expect.height)
    problems.push(`${m.width}x${height}, expected ${c.expect.width}x${c.expect.height}`);
  if (m.format !== c.expect.format) problems.push(`format ${m.format}, expected ${c.expect.format}`);
  // encoders may merge identical neighbouring frames (adding up their delays): animated is what counts
  if (c.expect.pages && (m.pages ?? 1) < 2) problems.push("not animated any more");
  if (problems.length) return problems.join("; ");
  return c.expect.pages ? `ok, ${m.pages} frames` : "ok";
}

interface Live {
  runner: Runner;
  latencies: number[];
  wallMs: number;
  cpuMs: number;
  done: boolean;
  error?: string;
}

async function runCase(
  c: BenchCase,
  o: BenchOptions,
  unavailable: Availability,
  workDir: string,
  log: (s: string) => void,
): Promise<CaseResult> {
  const input = c.input === "photo" ? o.photoPath : o.gifPath;
  const results = new Map<ToolName, ToolResult>();
  const live: Live[] = [];
  for (const tool of TOOLS) {
    if (!hasTool(c, tool)) {
      results.set(tool, { tool, status: "not available", note: c.notes?.[tool] ?? "no equivalent" });
      continue;
    }
    if (unavailable[tool]) {
      results.set(tool, { tool, status: "not available", note: unavailable[tool] });
      continue;
    }
    const runner = makeRunner(tool, c, input, workDir);
    try {
      await runner.init();
      // warm-up: one image, then the rest only for fast tools (an AVIF warm-up costs seconds)
      const first = await runner.batch(1, 1);
      if (o.warmup > 1 && first.wallMs < 1000) await runner.batch(o.warmup - 1, Math.min(o.warmup - 1, o.concurrency));
      live.push({ runner, latencies: [], wallMs: 0, cpuMs: 0, done: false });
    } catch (e) {
      runner.close();
      const msg = e instanceof Error ? e.message : String(e);
      const missing = /Cannot find module|ERR_MODULE_NOT_FOUND|not implemented|not installed/i.test(msg);
      results.set(tool, { tool, status: missing ? "not available" : "failed", note: msg.slice(0, 400) });
    }
  }
  // Rounds: every unfinished tool runs one batch (one image per lane), in a rotating order.
  let round = 0;
  while (live.some((l) => !l.done)) {
    const order = live.filter((l) => !l.done);
    const shift = round++ % order.length;
    for (const l of [...order.slice(shift), ...order.slice(0, shift)]) {
      try {
        const b = await l.runner.batch(o.concurrency, o.concurrency);
        l.latencies.push(...b.latenciesMs);
        l.wallMs += b.wallMs;
        l.cpuMs += b.cpuMs;
      } catch (e) {
        l.error = e instanceof Error ? e.message : String(e);
        l.done = true;
        continue;
      }
      const n = l.latencies.length;
      // slow tools (AVIF encoders, ImageMagick on the 12-op plan) stop after two rounds once
      // they have used three budgets, so the whole run stays within minutes on 2 cores
      l.done =
        n >= o.maxIterations ||
        (n >= o.minIterations && l.wallMs >= o.budgetMs) ||
        (n >= 2 * o.concurrency && l.wallMs >= 3 * o.budgetMs);
    }
  }
  for (const l of live) {
    const tool = l.runner.tool;
    if (l.error && l.latencies.length === 0) {
      results.set(tool, { tool, status: "failed", note: l.error.slice(0, 400) });
      l.runner.close();
      continue;
    }
    let check = "not checked";
    try {
      const file = path.join(workDir, `check-${c.id}-${tool}.${c.outExt}`);
      await l.runner.save(file);
      check = await checkOutput(file, c);
    } catch (e) {
      check = `could not check: ${e instanceof Error ? e.message : String(e)}`;
    }
    results.set(tool, {
      tool,
      status: "ok",
      note: [c.notes?.[tool], l.error].filter(Boolean).join("; ") || undefined,
      imagesPerSec: (l.latencies.length / l.wallMs) * 1000,
      medianMs: median(l.latencies),
      p95Ms: percentile(l.latencies, 95),
      cpuMsPerImage: l.cpuMs > 0 ? l.cpuMs / l.latencies.length : undefined,
      peakRssMB: l.runner.peakRssKB / 1024,
      iterations: l.latencies.length,
      outBytes: l.runner.outBytes,
      check,
    });
    l.runner.close();
  }
  const tools = TOOLS.map((t) => results.get(t)).filter((r): r is ToolResult => r !== undefined);
  const ig = results.get("imgedit")?.imagesPerSec;
  const sh = results.get("sharp")?.imagesPerSec;
  const commands: Record<string, string> = { imgedit: JSON.stringify(c.plan) };
  for (const [tool, build] of Object.entries(c.cli))
    if (build)
      commands[tool] = [
        BINARIES[tool as keyof typeof BINARIES],
        ...(tool === "gm" ? ["convert"] : []),
        ...build("IN", "OUT"),
      ].join(" ");
  const res: CaseResult = { id: c.id, label: c.label, concurrency: o.concurrency, tools, commands };
  if (ig && sh) res.imgeditVsSharp = ig / sh;
  const igCpu = results.get("imgedit")?.cpuMsPerImage;
  const shCpu = results.get("sharp")?.cpuMsPerImage;
  if (igCpu && shCpu) res.imgeditVsSharpCpu = shCpu / igCpu;
  log(
    `  ${c.id}: ${tools.map((t) => `${t.tool} ${t.imagesPerSec ? t.imagesPerSec.toFixed(1) : t.status}`).join(", ")}`,
  );
  return res;
}

export async function runPipeline(
  o: BenchOptions,
  unavailable: Availability,
  log: (s: string) => void,
  caseIds?: string[],
): Promise<CaseResult[]> {
  const workDir = await mkdtemp(path.join(os.tmpdir(), "imgedit-bench-"));
  try {
    const out: CaseResult[] = [];
    for (const c of CASES) {
      if (caseIds && !caseIds.includes(c.id)) continue;
      out.push(await runCase(c, o, unavailable, workDir, log));
    }
    return out;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}
