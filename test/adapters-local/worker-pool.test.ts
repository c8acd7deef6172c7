// The processing pool: libvips-only plans run on the calling thread, plans with an ImageMagick
// effect (or every plan with threads "always") in worker threads; never more than `size` images
// at once; time limits and aborts hold on both paths.
import sharp from "sharp";
import { afterEach, describe, expect, it } from "vitest";
import { needsThread, WorkerPool } from "../../src/adapters/local/worker-pool.js";
import { DEFAULT_LIMITS } from "../../src/core/limits.js";
import { validatePlan } from "../../src/core/plan.js";
import { failure } from "../helpers/errors.js";
import { makeImage } from "../helpers/images.js";

const pools: WorkerPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

function pool(size: number, mode?: "auto" | "always"): WorkerPool {
  const p = new WorkerPool(size, { threads: mode });
  pools.push(p);
  return p;
}

/** What the pool reports about itself while it works. */
const threadsOf = (p: WorkerPool) => (p as unknown as { slots: unknown[] }).slots.length;
const runningOf = (p: WorkerPool) => (p as unknown as { running(): number }).running();

const resize = validatePlan([{ op: "resize", width: 50 }], DEFAULT_LIMITS);
const swirl = validatePlan(
  [
    { op: "resize", width: 40 },
    { op: "swirl", degrees: 90 },
  ],
  DEFAULT_LIMITS,
);

