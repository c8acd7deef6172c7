// Service section: images/s and latency percentiles end to end (POST /image-edit + the progress
// stream until `complete`) on loopback at several concurrencies, against the pipeline's own rate
// and against a bare server doing the same input and output per edit and nothing else (the floor).
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { CASES } from "./baselines.js";
import { mintToken, runSession, type SessionOutcome, startImageServer, startServerProcess } from "./loopback.js";
import type { BenchOptions } from "./options.js";
import { makeRunner, type Runner } from "./runners.js";
import { median, percentile } from "./stats.js";

export interface ServiceLevel {
  concurrency: number;
  requests: number;
  imagesPerSec: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  failed: number;
  /** Rounds of pipeline, service and bare server, one after the other (see runService). */
  rounds?: number;
  /** The pipeline alone (imgedit's processImage, same edit, same images in flight), measured in the same rounds. */
  pipelineImagesPerSec?: number;
  /** Service images/s divided by the pipeline's images/s: the median of the rounds' ratios. */
  vsPipeline?: number;
  vsPipelineRounds?: number[];
  /** Server process CPU per image (HTTP, fetch, sessions, storage, SSE and the pixels). */
  serverCpuMsPerImage?: number;
  pipelineCpuMsPerImage?: number;
  /** serverCpu / pipelineCpu - 1: the service's extra work, insensitive to other load on the machine. */
  cpuOverhead?: number;
  /** This process's CPU per image: the load generator and the image server, on the same cores. */
  clientCpuMsPerImage?: number;
  /**
   * The floor: bench/bare-server.mjs, the same fetch, pixels, file and progress event per edit with
   * none of the service around them, driven the same way right after the service.
   */
  bareImagesPerSec?: number;
  bareVsPipeline?: number;
  /** Service images/s divided by the bare server's: what the service itself costs. */
  vsBare?: number;
  bareCpuMsPerImage?: number;
  firstError?: string;
}

export interface ServiceResult {
  status: "ok" | "not available" | "failed";
  note?: string;
  command: string;
  pipelineImagesPerSec?: number;
  serverPeakRssMB?: number;
  workerConcurrency?: number;
  /** Session writes for a one-image edit (the `complete` event's id = the session's version), median. */
  writesPerImage?: number;
  /** Why the bare server's figures are missing, if they are. */
  bareNote?: string;
  levels: ServiceLevel[];
}

export const SERVICE_COMMAND = "resize to 800px";
/** Images per lane in one batch of the pipeline's rate beside the servers (see runService). */
const PIPELINE_BATCH = 16;
const SECRET = "imgedit-bench-secret-not-for-production-0123456789";

/** Settings for a local server under benchmark or load: limits raised so they do not shape the figures. */
export function benchServerEnv(dataDir: string, allowHost: string, workers: number): Record<string, string> {
  return {
    PORT: "0",
    HOST: "127.0.0.1",
    DATA_DIR: dataDir,
    JWT_SECRET: SECRET,
    LOG_LEVEL: "warn",
    FETCH_ALLOW_HOSTS: allowHost,
    RATE_LIMIT_PER_MINUTE: "1000000",
    MAX_CONCURRENT_SESSIONS: "100000",
    // startServerProcess adds what bin/imgedit.js would (glibc arenas, libuv's pool, V8's heap)
    WORKER_CONCURRENCY: String(workers),
  };
}
export const BENCH_SECRET = SECRET;

type Server = Awaited<ReturnType<typeof startServerProcess>>;

/** What one run of edits through a server gave. */
interface Drive {
  wallMs: number;
  latenciesMs: number[];
  failed: number;
  firstError?: string;
  /** The `complete` events' ids (the real server's session versions). */
  versions: number[];
  serverCpuMs?: number;
  clientCpuMs: number;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const rate = (d: Drive) => (d.latenciesMs.length / d.wallMs) * 1000;
const middle = (xs: number[]) => (xs.length ? median(xs) : undefined);

/** `n` edits through `srv`, `c` at a time, each posted and followed to its `complete` event. */
async function drive(
  srv: Server,
  c: number,
  n: number,
  one: (srv: Server, lane: number) => Promise<SessionOutcome>,
): Promise<Drive> {
  const cpu0 = srv.cpuMs();
  const client0 = process.cpuUsage();
  const out: Drive = { wallMs: 0, latenciesMs: [], failed: 0, versions: [], clientCpuMs: 0 };
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: c }, async (_, lane) => {
      while (next < n) {
        next++;
        const r = await one(srv, lane);
        if (r.ok && r.completeMs !== undefined) out.latenciesMs.push(r.completeMs);
        if (r.ok && r.lastEventId && /^\d+$/.test(r.lastEventId)) out.versions.push(Number(r.lastEventId));
        else {
          out.failed++;
          out.firstError ??= r.error;
        }
      }
    }),
  );
  out.wallMs = performance.now() - t0;
  const cpu1 = srv.cpuMs();
  const client = process.cpuUsage(client0);
  if (cpu0 !== undefined && cpu1 !== undefined) out.serverCpuMs = cpu1 - cpu0;
  out.clientCpuMs = (client.user + client.system) / 1000;
  return out;
}

