// A bounded pool running processImage: at most `size` images at a time, the rest wait in FIFO
// order. Plans made only of libvips work run on this thread, since sharp already does the pixels
// on libuv's pool and processImage enforces the time limit and abort itself; a worker thread there
// cost ~10% of throughput (a message hop and a heap per thread, measured by bench/). Plans with a
// step that blocks its thread (magick-wasm effects), or every plan with threads "always", run in
// worker threads, one image per thread: a thread that hangs past the time limit, crashes or whose
// job is aborted is terminated and replaced, so one bad image never wedges the pool.
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { ImageEditError } from "../../core/errors.js";
import { getOperation, type Plan } from "../../core/operations.js";
import { type ProcessOptions, type ProcessResult, processImage } from "../../core/pipeline.js";
import { postBytes, type ToMain, type ToWorker, type WireError } from "./worker-protocol.js";

// Under tsx/vitest this module is .ts and so is the entry: the thread registers tsx's loader and
// then imports it (on Node 20, `--import tsx` in a worker's execArgv does not reach the thread).
// From dist, the plain .js entry.
const SELF_IS_TS = import.meta.url.endsWith(".ts");
const ENTRY = new URL(`./process-worker.${SELF_IS_TS ? "ts" : "js"}`, import.meta.url);

// Flags that only make sense for the main script (node --input-type=module -e ...): a thread that
// inherits them fails to start.
const MAIN_ONLY = /^(--input-type|--eval|-e$|--print|-p$)/;
// Flags that load code, which a thread needs as much as the main script; the next argument is the value.
const LOADERS = /^(--import|--require|-r|--loader|--experimental-loader|--conditions|-C)$/;
const LOADER_WITH_VALUE = /^(--import|--require|--loader|--experimental-loader|--conditions)=/;

/**
 * The execArgv for a thread: undefined (inherit the process's) unless the main script's own flags
 * are there; then only the code-loading flags. Never the whole list: Node refuses a thread given
 * V8 or per-process flags (the launcher's --initial-old-space-size), while inheriting them is fine.
 */
export function workerExecArgv(argv: readonly string[]): string[] | undefined {
  if (!argv.some((a) => MAIN_ONLY.test(a))) return undefined;
  const keep: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (LOADERS.test(a) && i + 1 < argv.length) keep.push(a, argv[++i]);
    else if (LOADER_WITH_VALUE.test(a) || a === "--enable-source-maps") keep.push(a);
  }
  return keep;
}

