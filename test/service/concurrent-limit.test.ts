// MAX_CONCURRENT_SESSIONS under concurrent requests from one user.
//
// Requests that arrive together used to all pass the count before any of them had created its
// session (each awaits its uploads' checks in between): 30 concurrent edits of 10 uploaded images
// with a limit of 3 were accepted 12 times. Edits being started now count as unfinished.
import { expect, it } from "vitest";
import { makeImage } from "../helpers/images.js";
import { type Json, startService } from "../http/harness.js";

it("concurrent edits of one user, each awaiting its uploads' checks, stay within MAX_CONCURRENT_SESSIONS", async () => {
  const svc = await startService({ MAX_CONCURRENT_SESSIONS: "3", WORKER_THREADS: "always", WORKER_CONCURRENCY: "1" });
  try {
    const up = await svc.api("/uploads", {
      method: "POST",
      body: new Uint8Array(await makeImage({ width: 300, height: 300, gradient: true })),
      headers: { "content-type": "image/png" },
    });
    const { id } = (await up.json()) as Json;
    // Slow enough (an ImageMagick effect, one thread) that no session finishes during the burst.
    const body = JSON.stringify({
      images: Array.from({ length: 10 }, (_, i) => ({ id: `i${i}`, url: `upload:${id}` })),
      operation: { type: "operations", operations: [{ op: "oilPaint", radius: 10 }] },
    });
    const statuses = await Promise.all(
      Array.from({ length: 30 }, () => svc.api("/image-edit", { method: "POST", body }).then((r) => r.status)),
    );
    expect(statuses.filter((s) => s !== 202 && s !== 429)).toEqual([]);
    expect(statuses.filter((s) => s === 202).length).toBeLessThanOrEqual(3);
  } finally {
    await svc.close({ graceMs: 0 });
  }
});
