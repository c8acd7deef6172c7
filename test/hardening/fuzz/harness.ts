// Drives a fuzz run: mutates seed images with a seeded PRNG and feeds each mutant through
// processImage in child processes (see child.ts). Every input ends as one of: processed (output
// checked), a typed ImageEditError, or a failure (untyped error, bad output, crash, hang), and the
// inputs behind failures are saved under test-results/fuzz/ with the seed and index to replay them.
import { type ChildProcess, fork } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ERROR_STATUS } from "../../../src/core/errors.js";
import type { OutputFormat } from "../../../src/core/ops/define.js";
import type { FuzzOutcome, FuzzRequest } from "./child.js";
import { kindOf, mutate } from "./mutate.js";
import { Rng } from "./prng.js";
import { fixtureSeeds, makeSeeds, type SeedImage } from "./seeds.js";

const here = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(here, "../../..");
export const FAILURE_DIR = join(REPO, "test-results/fuzz");

export interface FuzzOptions {
  seed: number;
  /** Mutants to try (the unmutated seeds run first, on top of this). */
  count: number;
  /** limits.processTimeoutMs for every input. */
  processTimeoutMs?: number;
  /** How long past processTimeoutMs an input may run before it counts as a hang. */
  graceMs?: number;
  /** Child processes working in parallel. */
  workers?: number;
  /** Include the real-world fixtures (when the folder exists). */
  fixtures?: boolean;
  /** Largest fixture file used as a seed. */
  maxFixtureBytes?: number;
  outputFormats?: OutputFormat[];
  onProgress?: (done: number, total: number) => void;
}

export interface Failure {
  index: number;
  seedName: string;
  label: string;
  kind: "untyped" | "bad-output" | "crash" | "hang" | "unknown-code";
  message: string;
  savedAs: string;
}

export interface FuzzSummary {
  seed: number;
  inputs: number;
  seeds: string[];
  /** Unmutated seeds that did not process (must be none: the harness proves it can succeed). */
  seedFailures: string[];
  processed: number;
  typed: number;
  codes: Record<string, number>;
  /** A few distinct messages per code, to see what each typed error said. */
  samples: Record<string, string[]>;
  failures: Failure[];
  childRestarts: number;
  /** Child RSS right after start-up and the unmutated seeds, the highest seen, and at the end (bytes). */
  rssBaseline: number;
  rssMax: number;
  rssEnd: number;
  elapsedMs: number;
}

interface Job {
  index: number;
  seedName: string;
  label: string;
  req: FuzzRequest;
  control: boolean;
}

const TYPED = new Set(Object.keys(ERROR_STATUS));

/** Plans are these steps then a resize: half the inputs get the one-step (fused) path. */
const STEPS_BEFORE: Record<string, unknown>[][] = [
  [],
  [],
  [],
  [{ op: "grayscale" }],
  [{ op: "rotate", angle: 90 }],
  [
    { op: "flip", direction: "horizontal" },
    { op: "blur", sigma: 1 },
  ],
  [{ op: "rotate", angle: 33 }],
];