/** The runs of one level together: images/s over all of them, CPU per image. */
function total(runs: Drive[]) {
  const images = sum(runs.map((r) => r.latenciesMs.length));
  const cpu = runs.map((r) => r.serverCpuMs);
  return {
    images,
    imagesPerSec: (images / sum(runs.map((r) => r.wallMs))) * 1000,
    latenciesMs: runs.flatMap((r) => r.latenciesMs),
    failed: sum(runs.map((r) => r.failed)),
    firstError: runs.find((r) => r.firstError)?.firstError,
    serverCpuMsPerImage: images && cpu.every((c) => c !== undefined) ? sum(cpu as number[]) / images : undefined,
    clientCpuMsPerImage: images ? sum(runs.map((r) => r.clientCpuMs)) / images : undefined,
  };
}

// Warm-up: module loading, the database, the worker pool, and V8's optimising compiler. A function
// the request path calls once per edit is optimised only after a thousand calls or so: measured,
// server CPU per image still fell by ~0.6 ms between 600 and 1500 edits and no further by 4000. A
// long-running server is measured in that steady state (the bare server gets the same warm-up).
async function warmUp(srv: Server, edits: number, one: (srv: Server, lane: number) => Promise<SessionOutcome>) {
  const r = await drive(srv, 4, edits, one);
  return r.failed ? (r.firstError ?? "failed") : undefined;
}

