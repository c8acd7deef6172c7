// Memory section: peak RSS for the largest image the limits allow (10000x10000 JPEG) and for a
// 50-image batch, each in a fresh node process, with MALLOC_ARENA_MAX=2 and with glibc's default.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { mintToken, runSession, startImageServer, startServerProcess } from "./loopback.js";
import type { BenchOptions } from "./options.js";
import { BENCH_SECRET, benchServerEnv } from "./service.js";

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));

export interface Measure {
  peakRssMB: number;
  seconds: number;
}

export interface MemoryRun {
  label: string;
  tool: "imgedit" | "sharp";
  arena2?: Measure;
  arenaDefault?: Measure;
  check?: string;
  error?: string;
}

export interface MemoryResult {
  status: "ok" | "failed";
  note?: string;
  lambdaMB: number;
  bigImage?: { path: string; bytes: number; width: number; height: number };
  runs: MemoryRun[];
}

/** One session through a fresh local server (POST + progress stream); the server's peak RSS. */
async function serviceRun(
  imageFile: string,
  count: number,
  arenaMax: boolean,
  concurrency: number,
): Promise<Measure & { check: string }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "imgedit-bench-mem-"));
  const images = await startImageServer({ "img.jpg": imageFile });
  const env: Record<string, string | undefined> = benchServerEnv(dataDir, images.host, concurrency);
  env.MALLOC_ARENA_MAX = arenaMax ? "2" : undefined;
  const server = await startServerProcess(env);
  try {
    const token = await mintToken(BENCH_SECRET, "memory");
    const list = Array.from({ length: count }, (_, i) => ({
      id: `m${i}`,
      url: `${images.url}/img.jpg`,
      name: "img.jpg",
    }));
    const t0 = performance.now();
    const r = await runSession(server.url, token, list, "resize to 800px", 600_000);
    const seconds = (performance.now() - t0) / 1000;
    const peak = server.peakRssMB() ?? Number.NaN;
    const check = r.ok ? "ok" : `failed: ${r.error ?? "?"}`.slice(0, 160);
    return { peakRssMB: peak, seconds, check };
  } finally {
    await server.close();
    await images.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** A 10000x10000 JPEG made once from the photo (smooth content, so it stays under MAX_IMAGE_SIZE). */
async function bigJpeg(photo: string): Promise<{ path: string; bytes: number }> {
  const file = path.join(os.tmpdir(), "imgedit-bench-10000x10000.jpg");
  if (!existsSync(file)) {
    const sharp = (await import("sharp")).default;
    await sharp(photo).resize(10_000, 10_000, { fit: "fill" }).jpeg({ quality: 80 }).toFile(`${file}.part`);
    const { rename } = await import("node:fs/promises");
    await rename(`${file}.part`, file);
  }
  return { path: file, bytes: (await stat(file)).size };
}

async function measure(task: Record<string, unknown>, arenaMax: boolean): Promise<Measure & { check: string }> {
  const env: Record<string, string | undefined> = { ...process.env };
  if (arenaMax) env.MALLOC_ARENA_MAX = "2";
  else delete env.MALLOC_ARENA_MAX;
  const { stdout } = await run(
    process.execPath,
    ["--import", "tsx", path.join(here, "memory-worker.ts"), JSON.stringify(task)],
    { env, maxBuffer: 1 << 20, timeout: 300_000 },
  );
  const r = JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as {
    peakRssKB: number;
    seconds: number;
    check: string;
  };
  return { peakRssMB: r.peakRssKB / 1024, seconds: r.seconds, check: r.check };
}

export async function runMemory(o: BenchOptions, imgeditAvailable: boolean): Promise<MemoryResult> {
  const res: MemoryResult = { status: "ok", lambdaMB: 2048, runs: [] };
  let big: { path: string; bytes: number };
  try {
    big = await bigJpeg(o.photoPath);
    res.bigImage = { ...big, width: 10_000, height: 10_000 };
  } catch (e) {
    return { status: "failed", note: `could not make the 10000x10000 JPEG: ${e}`, lambdaMB: 2048, runs: [] };
  }
  const tool = imgeditAvailable ? "imgedit" : "sharp";
  const suffix = imgeditAvailable ? "" : " [bare sharp: imgedit pipeline not available]";
  const tasks = [
    {
      label: `10000x10000 JPEG (${(big.bytes / 1048576).toFixed(1)} MB) -> 800 px wide JPEG${suffix}`,
      task: {
        tool,
        input: big.path,
        plan: [{ op: "resize", width: 800 }],
        images: 1,
        concurrency: 1,
        expectWidth: 800,
      },
    },
    {
      label: `10000x10000 JPEG -> rotate 90 + sharpen, full size JPEG${suffix}`,
      task: {
        tool,
        input: big.path,
        plan: [
          { op: "rotate", angle: 90 },
          { op: "sharpen", sigma: 1 },
        ],
        images: 1,
        concurrency: 1,
        expectWidth: 10_000,
      },
    },
    {
      label: `${o.batchImages}-image batch of the 2725x2225 JPEG -> 800 px, ${o.concurrency} in flight${suffix}`,
      task: {
        tool,
        input: o.photoPath,
        plan: [{ op: "resize", width: 800 }],
        images: o.batchImages,
        concurrency: o.concurrency,
        expectWidth: 800,
      },
    },
  ];
  const serviceTasks = [
    { label: "service: one session, the 10000x10000 JPEG -> 800 px (server process)", file: big.path, count: 1 },
    {
      label: `service: one session of ${o.batchImages} images (2725x2225 JPEG -> 800 px; server process)`,
      file: o.photoPath,
      count: o.batchImages,
    },
  ];
  for (const t of serviceTasks) {
    const r: MemoryRun = { label: t.label, tool: "imgedit" };
    try {
      const a = await serviceRun(t.file, t.count, true, o.concurrency);
      r.arena2 = { peakRssMB: a.peakRssMB, seconds: a.seconds };
      r.check = a.check;
      const b = await serviceRun(t.file, t.count, false, o.concurrency);
      r.arenaDefault = { peakRssMB: b.peakRssMB, seconds: b.seconds };
    } catch (e) {
      r.error = e instanceof Error ? e.message.split("\n").slice(0, 3).join(" ") : String(e);
      r.check = `failed: ${r.error.slice(0, 120)}`;
    }
    res.runs.push(r);
  }
  for (const t of tasks) {
    const r: MemoryRun = { label: t.label, tool };
    try {
      const a = await measure(t.task, true);
      r.arena2 = { peakRssMB: a.peakRssMB, seconds: a.seconds };
      r.check = a.check;
      const b = await measure(t.task, false);
      r.arenaDefault = { peakRssMB: b.peakRssMB, seconds: b.seconds };
    } catch (e) {
      r.error = e instanceof Error ? e.message.split("\n").slice(0, 3).join(" ") : String(e);
      r.check = `failed: ${r.error.slice(0, 120)}`;
    }
    res.runs.push(r);
  }
  return res;
}
