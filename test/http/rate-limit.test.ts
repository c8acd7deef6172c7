import { describe, expect, it } from "vitest";
import { RateLimiter } from "../../src/http/rate-limit.js";

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

describe("RateLimiter", () => {
  it("allows perMinute hits per key, then says how long to wait", () => {
    const c = clock();
    const rl = new RateLimiter(c);
    expect([rl.take("a", 3), rl.take("a", 3), rl.take("a", 3)]).toEqual([0, 0, 0]);
    c.t += 15_000;
    expect(rl.take("a", 3)).toBe(45); // the oldest hit leaves the window in 45 s
    expect(rl.take("b", 3)).toBe(0); // other users are not affected
  });

  it("slides: a hit frees its slot exactly one window later", () => {
    const c = clock();
    const rl = new RateLimiter(c);
    rl.take("a", 2);
    c.t += 10_000;
    rl.take("a", 2);
    c.t += 49_999;
    expect(rl.take("a", 2)).toBe(1);
    c.t += 1;
    expect(rl.take("a", 2)).toBe(0); // the first hit expired
    expect(rl.take("a", 2)).toBeGreaterThan(0); // the second is still inside
  });

  it("refused hits do not count", () => {
    const c = clock();
    const rl = new RateLimiter(c);
    expect(rl.take("a", 1)).toBe(0);
    for (let i = 0; i < 100; i++) expect(rl.take("a", 1)).toBeGreaterThan(0);
    c.t += 60_000;
    expect(rl.take("a", 1)).toBe(0);
  });

  it("keeps exact counts under a high limit over many windows", () => {
    const c = clock();
    const rl = new RateLimiter(c);
    let allowed = 0;
    // 50 hits a second for 5 minutes: 3000 a minute, 1000 allowed per sliding minute
    for (let i = 0; i < 15_000; i++) {
      if (rl.take("a", 1000) === 0) allowed++;
      c.t += 20;
    }
    // first window: 1000 hits in 20 s, then one slot frees per expired hit
    expect(allowed).toBeGreaterThanOrEqual(5000);
    expect(allowed).toBeLessThanOrEqual(5001);
  });
});