describe("worker pool", () => {
  it("knows which plans need a thread: only those with an ImageMagick step", () => {
    expect(needsThread(resize)).toBe(false);
    expect(needsThread(swirl)).toBe(true);
    expect(
      needsThread(
        validatePlan(
          [
            { op: "blur", sigma: 2 },
            { op: "format", format: "webp" },
          ],
          DEFAULT_LIMITS,
        ),
      ),
    ).toBe(false);
  });

  it("auto: libvips plans run without a thread, at most `size` at once, each result right", async () => {
    const p = pool(2);
    const input = await makeImage({ width: 200, height: 100, format: "jpeg" });
    let peak = 0;
    const watch = setInterval(() => {
      peak = Math.max(peak, runningOf(p));
    }, 1);
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        p.process(input, resize, {
          limits: DEFAULT_LIMITS,
          onProgress: () => {
            peak = Math.max(peak, runningOf(p));
          },
        }),
      ),
    );
    clearInterval(watch);
    expect(threadsOf(p)).toBe(0);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(2);
    for (const r of results) {
      expect([r.width, r.height, r.format]).toEqual([50, 25, "jpeg"]);
      expect(r.source).toEqual({ width: 200, height: 100, format: "jpeg", pages: 1 });
      const meta = await sharp(r.data).metadata();
      expect([meta.width, meta.height, meta.format]).toEqual([50, 25, "jpeg"]);
    }
    expect(p.depth()).toBe(0);
  });

  it("auto: a plan with an ImageMagick effect runs in a worker thread", async () => {
    const p = pool(2);
    const input = await makeImage({ width: 80, height: 60, gradient: true });
    const r = await p.process(input, swirl, { limits: DEFAULT_LIMITS });
    expect(threadsOf(p)).toBe(1);
    expect([r.width, r.height]).toEqual([40, 30]);
    expect((await sharp(r.data).metadata()).width).toBe(40);
  });

  it("always: every plan runs in a worker thread", async () => {
    const p = pool(2, "always");
    const input = await makeImage({ width: 200, height: 100 });
    const r = await p.process(input, resize, { limits: DEFAULT_LIMITS });
    expect(threadsOf(p)).toBe(1);
    expect([r.width, r.height]).toEqual([50, 25]);
    expect(r.source).toEqual({ width: 200, height: 100, format: "png", pages: 1 });
  });

  it("on the calling thread the time limit and the caller's abort still hold", async () => {
    const p = pool(1);
    const big = await makeImage({ width: 3000, height: 3000, gradient: true, format: "png" });
    const heavy = validatePlan(
      [
        { op: "blur", sigma: 40 },
        { op: "sharpen", sigma: 5 },
        { op: "blur", sigma: 40 },
      ],
      DEFAULT_LIMITS,
    );
    const slow = await failure(p.process(big, heavy, { limits: { ...DEFAULT_LIMITS, processTimeoutMs: 1 } }));
    expect(slow.code).toBe("PROCESSING_TIMEOUT");

    const controller = new AbortController();
    const running = p.process(big, heavy, { limits: DEFAULT_LIMITS, signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(running).rejects.toBeDefined();
    expect(threadsOf(p)).toBe(0);
    // the pool goes on afterwards
    const ok = await p.process(await makeImage({ width: 100, height: 100 }), resize, { limits: DEFAULT_LIMITS });
    expect(ok.width).toBe(50);
  });

  // A thread that dies (it crashed, or the pool terminated it) fails its own image only. Until its
  // "exit" came, the pool took the dead thread for idle, and the next image that arrived was sent
  // to it and failed too ("worker exited"): a crash cost two images.
  describe("a thread that dies fails its own image only", () => {
    const light = validatePlan([{ op: "resize", width: 20 }], DEFAULT_LIMITS);
    const slow = validatePlan([{ op: "oilPaint", radius: 20 }], DEFAULT_LIMITS);

    /** Runs `first`; the moment it fails, hands the pool the next image and reports how that ended. */
    const nextAfterFailure = async (p: WorkerPool, first: Promise<unknown>, small: Buffer) => {
      const err = await first.then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err).toBeDefined();
      const next = await p.process(small, light, { limits: DEFAULT_LIMITS }).then(
        (r) => `done ${r.width}`,
        (e: Error) => `failed: ${e.message}`,
      );
      return { first: err?.message, next };
    };

    it("a thread that crashes: the image it ran fails, the next one runs on a new thread", async () => {
      const p = pool(1, "always");
      const small = await makeImage({ width: 40, height: 30 });
      await p.process(small, light, { limits: DEFAULT_LIMITS }); // one thread, idle
      const big = await makeImage({ width: 600, height: 600, gradient: true });
      const running = p.process(big, slow, { limits: DEFAULT_LIMITS });
      // An uncaught error inside the thread (a malformed message makes its handler throw).
      (p as unknown as { slots: { worker: { postMessage(m: unknown): void } }[] }).slots[0].worker.postMessage({
        type: "run",
        id: -1,
        input: null,
        plan: null,
        options: null,
      });
      const r = await nextAfterFailure(p, running, small);
      expect(r.first).toMatch(/worker (crashed|exited)/);
      expect(r.next).toBe("done 20");
    });

    it("a thread terminated past its time limit: the next image runs on a new thread", async () => {
      const p = new WorkerPool(1, { threads: "always", graceMs: 0 });
      pools.push(p);
      const small = await makeImage({ width: 40, height: 30 });
      await p.process(small, light, { limits: DEFAULT_LIMITS });
      const big = await makeImage({ width: 1500, height: 1500, gradient: true });
      const running = p.process(big, slow, { limits: { ...DEFAULT_LIMITS, processTimeoutMs: 200 } });
      const r = await nextAfterFailure(p, running, small);
      expect(r.first).toMatch(/longer than 200 ms/);
      expect(r.next).toBe("done 20");
    });

    it("a thread terminated because its image was aborted: the next image runs on a new thread", async () => {
      const p = pool(1, "always");
      const small = await makeImage({ width: 40, height: 30 });
      await p.process(small, light, { limits: DEFAULT_LIMITS });
      const big = await makeImage({ width: 1500, height: 1500, gradient: true });
      const ac = new AbortController();
      const running = p.process(big, slow, { limits: DEFAULT_LIMITS, signal: ac.signal });
      setTimeout(() => ac.abort(new Error("stop")), 50);
      const r = await nextAfterFailure(p, running, small);
      expect(r.first).toBe("stop");
      expect(r.next).toBe("done 20");
    });
  });
});