export async function runFuzz(o: FuzzOptions): Promise<FuzzSummary> {
  const started = Date.now();
  const processTimeoutMs = o.processTimeoutMs ?? 4000;
  const graceMs = o.graceMs ?? 15_000;
  const formats = o.outputFormats ?? ["jpeg", "png", "webp", "gif", "tiff", "avif"];
  const seeds: SeedImage[] = [...(await makeSeeds()), ...(o.fixtures === false ? [] : fixtureSeeds(o.maxFixtureBytes))];
  const rng = new Rng(o.seed);

  const jobs: Job[] = seeds.map((s, i) => ({
    index: -1 - i,
    seedName: s.name,
    label: "unmutated",
    control: true,
    req: { id: -1 - i, data: s.data, outputFormat: "png", width: 40, processTimeoutMs },
  }));
  for (let i = 0; i < o.count; i++) {
    const s = rng.pick(seeds);
    const m = mutate(rng, s.data);
    const outputFormat = rng.pick(formats);
    const before = rng.pick(STEPS_BEFORE);
    jobs.push({
      index: i,
      seedName: s.name,
      control: false,
      label: before.length ? `${m.label} | ${before.map((o) => o.op).join(",")}` : m.label,
      req: { id: i, data: m.data, outputFormat, width: rng.pick([1, 17, 64]), processTimeoutMs, before },
    });
  }

  const summary: FuzzSummary = {
    seed: o.seed,
    inputs: o.count,
    seeds: seeds.map((s) => s.name),
    seedFailures: [],
    processed: 0,
    typed: 0,
    codes: {},
    samples: {},
    failures: [],
    childRestarts: 0,
    rssBaseline: 0,
    rssMax: 0,
    rssEnd: 0,
    elapsedMs: 0,
  };

  const record = (job: Job, outcome: FuzzOutcome | { kind: "crash" | "hang"; message: string }) => {
    if ("rss" in outcome) summary.rssMax = Math.max(summary.rssMax, outcome.rss);
    if (job.control) {
      // Fresh seeds must process; a real-world file may be broken on purpose (truncated, giant).
      const fixtureRefused = job.seedName.startsWith("fixtures/") && outcome.kind === "typed";
      if (outcome.kind !== "ok" && !fixtureRefused)
        summary.seedFailures.push(`${job.seedName}: ${outcome.kind} ${"message" in outcome ? outcome.message : ""}`);
      return;
    }
    if (outcome.kind === "ok") {
      summary.processed++;
      return;
    }
    if (outcome.kind === "typed" && TYPED.has(outcome.code)) {
      summary.typed++;
      summary.codes[outcome.code] = (summary.codes[outcome.code] ?? 0) + 1;
      summary.samples[outcome.code] ??= [];
      const seen = summary.samples[outcome.code];
      const text = `${outcome.message.slice(0, 160)} [${job.label}]`;
      if (seen.length < 4 && !seen.some((m) => m.startsWith(outcome.message.slice(0, 40)))) seen.push(text);
      return;
    }
    const kind = outcome.kind === "typed" ? "unknown-code" : outcome.kind;
    const savedAs = save(o.seed, job, kind);
    summary.failures.push({
      index: job.index,
      seedName: job.seedName,
      label: job.label,
      kind,
      message: "message" in outcome ? outcome.message : "",
      savedAs,
    });
  };

  // Controls first, on one child, so the baseline RSS is measured before any mutant ran.
  const controls = jobs.filter((j) => j.control);
  const mutants = jobs.filter((j) => !j.control);
  const first = new FuzzChild(graceMs, () => summary.childRestarts++);
  try {
    for (const job of controls) record(job, await first.run(job.req));
    summary.rssBaseline = first.lastRss;
    const queue = [...mutants];
    let done = 0;
    const workers = [
      first,
      ...Array.from(
        { length: Math.max(0, (o.workers ?? 1) - 1) },
        () => new FuzzChild(graceMs, () => summary.childRestarts++),
      ),
    ];
    await Promise.all(
      workers.map(async (w) => {
        for (let job = queue.shift(); job; job = queue.shift()) {
          record(job, await w.run(job.req));
          o.onProgress?.(++done, mutants.length);
        }
      }),
    );
    summary.rssEnd = Math.max(...workers.map((w) => w.lastRss));
    await Promise.all(workers.map((w) => w.close()));
  } finally {
    await first.close();
  }
  summary.elapsedMs = Date.now() - started;
  return summary;
}

function save(seed: number, job: Job, kind: string): string {
  mkdirSync(FAILURE_DIR, { recursive: true });
  const ext = { jpeg: "jpg", png: "png", gif: "gif", webp: "webp", tiff: "tiff", avif: "avif", other: "bin" }[
    kindOf(Buffer.from(job.req.data))
  ];
  const base = join(FAILURE_DIR, `seed${seed}-input${job.index}-${kind}`);
  writeFileSync(`${base}.${ext}`, job.req.data);
  writeFileSync(
    `${base}.json`,
    JSON.stringify(
      {
        seed,
        index: job.index,
        from: job.seedName,
        mutations: job.label,
        outputFormat: job.req.outputFormat,
        before: job.req.before,
        width: job.req.width,
      },
      null,
      2,
    ),
  );
  return `${base}.${ext}`;
}

