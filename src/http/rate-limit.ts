// Per-user sliding-window request limits, in memory: the local server's RateCounter (one process
// serves a data directory). The AWS functions count in DynamoDB (adapters/aws/rate-counter.ts).
import type { Clock, RateCounter } from "../ports.js";

/** A user's hits inside the window, oldest first; `head` skips the expired ones without copying. */
interface Window {
  times: number[];
  head: number;
}

export class RateLimiter {
  private readonly hits = new Map<string, Window>();

  constructor(
    private readonly clock: Clock,
    private readonly windowMs = 60_000,
  ) {}

  /** Records a hit unless `perMinute` are in the window; 0 when allowed, else the seconds to wait. */
  take(key: string, perMinute: number): number {
    const now = this.clock.now();
    const from = now - this.windowMs;
    let w = this.hits.get(key);
    if (!w) {
      w = { times: [], head: 0 };
      this.hits.set(key, w);
    }
    // Constant work per hit, however high the limit: expired hits are skipped, and dropped in bulk.
    while (w.head < w.times.length && w.times[w.head] <= from) w.head++;
    if (w.head > 64 && w.head * 2 > w.times.length) {
      w.times = w.times.slice(w.head);
      w.head = 0;
    }
    if (w.times.length - w.head >= perMinute) {
      return Math.max(1, Math.ceil((w.times[w.head] + this.windowMs - now) / 1000));
    }
    w.times.push(now);
    if (this.hits.size > 10_000) this.prune(from);
    return 0;
  }

  /** Gives back the latest hit of `key`: what it was taken for did not happen. */
  refund(key: string): void {
    const w = this.hits.get(key);
    if (w && w.times.length > w.head) w.times.pop();
  }

  private prune(from: number): void {
    for (const [k, w] of this.hits) if (!(w.times[w.times.length - 1] > from)) this.hits.delete(k);
  }
}

/** One process's counts, each key with the limit its caller gives. */
export function memoryRateCounter(clock: Clock): RateCounter {
  const limiter = new RateLimiter(clock);
  return {
    take: async (key, limit) => limiter.take(key, limit),
    refund: async (key) => limiter.refund(key),
  };
}