function spawnWorker(): Worker {
  const execArgv = workerExecArgv(process.execArgv);
  if (!SELF_IS_TS) return new Worker(ENTRY, { execArgv });
  const api = pathToFileURL(
    createRequire(import.meta.url)
      .resolve("tsx/esm/api")
      .replace(/\.cjs$/, ".mjs"),
  ).href;
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(ENTRY.href)}); })`;
  return new Worker(code, { eval: true, execArgv });
}

interface Task {
  id: number;
  input: Buffer;
  plan: Plan;
  opts: ProcessOptions;
  /** The caller gives up the input: its memory moves to the thread instead of being copied. */
  owned: boolean;
  resolve: (r: ProcessResult) => void;
  reject: (e: unknown) => void;
}

interface Slot {
  worker: Worker;
  task?: Task;
  /**
   * The thread is going away (terminated, or it crashed) and its "exit" has not come yet: no task
   * may start on it, or that task would fail with "worker exited" too.
   */
  retired?: boolean;
  timer?: ReturnType<typeof setTimeout>;
  onAbort?: () => void;
}

function wireToError(e: WireError): ImageEditError {
  return new ImageEditError(e.code, e.message, { field: e.field, details: e.details, retryable: e.retryable });
}

/** Where images run: "auto" puts only plans with a thread-blocking step in worker threads. */
export type ThreadMode = "auto" | "always";

/** A step that keeps its thread busy until done (synchronous WebAssembly) needs a thread of its own. */
export function needsThread(plan: Plan): boolean {
  return plan.some((op) => getOperation(op.op)?.magick === true);
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly waiting: Task[] = [];
  private nextId = 1;
  private closed = false;
  /** Images running on this thread. */
  private inline = 0;

  private readonly graceMs: number;
  readonly threads: ThreadMode;

  constructor(
    readonly size: number,
    opts: { threads?: ThreadMode /** Past the time limit before a thread is killed. */; graceMs?: number } = {},
  ) {
    this.threads = opts.threads ?? "auto";
    this.graceMs = opts.graceMs ?? 10_000;
  }

  /** Same signature as processImage; runs it here or in a worker thread (see the top of this file). */
  process = (input: Buffer, plan: Plan, opts: ProcessOptions): Promise<ProcessResult> =>
    this.enqueue(input, plan, opts, false);

  /**
   * Like process, but the input is handed over: when it owns its whole memory, that memory moves
   * to the thread without a copy and `input` is left empty (detached). For callers that never
   * read the input again (a job fetches it afresh on a retry).
   */
  processOwned = (input: Buffer, plan: Plan, opts: ProcessOptions): Promise<ProcessResult> =>
    this.enqueue(input, plan, opts, true);

  private enqueue(input: Buffer, plan: Plan, opts: ProcessOptions, owned: boolean): Promise<ProcessResult> {
    if (this.closed) return Promise.reject(new ImageEditError("PROCESSING_FAILED", "worker pool is closed"));
    if (opts.signal?.aborted) return Promise.reject(opts.signal.reason ?? new Error("aborted"));
    return new Promise((resolve, reject) => {
      this.waiting.push({ id: this.nextId++, input, plan, opts, owned, resolve, reject });
      this.pump();
    });
  }

  /** Images waiting plus running. */
  depth(): number {
    return this.waiting.length + this.running();
  }

  private running(): number {
    return this.inline + this.slots.filter((s) => s.task).length;
  }

  private spawn(): Slot {
    const worker = spawnWorker();
    const slot: Slot = { worker };
    worker.on("message", (msg: ToMain) => this.onMessage(slot, msg));
    worker.on("error", (err) => {
      // The thread is dead (an uncaught error ends it); "exit" follows, possibly a turn later.
      this.retire(slot);
      this.fail(slot, new ImageEditError("PROCESSING_FAILED", `worker crashed: ${err.message}`));
      this.pump();
    });
    worker.on("exit", (code) => {
      this.fail(slot, new ImageEditError("PROCESSING_FAILED", `worker exited (code ${code})`));
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      this.pump();
    });
    worker.unref();
    this.slots.push(slot);
    return slot;
  }

  private pump(): void {
    while (!this.closed && this.waiting.length && this.running() < this.size) {
      const task = this.waiting.shift()!;
      if (task.opts.signal?.aborted) {
        task.reject(task.opts.signal.reason ?? new Error("aborted"));
        continue;
      }
      if (this.threads === "auto" && !needsThread(task.plan)) {
        this.runInline(task);
        continue;
      }
      // Fewer than `size` images run, so a thread is idle or one more may start.
      const slot = this.slots.find((s) => !s.task && !s.retired) ?? this.spawn();
      this.start(slot, task);
    }
  }

  private runInline(task: Task): void {
    this.inline++;
    processImage(task.input, task.plan, task.opts)
      .then(task.resolve, task.reject)
      .finally(() => {
        this.inline--;
        this.pump();
      });
  }

  private start(slot: Slot, task: Task): void {
    slot.task = task;
    const { loadAsset: _l, signal, onProgress: _p, ...options } = task.opts;
    // (the longest timer Node can wait: a longer one would fire at once)
    const timeoutMs = Math.min(task.opts.limits.processTimeoutMs + this.graceMs, 2_147_483_647);
    slot.timer = setTimeout(() => {
      this.stopThread(slot);
      this.fail(
        slot,
        new ImageEditError("PROCESSING_TIMEOUT", `processing took longer than ${task.opts.limits.processTimeoutMs} ms`),
      );
      this.pump();
    }, timeoutMs);
    if (signal) {
      slot.onAbort = () => {
        this.stopThread(slot);
        this.fail(slot, signal.reason ?? new Error("aborted"));
        this.pump();
      };
      signal.addEventListener("abort", slot.onAbort, { once: true });
    }
    slot.worker.ref();
    postBytes(
      task.input,
      (input) =>
        slot.worker.postMessage({ type: "run", id: task.id, input, plan: task.plan, options } as ToWorker, [input]),
      task.owned,
    );
  }

  /** No task starts on this thread again; it leaves the pool when its "exit" comes. */
  private retire(slot: Slot): void {
    slot.retired = true;
  }

  /** Terminate a thread (hung past its time limit, or its image aborted), retired first. */
  private stopThread(slot: Slot): void {
    this.retire(slot);
    void slot.worker.terminate();
  }

  private finish(slot: Slot): Task | undefined {
    const task = slot.task;
    if (!task) return undefined;
    slot.task = undefined;
    if (slot.timer) clearTimeout(slot.timer);
    if (slot.onAbort) task.opts.signal?.removeEventListener("abort", slot.onAbort);
    slot.onAbort = undefined;
    slot.worker.unref();
    return task;
  }

  private fail(slot: Slot, err: unknown): void {
    const task = this.finish(slot);
    task?.reject(err);
  }

  private onMessage(slot: Slot, msg: ToMain): void {
    const task = slot.task;
    if (!task || msg.id !== task.id) return;
    if (msg.type === "progress") {
      task.opts.onProgress?.(msg.percent, msg.step);
    } else if (msg.type === "asset") {
      const load = task.opts.loadAsset;
      const reply = (m: ToWorker, transfer?: ArrayBuffer[]) => {
        if (slot.task === task) slot.worker.postMessage(m, transfer);
      };
      if (!load) {
        reply({
          type: "asset-result",
          reqId: msg.reqId,
          error: { code: "INVALID_OPERATION", message: "this service cannot load other images" },
        });
        return;
      }
      load(msg.url).then(
        (buf) => postBytes(buf, (data) => reply({ type: "asset-result", reqId: msg.reqId, data }, [data]), false),
        (e: unknown) => {
          const err = e instanceof ImageEditError ? e : new ImageEditError("FETCH_FAILED", String(e));
          reply({ type: "asset-result", reqId: msg.reqId, error: { ...err.toJSON(), retryable: err.retryable } });
        },
      );
    } else if (msg.type === "done") {
      this.finish(slot);
      task.resolve({ ...msg.result, data: Buffer.from(msg.result.data) });
      this.pump();
    } else if (msg.type === "error") {
      this.finish(slot);
      task.reject(wireToError(msg.error));
      this.pump();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.waiting.splice(0)) t.reject(new ImageEditError("PROCESSING_FAILED", "worker pool closed"));
    await Promise.all(
      this.slots.map(async (s) => {
        this.fail(s, new ImageEditError("PROCESSING_FAILED", "worker pool closed"));
        await s.worker.terminate();
      }),
    );
    this.slots.length = 0;
  }
}