/** One child process, restarted after a crash or a hang. */
export class FuzzChild {
  private child?: ChildProcess;
  private ready?: Promise<void>;
  private stderr = "";
  lastRss = 0;

  constructor(
    private readonly graceMs: number,
    private readonly onRestart: () => void,
  ) {}

  private start(): Promise<void> {
    const child = fork(join(here, "child.ts"), [], {
      cwd: REPO,
      execArgv: ["--import", "tsx"],
      serialization: "advanced",
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    this.child = child;
    this.stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-2000);
    });
    return new Promise((resolveReady, reject) => {
      const onMessage = (m: { ready?: boolean; rss?: number }) => {
        if (!m.ready) return;
        this.lastRss = m.rss ?? 0;
        child.off("message", onMessage);
        child.off("exit", onExit);
        resolveReady();
      };
      const onExit = (code: number | null, signal: string | null) =>
        reject(new Error(`fuzz child failed to start (${signal ?? code}): ${this.stderr}`));
      child.on("message", onMessage);
      child.once("exit", onExit);
    });
  }

  async run(req: FuzzRequest): Promise<FuzzOutcome | { kind: "crash" | "hang"; message: string }> {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) this.ready = this.start();
    await this.ready;
    const child = this.child as ChildProcess;
    return new Promise((resolveRun) => {
      const limit = req.processTimeoutMs + this.graceMs;
      const timer = setTimeout(() => {
        cleanup();
        child.kill("SIGKILL");
        this.child = undefined;
        this.onRestart();
        resolveRun({ kind: "hang", message: `no answer ${limit} ms after the input was sent` });
      }, limit);
      const onMessage = (m: FuzzOutcome) => {
        if (m.id !== req.id) return;
        cleanup();
        this.lastRss = m.rss;
        resolveRun(m);
      };
      const onExit = (code: number | null, signal: string | null) => {
        cleanup();
        this.child = undefined;
        this.onRestart();
        resolveRun({
          kind: "crash",
          message: `child exited (${signal ?? `code ${code}`}): ${this.stderr.slice(-500)}`,
        });
      };
      const cleanup = () => {
        clearTimeout(timer);
        child.off("message", onMessage);
        child.off("exit", onExit);
      };
      child.on("message", onMessage);
      child.once("exit", onExit);
      child.send(req);
    });
  }

  async close(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((r) => {
      child.once("exit", () => r());
      child.kill("SIGTERM");
    });
  }
}

/** A human-readable report of a run (printed by the test and the fuzz script). */
export function formatSummary(s: FuzzSummary): string {
  const mb = (n: number) => `${Math.round(n / 1048576)} MB`;
  const codes = Object.entries(s.codes)
    .sort((a, b) => b[1] - a[1])
    .map(([c, n]) => `${c} ${n}`)
    .join(", ");
  const lines = [
    `fuzz seed ${s.seed}: ${s.inputs} mutants of ${s.seeds.length} seeds in ${(s.elapsedMs / 1000).toFixed(1)} s`,
    `  processed ${s.processed}, typed errors ${s.typed} (${codes}), failures ${s.failures.length}, child restarts ${s.childRestarts}`,
    `  child RSS: baseline ${mb(s.rssBaseline)}, max ${mb(s.rssMax)}, end ${mb(s.rssEnd)}`,
    `  replay: FUZZ_SEED=${s.seed} FUZZ_COUNT=${s.inputs} npm run fuzz`,
  ];
  for (const [code, msgs] of Object.entries(s.samples)) for (const m of msgs) lines.push(`  e.g. ${code}: ${m}`);
  for (const f of s.seedFailures) lines.push(`  SEED FAILED: ${f}`);
  for (const f of s.failures.slice(0, 30))
    lines.push(`  FAIL #${f.index} ${f.kind} [${f.seedName}: ${f.label}] ${f.message.split("\n")[0]} -> ${f.savedAs}`);
  return lines.join("\n");
}
