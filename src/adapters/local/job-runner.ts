// JobRunner in this process: a FIFO queue drained by at most `concurrency` handlers at a time.
// stop() takes no new jobs, waits for running ones up to a deadline, then aborts them: their
// images stay as they are in the store and are resumed on the next start.
import type { Logger } from "../../logger.js";
import type { Job, JobRunner } from "../../ports.js";

export type AbortableJobHandler = (job: Job, signal: AbortSignal) => Promise<void>;

export class LocalJobRunner implements JobRunner {
  private readonly queue: Job[] = [];
  private readonly running = new Map<Promise<void>, AbortController>();
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly handler: AbortableJobHandler,
    private readonly concurrency: number,
    private readonly logger?: Logger,
    private readonly onDepth?: (depth: number) => void,
  ) {}

  async enqueue(jobs: Job[]): Promise<void> {
    if (this.stopped) return; // left queued in the store; recovered on the next start
    this.queue.push(...jobs);
    this.pump();
  }

  depth(): number {
    return this.queue.length + this.running.size;
  }

  private pump(): void {
    while (!this.stopped && this.queue.length && this.running.size < this.concurrency) {
      const job = this.queue.shift()!;
      const ac = new AbortController();
      const p: Promise<void> = this.handler(job, ac.signal)
        .catch((e: unknown) => {
          this.logger?.error({ err: e, job }, "job failed outside its own error handling");
        })
        .finally(() => {
          this.running.delete(p);
          this.onDepth?.(this.depth());
          this.pump();
          if (this.running.size === 0 && this.queue.length === 0) for (const w of this.idleWaiters.splice(0)) w();
        });
      this.running.set(p, ac);
    }
    this.onDepth?.(this.depth());
  }

  /** Resolves when nothing is queued or running (tests). */
  idle(): Promise<void> {
    if (this.running.size === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  async stop(deadlineMs: number): Promise<void> {
    this.stopped = true;
    const dropped = this.queue.splice(0).length;
    const all = Promise.allSettled([...this.running.keys()]);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(true), Math.max(0, deadlineMs));
      }),
    ]);
    if (timer) clearTimeout(timer);
    if (timedOut) {
      this.logger?.warn({ running: this.running.size }, "shutdown deadline reached: aborting running jobs");
      for (const ac of this.running.values()) ac.abort(new Error("server shutting down"));
      await all;
    }
    this.logger?.info({ dropped }, "job runner stopped; unfinished images resume on next start");
  }
}
