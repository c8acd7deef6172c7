// JobRunner in this process: a FIFO queue drained by at most `concurrency` handlers at a time.
// stop() takes no new jobs, waits for running ones up to a deadline, then aborts them: their
// images stay as they are in the store and are resumed on the next start. A job that fails outside
// its own error handling (it could not even record the failure: a full disk, say) is delivered
// again after a growing delay, as Lambda does with a run that throws, so its image still ends.
import type { Logger } from "../../logger.js";
import type { Job, JobRunner } from "../../ports.js";

export type AbortableJobHandler = (job: Job, signal: AbortSignal) => Promise<void>;

export class LocalJobRunner implements JobRunner {
  private readonly queue: Job[] = [];
  private readonly running = new Map<Promise<void>, { ac: AbortController; job: Job }>();
  private stopped = false;
  private idleWaiters: (() => void)[] = [];
  /** Jobs waiting to be delivered again. */
  private readonly delayed = new Set<ReturnType<typeof setTimeout>>();

  constructor(
    private readonly handler: AbortableJobHandler,
    private readonly concurrency: number,
    private readonly logger?: Logger,
    private readonly onDepth?: (depth: number) => void,
    /** First delay before a failed job is delivered again (doubling, at most a minute). */
    private readonly redeliverBaseMs = 1_000,
  ) {}

  async enqueue(jobs: Job[]): Promise<void> {
    if (this.stopped) return; // left queued in the store; recovered on the next start
    this.queue.push(...jobs);
    this.pump();
  }

  depth(): number {
    return this.queue.length + this.running.size + this.delayed.size;
  }

  private redeliver(job: Job, err: unknown): void {
    if (this.stopped) return; // its image stays as it is; resumed on the next start
    const delay = Math.min(60_000, this.redeliverBaseMs * 2 ** Math.min(16, job.attempt - 1));
    this.logger?.error(
      { err, job, retryInMs: delay },
      "job failed outside its own error handling; delivering it again",
    );
    const timer = setTimeout(() => {
      this.delayed.delete(timer);
      if (this.stopped) return;
      this.queue.push({ ...job, attempt: job.attempt + 1 });
      this.pump();
    }, delay);
    this.delayed.add(timer);
  }

  private pump(): void {
    while (!this.stopped && this.queue.length && this.running.size < this.concurrency) {
      const job = this.queue.shift()!;
      const ac = new AbortController();
      const p: Promise<void> = this.handler(job, ac.signal)
        .catch((e: unknown) => this.redeliver(job, e))
        .finally(() => {
          this.running.delete(p);
          this.onDepth?.(this.depth());
          this.pump();
          if (this.depth() === 0) for (const w of this.idleWaiters.splice(0)) w();
        });
      this.running.set(p, { ac, job });
    }
    this.onDepth?.(this.depth());
  }

  cancelSession(sessionId: string): void {
    const before = this.queue.length;
    this.queue.splice(0, this.queue.length, ...this.queue.filter((j) => j.sessionId !== sessionId));
    let aborted = 0;
    for (const { ac, job } of this.running.values())
      if (job.sessionId === sessionId && !ac.signal.aborted) {
        ac.abort(new Error("session deleted"));
        aborted++;
      }
    if (before !== this.queue.length || aborted)
      this.logger?.info({ sessionId, dropped: before - this.queue.length, aborted }, "deleted session's jobs stopped");
    this.onDepth?.(this.depth());
  }

  /** Resolves when nothing is queued or running (tests). */
  idle(): Promise<void> {
    if (this.depth() === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  async stop(deadlineMs: number): Promise<void> {
    this.stopped = true;
    for (const t of this.delayed) clearTimeout(t);
    const dropped = this.queue.splice(0).length + this.delayed.size;
    this.delayed.clear();
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
      for (const { ac } of this.running.values()) ac.abort(new Error("server shutting down"));
      await all;
    }
    // What the last jobs recorded is still on its way to the progress streams (a few promise
    // turns: the session's watchers, the event, the response): let it go out before the caller
    // closes their connections, or a client would see an image done only after reconnecting.
    await new Promise((resolve) => setImmediate(resolve));
    this.logger?.info({ dropped }, "job runner stopped; unfinished images resume on next start");
  }
}
