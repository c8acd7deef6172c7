// Per-user sliding-window request limits, in memory (per process: on Lambda, per container).
import type { Clock } from "../ports.js";

export class RateLimiter {
  private readonly hits = new Map<string, number[]>();

  constructor(
    private readonly perMinute: number,
    private readonly clock: Clock,
    private readonly windowMs = 60_000,
  ) {}

  /** Records a hit; returns 0 when allowed, else the seconds to wait before trying again. */
  take(key: string): number {
    const now = this.clock.now();
    const from = now - this.windowMs;
    const list = (this.hits.get(key) ?? []).filter((t) => t > from);
    if (list.length >= this.perMinute) {
      this.hits.set(key, list);
      return Math.max(1, Math.ceil((list[0] + this.windowMs - now) / 1000));
    }
    list.push(now);
    this.hits.set(key, list);
    if (this.hits.size > 10_000) this.prune(from);
    return 0;
  }

  private prune(from: number): void {
    for (const [k, v] of this.hits) if (!v.some((t) => t > from)) this.hits.delete(k);
  }
}
