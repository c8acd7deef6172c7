// Load with faults: several clients keep submitting sessions and following their progress streams
// while a fault is injected every few hundred milliseconds (object store refuses or times out a
// write, session store refuses a write, processing throws, a worker thread is killed). Bounded by
// a session count, not by time. Every session must finish truthfully (checkSession), failures must
// be accounted for by the injected faults, and the service must then complete a clean batch.
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Json, openSse } from "../http/harness.js";
import { type FaultyService, startFaultyService } from "./faults/service.js";
import { checkSession, type FaultSource, startSource } from "./faults/session-check.js";
import { Rng } from "./fuzz/prng.js";

const SESSIONS = 36;
/** Sessions go on past SESSIONS (up to 4x) until this many faults have hit: a faster service
 * finishes 36 sessions within fewer fault ticks. */
const MIN_FAULTS_HIT = 6;
const CLIENTS = 4;
const IMAGES_PER_SESSION = 3;
const FAULT_EVERY_MS = 250;

let svc: FaultyService;
let source: FaultSource;

beforeAll(async () => {
  const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: "#a52" } })
    .png()
    .toBuffer();
  source = await startSource(png);
  svc = await startFaultyService({
    FETCH_ALLOW_HOSTS: `127.0.0.1:${new URL(source.base).port}`,
    FETCH_TIMEOUT_MS: "3000",
    JOB_MAX_ATTEMPTS: "3",
    WORKER_CONCURRENCY: "2",
    WORKER_THREADS: "always", // worker kills need images in threads
  });
});
afterAll(async () => {
  await svc?.close();
  await source?.close();
});

/** Faults that hit an image: a throw or a killed busy thread, or a refused store write. */
function faultsHit(): { fatal: number; retryable: number } {
  const inj = svc.faults.injected;
  return {
    fatal: (inj["process-throw"] ?? 0) + (inj["worker-terminated-busy"] ?? 0),
    retryable: (inj["put-error"] ?? 0) + (inj["put-timeout"] ?? 0) + (inj["session-write-error"] ?? 0),
  };
}

async function runSession(n: number): Promise<Json> {
  const res = await svc.api("/image-edit", {
    method: "POST",
    body: JSON.stringify({
      images: Array.from({ length: IMAGES_PER_SESSION }, (_, i) => ({
        id: `i${i}`,
        // Always a healthy source: a flaky one would spend retries and blur the accounting below.
        url: `${source.base}/ok-load-${n}-${i}.png`,
      })),
      operation: { type: "operations", operations: [{ op: "resize", width: 32 }] },
    }),
  });
  expect(res.status).toBe(202);
  const started = (await res.json()) as Json;
  const sse = await openSse(svc.base + started.progressUrl);
  const complete = await Promise.race([
    sse.waitFor((e) => e.event === "complete"),
    new Promise<never>((_, rej) =>
      setTimeout(() => rej(new Error(`session ${n} (${started.sessionId}) never completed`)), 30_000),
    ),
  ]).finally(() => sse.close());
  const session = (await (await svc.api(`/image-edit/sessions/${started.sessionId}`)).json()) as Json;
  await checkSession(svc, session, complete.data as Json, sse.events as never);
  return session;
}

describe(`${SESSIONS}+ sessions from ${CLIENTS} clients with a fault every ${FAULT_EVERY_MS} ms`, () => {
  const sessions: Json[] = [];
  let started = 0;
  const lost: string[] = [];
  beforeAll(async () => {
    const rng = new Rng(4242);
    let running = true;
    const injector = (async () => {
      while (running) {
        await new Promise((r) => setTimeout(r, FAULT_EVERY_MS));
        const f = svc.faults;
        switch (rng.int(0, 4)) {
          case 0:
            f.putErrors++;
            break;
          case 1:
            f.putTimeouts++;
            break;
          case 2:
            f.sessionWriteErrors++;
            break;
          case 3:
            f.processThrows++;
            break;
          case 4:
            f.workerKills++;
            break;
        }
      }
    })();
    let next = 0;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        const more = (n: number) => {
          const { fatal, retryable } = faultsHit();
          return n < SESSIONS || (fatal + retryable < MIN_FAULTS_HIT && n < SESSIONS * 4);
        };
        for (let n = next++; more(n); n = next++) {
          started++;
          try {
            sessions.push(await runSession(n));
          } catch (e) {
            lost.push(`session ${n}: ${(e as Error).message}`);
          }
        }
      }),
    );
    running = false;
    await injector;
    // Faults not consumed by the load must not leak into the clean batch below.
    Object.assign(svc.faults, {
      putErrors: 0,
      putTimeouts: 0,
      sessionWriteErrors: 0,
      processThrows: 0,
      workerKills: 0,
    });
    const images = sessions.flatMap((s) => s.images as Json[]);
    console.log(
      `load with faults: ${sessions.length} sessions, ${images.length} images, ` +
        `${images.filter((i) => i.status === "done").length} done, ${images.filter((i) => i.status === "failed").length} failed, ` +
        `faults injected ${JSON.stringify(svc.faults.injected)}, sessions lost ${lost.length}`,
    );
  }, 240_000);

  it("loses no session: every one finished truthfully and the stream said so", () => {
    expect(lost).toEqual([]);
    expect(started).toBeGreaterThanOrEqual(SESSIONS);
    expect(sessions).toHaveLength(started);
  });

  it("fails no more images than the injected faults account for", () => {
    const images = sessions.flatMap((s) => s.images as Json[]);
    const failed = images.filter((i) => i.status === "failed");
    // A throw or a killed busy thread fails at most its image; a retryable fault fails an image only
    // when it hits all of that image's 3 attempts.
    const { fatal, retryable } = faultsHit();
    expect(failed.length).toBeLessThanOrEqual(fatal + Math.floor(retryable / 3));
    for (const f of failed) expect(["PROCESSING_FAILED", "STORAGE_FAILED"], JSON.stringify(f)).toContain(f.error.code);
    // The faults really happened under load.
    expect(fatal + retryable).toBeGreaterThanOrEqual(MIN_FAULTS_HIT);
  });

  it("recovers without a restart: a clean batch completes", async () => {
    const s = await runSession(1000);
    expect(s.status).toBe("completed");
  });
});