export async function runService(o: BenchOptions, pipelineImagesPerSec?: number): Promise<ServiceResult> {
  const res: ServiceResult = { status: "ok", command: SERVICE_COMMAND, pipelineImagesPerSec, levels: [] };
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "imgedit-bench-service-"));
  const images = await startImageServer({ "photo.jpg": o.photoPath });
  let server: Server | undefined;
  let bare: Server | undefined;
  // the pipeline's own rate is measured in every round of every level, beside the servers
  let pipeline: Runner | undefined = makeRunner("imgedit", jpegCase(), o.photoPath, dataDir);
  try {
    try {
      await pipeline.init();
      await pipeline.batch(o.warmup, 1);
    } catch {
      pipeline.close();
      pipeline = undefined;
    }
    const env = benchServerEnv(dataDir, images.host, o.concurrency);
    try {
      server = await startServerProcess(env);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      const missing = /Cannot find module|ERR_MODULE_NOT_FOUND/.test(msg);
      return { ...res, status: missing ? "not available" : "failed", note: msg.slice(0, 300) };
    }
    res.workerConcurrency = o.concurrency;
    const tokens = await Promise.all(Array.from({ length: 8 }, (_, i) => mintToken(SECRET, `bench-${i}`)));
    let seq = 0;
    const one = (srv: Server, lane: number) =>
      runSession(
        srv.url,
        tokens[lane % tokens.length],
        [{ id: `img${seq++}`, url: `${images.url}/photo.jpg`, name: "photo.jpg" }],
        SERVICE_COMMAND,
      );
    const warmError = await warmUp(server, o.serviceWarmup, one);
    if (warmError) return { ...res, status: "failed", note: `warm-up session failed: ${warmError}` };
    try {
      const bareDir = path.join(dataDir, "bare");
      await mkdir(bareDir);
      const bareEnv = { ...env, DATA_DIR: bareDir, BARE_PLAN: JSON.stringify(jpegCase().plan) };
      bare = await startServerProcess(bareEnv, undefined, undefined, "bare-server.mjs");
      const e = await warmUp(bare, o.serviceWarmup, one);
      if (e) throw new Error(e);
    } catch (e) {
      res.bareNote = `bare server: ${e instanceof Error ? e.message : String(e)}`.slice(0, 300);
      await bare?.close();
      bare = undefined;
    }
    // Each level runs in rounds, each round the pipeline, then the service, then the bare server,
    // one right after the other: the machine's speed drifts by several percent over a minute, and
    // a ratio taken within one round compares like with like. The level reports their median.
    const versions: number[] = [];
    for (const c of o.serviceLevels) {
      const n = Math.max(o.serviceRequests, c * 3);
      const pipe: { images: number; wallMs: number; cpuMs: number }[] = [];
      const svc: Drive[] = [];
      const floor: Drive[] = [];
      const vsPipeline: number[] = [];
      const vsBare: number[] = [];
      const bareVsPipeline: number[] = [];
      for (let round = 0; round < o.serviceRounds; round++) {
        let base: number | undefined;
        if (pipeline) {
          const p = { images: 0, wallMs: 0, cpuMs: 0 };
          // Long batches, as the servers run: lanes that each start their next image at once. In
          // batches of one image per lane, every lane waited for the slowest, which understated
          // the pipeline's rate by ~3% (and ~8% with a lane more than cores), flattering the ratio.
          // As many images in flight as the level can have in the server: at concurrency 1 the
          // service processes one image at a time, and so does its pipeline baseline.
          const lanes = Math.min(c, o.concurrency);
          while (p.wallMs < o.budgetMs || p.images < 2 * lanes) {
            const b = await pipeline.batch(PIPELINE_BATCH * lanes, lanes);
            p.images += b.latenciesMs.length;
            p.wallMs += b.wallMs;
            p.cpuMs += b.cpuMs;
          }
          pipe.push(p);
          base = (p.images / p.wallMs) * 1000;
        }
        const r = await drive(server, c, n, one);
        svc.push(r);
        versions.push(...r.versions);
        if (base) vsPipeline.push(rate(r) / base);
        const f = bare ? await drive(bare, c, n, one) : undefined;
        if (f && !f.failed) {
          floor.push(f);
          vsBare.push(rate(r) / rate(f));
          if (base) bareVsPipeline.push(rate(f) / base);
        }
      }
      const t = total(svc);
      const fl = floor.length === svc.length ? total(floor) : undefined;
      const pipeImages = sum(pipe.map((p) => p.images));
      const pipelineCpuMsPerImage = pipeImages ? sum(pipe.map((p) => p.cpuMs)) / pipeImages : undefined;
      const basis = pipeImages ? (pipeImages / sum(pipe.map((p) => p.wallMs))) * 1000 : pipelineImagesPerSec;
      res.levels.push({
        concurrency: c,
        requests: n * o.serviceRounds,
        rounds: o.serviceRounds,
        imagesPerSec: t.imagesPerSec,
        p50Ms: percentile(t.latenciesMs, 50),
        p95Ms: percentile(t.latenciesMs, 95),
        p99Ms: percentile(t.latenciesMs, 99),
        failed: t.failed,
        pipelineImagesPerSec: basis,
        vsPipeline: middle(vsPipeline) ?? (basis ? t.imagesPerSec / basis : undefined),
        vsPipelineRounds: vsPipeline,
        serverCpuMsPerImage: t.serverCpuMsPerImage,
        pipelineCpuMsPerImage,
        cpuOverhead:
          t.serverCpuMsPerImage !== undefined && pipelineCpuMsPerImage
            ? t.serverCpuMsPerImage / pipelineCpuMsPerImage - 1
            : undefined,
        clientCpuMsPerImage: t.clientCpuMsPerImage,
        ...(fl
          ? {
              bareImagesPerSec: fl.imagesPerSec,
              bareVsPipeline: middle(bareVsPipeline),
              vsBare: middle(vsBare),
              bareCpuMsPerImage: fl.serverCpuMsPerImage,
            }
          : {}),
        firstError: t.firstError,
      });
    }
    res.serverPeakRssMB = server.peakRssMB();
    if (versions.length) res.writesPerImage = percentile(versions, 50);
    return res;
  } finally {
    pipeline?.close();
    await server?.close();
    await bare?.close();
    await images.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

function jpegCase() {
  const c = CASES.find((x) => x.id === "jpeg");
  if (!c) throw new Error("no jpeg case");
  return c;
}
