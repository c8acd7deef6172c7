// How the pipeline section drives a tool: a node worker over IPC for in-process tools, a child
// process per image (under /usr/bin/time for its peak RSS) for the command-line tools.
import { type ChildProcess, fork, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type BenchCase, BINARIES, IN_PROCESS, type ToolName } from "./baselines.js";
import type { WorkerReply, WorkerRequest } from "./worker.js";

export interface Batch {
  latenciesMs: number[];
  wallMs: number;
  /** CPU time (user + system, all threads) the batch used. */
  cpuMs: number;
}

export interface Runner {
  tool: ToolName;
  init(): Promise<void>;
  batch(n: number, concurrency: number): Promise<Batch>;
  /** Highest resident set seen, in KB (per process for CLI tools). */
  peakRssKB: number;
  outBytes: number;
  /** Writes the latest output to a file (for checking it). */
  save(file: string): Promise<void>;
  close(): void;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const TIME = "/usr/bin/time";

/**
 * Environment every measured process gets: glibc arenas capped (as the imgedit launcher does), and
 * without the VIPSHOME that loading sharp sets in this process (Debian's libvips would look for its
 * modules, AVIF/HEIF among them, under that prefix and not find them).
 */
export function benchEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, MALLOC_ARENA_MAX: "2" };
  delete env.VIPSHOME;
  return env;
}

class WorkerRunner implements Runner {
  peakRssKB = 0;
  outBytes = 0;
  private child?: ChildProcess;
  private pending?: { resolve: (r: WorkerReply) => void; reject: (e: Error) => void };

  constructor(
    readonly tool: ToolName,
    private readonly c: BenchCase,
    private readonly inputPath: string,
  ) {}

  private request(msg: WorkerRequest): Promise<WorkerReply> {
    const child = this.child;
    if (!child) return Promise.reject(new Error("worker not started"));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      child.send(msg);
    }).then((r) => {
      const reply = r as WorkerReply;
      if (reply.type === "error") throw new Error(reply.message);
      return reply;
    });
  }

  async init(): Promise<void> {
    const child = fork(path.join(here, "worker.ts"), [], {
      execArgv: ["--import", "tsx"],
      env: benchEnv(),
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    this.child = child;
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    child.on("message", (m: WorkerReply) => {
      const p = this.pending;
      this.pending = undefined;
      p?.resolve(m);
    });
    child.on("exit", (code, signal) => {
      const p = this.pending;
      this.pending = undefined;
      p?.reject(new Error(`worker exited (${signal ?? code}): ${stderr.trim().split("\n").slice(-3).join(" | ")}`));
    });
    await this.request({ type: "init", tool: this.tool, caseId: this.c.id, inputPath: this.inputPath });
  }

  async batch(n: number, concurrency: number): Promise<Batch> {
    const r = await this.request({ type: "run", n, concurrency });
    if (r.type !== "done") throw new Error(`unexpected reply ${r.type}`);
    this.peakRssKB = Math.max(this.peakRssKB, r.maxRssKB);
    this.outBytes = r.outBytes;
    return { latenciesMs: r.latenciesMs, wallMs: r.wallMs, cpuMs: r.cpuMs };
  }

  async save(file: string): Promise<void> {
    await this.request({ type: "save", path: file });
  }

  close(): void {
    this.child?.kill();
  }
}

class CliRunner implements Runner {
  peakRssKB = 0;
  outBytes = 0;
  private lastOut?: string;

  constructor(
    readonly tool: "vipsthumbnail" | "convert" | "gm",
    private readonly c: BenchCase,
    private readonly inputPath: string,
    private readonly workDir: string,
  ) {}

  async init(): Promise<void> {
    if (!existsSync(BINARIES[this.tool])) throw new Error(`${BINARIES[this.tool]} is not installed`);
    if (!existsSync(TIME)) throw new Error(`${TIME} is not installed (apt-get install time)`);
  }

  private runOne(slot: number): Promise<{ ms: number; cpuMs: number }> {
    const build = this.c.cli[this.tool];
    if (!build) return Promise.reject(new Error(`no ${this.tool} version of ${this.c.id}`));
    const out = path.join(this.workDir, `${this.c.id}-${this.tool}-${slot}.${this.c.outExt}`);
    const rssFile = `${out}.rss`;
    const bin = BINARIES[this.tool];
    const args = [...(this.tool === "gm" ? ["convert"] : []), ...build(this.inputPath, out)];
    return new Promise((resolve, reject) => {
      const start = performance.now();
      const child = spawn(TIME, ["-f", "%M %U %S", "-o", rssFile, bin, ...args], {
        stdio: ["ignore", "ignore", "pipe"],
        env: benchEnv(),
      });
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-2000);
      });
      child.on("error", reject);
      child.on("close", async (code) => {
        const ms = performance.now() - start;
        let cpuMs = 0;
        try {
          // "%M %U %S": peak RSS in KB, user and system CPU seconds (the last line; errors come before)
          const [rss, user, sys] = ((await readFile(rssFile, "utf8")).trim().split("\n").pop() ?? "")
            .split(" ")
            .map(Number);
          if (Number.isFinite(rss)) this.peakRssKB = Math.max(this.peakRssKB, rss);
          if (Number.isFinite(user) && Number.isFinite(sys)) cpuMs = (user + sys) * 1000;
        } catch {
          // no rss file: the run failed before time wrote it; the exit code says why below
        }
        if (code !== 0) {
          const why = stderr
            .trim()
            .split("\n")
            .filter((l) => l && !l.startsWith("Command exited"))
            .join(" | ");
          reject(new Error(`${this.tool} failed: ${(why || `exit ${code}`).slice(0, 300)}`));
          return;
        }
        this.lastOut = out;
        resolve({ ms, cpuMs });
      });
    });
  }

  async batch(n: number, concurrency: number): Promise<Batch> {
    const latenciesMs: number[] = [];
    let cpuMs = 0;
    let next = 0;
    const t0 = performance.now();
    const lane = async (slot: number) => {
      while (next < n) {
        next++;
        const r = await this.runOne(slot);
        latenciesMs.push(r.ms);
        cpuMs += r.cpuMs;
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, n) }, (_, i) => lane(i)));
    const wallMs = performance.now() - t0;
    if (this.lastOut) this.outBytes = (await readFile(this.lastOut)).length;
    return { latenciesMs, wallMs, cpuMs };
  }

  async save(file: string): Promise<void> {
    if (!this.lastOut) throw new Error("nothing to save yet");
    await copyFile(this.lastOut, file);
  }

  close(): void {
    // outputs live in the run's temp dir, removed by the caller
  }
}

export function makeRunner(tool: ToolName, c: BenchCase, inputPath: string, workDir: string): Runner {
  if (IN_PROCESS.has(tool)) return new WorkerRunner(tool, c, inputPath);
  return new CliRunner(tool as "vipsthumbnail" | "convert" | "gm", c, inputPath, workDir);
}
