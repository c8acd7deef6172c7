import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBucket, createSessionsTable, type LoopbackAws, startLoopbackAws } from "../aws/servers.js";
import { type Json, openSse } from "../http/harness.js";
import { type FaultyService, startFaultyService } from "./faults/service.js";
import { checkSession, type FaultSource, startSource } from "./faults/session-check.js";

let svc: FaultyService;
let aws: LoopbackAws | undefined;
let source: FaultSource;
let png: Buffer;
/** Totals for docs/RELIABILITY.md: printed at the end. */
const tally = { sessions: 0, images: 0, faults: 0, lost: 0 };

beforeAll(async () => {
  png = await sharp({ create: { width: 64, height: 48, channels: 3, background: "#2a7" } })
    .png()
    .toBuffer();
  source = await startSource(png);
});
afterAll(async () => {
  await source?.close();
});

/** The backend under test, also a suffix on source paths so each backend counts its own hits. */
let current = "local";
const P = (p: string) => p.replace(/\.png$/, `-${current}.png`);

async function startFor(backend: "local" | "aws"): Promise<void> {
  current = backend;
  tally.sessions = tally.images = tally.faults = tally.lost = 0;
  const env = {
    FETCH_ALLOW_HOSTS: `127.0.0.1:${new URL(source.base).port}`,
    FETCH_TIMEOUT_MS: "1500",
    FETCH_CONNECT_TIMEOUT_MS: "1000",
    JOB_MAX_ATTEMPTS: "3",
    WORKER_CONCURRENCY: "2",
    WORKER_THREADS: "always", // worker kills need images in threads
  };
  if (backend === "local") {
    svc = await startFaultyService(env);
    return;
  }
  aws = await startLoopbackAws();
  await createSessionsTable(aws.dynamoEndpoint, "image-edit-sessions");
  await createBucket(aws.s3Endpoint, "imgedit-results");
  svc = await startFaultyService(env, {
    kind: "aws",
    dynamoEndpoint: aws.dynamoEndpoint,
    s3Endpoint: aws.s3Endpoint,
    table: "image-edit-sessions",
    bucket: "imgedit-results",
  });
}

async function stopFor(backend: string): Promise<void> {
  await svc?.close();
  await aws?.close();
  aws = undefined;
  console.log(
    `fault injection (${backend}): ${tally.sessions} sessions, ${tally.images} images, ${tally.faults} faults injected, sessions lost ${tally.lost}`,
  );
}

/** Faults injected so far ("-busy" entries only confirm that a kill landed on a busy thread). */
const injectedCount = () =>
  Object.entries(svc.faults.injected)
    .filter(([k]) => !k.endsWith("-busy"))
    .reduce((a, [, n]) => a + n, 0);

interface Outcome {
  session: Json;
  events: { event: string; data: Json }[];
}

/** Start a session, follow its progress stream to the end, and check every invariant. */
async function edit(images: { id: string; path: string }[]): Promise<Outcome> {
  const before = injectedCount();
  const res = await svc.api("/image-edit", {
    method: "POST",
    body: JSON.stringify({
      images: images.map((i) => ({ id: i.id, url: `${source.base}${P(i.path)}` })),
      operation: { type: "operations", operations: [{ op: "resize", width: 32 }] },
    }),
  });
  expect(res.status).toBe(202);
  const started = (await res.json()) as Json;
  const sse = await openSse(svc.base + started.progressUrl);
  expect(sse.status).toBe(200);
  const complete = await Promise.race([
    sse.waitFor((e) => e.event === "complete"),
    new Promise<never>((_, rej) => setTimeout(() => rej(new Error("no complete event in 25 s")), 25_000)),
  ]).catch(async (e) => {
    const s = await (await svc.api(`/image-edit/sessions/${started.sessionId}`)).json();
    tally.lost++;
    throw new Error(`${(e as Error).message}; session is ${JSON.stringify(s)}`);
  });
  sse.close();
  const session = (await (await svc.api(`/image-edit/sessions/${started.sessionId}`)).json()) as Json;
  tally.sessions++;
  tally.images += images.length;
  tally.faults += injectedCount() - before;
  await checkSession(svc, session, complete.data as Json, sse.events as Outcome["events"]);
  return { session, events: sse.events as Outcome["events"] };
}

const byId = (o: Outcome) => Object.fromEntries((o.session.images as Json[]).map((i) => [i.id, i]));

for (const backend of ["local", "aws"] as const) {
  describe(`${backend} adapters`, () => {
    beforeAll(() => startFor(backend), 60_000);
    afterAll(() => stopFor(backend));

    describe("the source URL misbehaves", () => {
      it("503 twice then fine: retried with backoff to success; a good neighbour is unaffected", async () => {
        const o = await edit([
          { id: "flaky", path: "/flaky-1.png" },
          { id: "good", path: "/ok-1.png" },
        ]);
        expect(byId(o).flaky).toMatchObject({ status: "done", attempts: 3 });
        expect(byId(o).good.status).toBe("done");
        expect(source.hits.get(P("/flaky-1.png"))).toBe(3);
      });

      it("connection reset once: retried to success", async () => {
        const o = await edit([{ id: "r", path: "/reset-once-1.png" }]);
        expect(byId(o).r.status).toBe("done");
      });

      it("connection reset every time: failed with FETCH_FAILED after the bounded retries", async () => {
        const o = await edit([
          { id: "r", path: "/reset-always.png" },
          { id: "good", path: "/ok-2.png" },
        ]);
        expect(byId(o).r).toMatchObject({ status: "failed", error: { code: "FETCH_FAILED" }, attempts: 3 });
        // One request per attempt, plus one when an attempt went out on a pooled connection: a
        // reset there is taken for an idle connection the host dropped and sent once more anew.
        const hits = source.hits.get(P("/reset-always.png")) ?? 0;
        expect(hits).toBeGreaterThanOrEqual(3);
        expect(hits).toBeLessThanOrEqual(6);
        expect(o.session.status).toBe("partial");
      });

      it("hangs, or trickles a byte a second: FETCH_TIMEOUT, bounded attempts, neighbours done", async () => {
        const o = await edit([
          { id: "hang", path: "/hang-1.png" },
          { id: "trickle", path: "/trickle-1.png" },
          { id: "good", path: "/ok-3.png" },
        ]);
        expect(byId(o).hang).toMatchObject({ status: "failed", error: { code: "FETCH_TIMEOUT" } });
        expect(byId(o).trickle).toMatchObject({ status: "failed", error: { code: "FETCH_TIMEOUT" } });
        expect(byId(o).good.status).toBe("done");
        expect(source.hits.get(P("/hang-1.png"))).toBeLessThanOrEqual(3);
      }, 40_000);
    });

    describe("the object store misbehaves", () => {
      it("refuses one write: retried to success, one file", async () => {
        svc.faults.putErrors = 1;
        const o = await edit([{ id: "a", path: "/ok-4.png" }]);
        expect(svc.faults.injected["put-error"]).toBe(1);
        expect(byId(o).a).toMatchObject({ status: "done", attempts: 2 });
      });

      it("times out on one write: retried to success", async () => {
        svc.faults.putTimeouts = 1;
        const o = await edit([{ id: "a", path: "/ok-5.png" }]);
        expect(svc.faults.injected["put-timeout"]).toBe(1);
        expect(byId(o).a.status).toBe("done");
      });

      it("refuses every write: failed with STORAGE_FAILED after the bounded retries, no file", async () => {
        svc.faults.putErrors = 100;
        try {
          const o = await edit([{ id: "a", path: "/ok-6.png" }]);
          expect(byId(o).a).toMatchObject({ status: "failed", error: { code: "STORAGE_FAILED" }, attempts: 3 });
          expect(100 - svc.faults.putErrors).toBe(3);
        } finally {
          svc.faults.putErrors = 0;
        }
      });
    });

    describe("processing misbehaves", () => {
      it("the processor throws: that image fails with a reason, the other is done", async () => {
        svc.faults.processThrows = 1;
        const o = await edit([
          { id: "a", path: "/ok-7.png" },
          { id: "b", path: "/ok-8.png" },
        ]);
        const statuses = Object.values(byId(o)).map((i: Json) => i.status);
        expect(statuses.sort()).toEqual(["done", "failed"]);
        const failed = Object.values(byId(o)).find((i: Json) => i.status === "failed") as Json;
        expect(failed.error.code).toBe("PROCESSING_FAILED");
      });

      it("a worker thread is killed mid-image: the image fails with a reason; the pool recovers", async () => {
        svc.faults.workerKills = 1;
        const o = await edit([{ id: "a", path: "/ok-9.png" }]);
        expect(svc.faults.injected["worker-kill"]).toBe(1);
        expect(svc.faults.injected["worker-terminated-busy"]).toBe(1);
        // The thread is killed as it takes the image: it cannot have finished it.
        expect(byId(o).a).toMatchObject({ status: "failed", error: { code: "PROCESSING_FAILED" } });
        expect(byId(o).a.error.message).toMatch(/worker exited/);
        const after = await edit([
          { id: "x", path: "/ok-10.png" },
          { id: "y", path: "/ok-11.png" },
          { id: "z", path: "/ok-12.png" },
        ]);
        expect(after.session.status).toBe("completed");
      });
    });

    describe("the session store misbehaves", () => {
      it("refuses the write that starts an image: the session still ends in a true state", async () => {
        svc.faults.sessionWriteStatus = "fetching";
        svc.faults.sessionWriteErrors = 1;
        try {
          const o = await edit([{ id: "a", path: "/ok-13.png" }]);
          expect(svc.faults.injected["session-write-error"]).toBe(1);
          // Retried like any storage hiccup.
          expect(byId(o).a).toMatchObject({ status: "done", attempts: 2 });
        } finally {
          svc.faults.sessionWriteStatus = undefined;
          svc.faults.sessionWriteErrors = 0;
        }
      });

      // A transient session-store error on the "done" write, after the file is stored: the image is
      // retried to done; checkSession fails on a file left behind for an image that is not done.
      // (Found by this test: it used to end failed with its file left behind.)
      it("refuses the write that records done: retried; no file is left for an image that is not done", async () => {
        svc.faults.sessionWriteStatus = "done";
        svc.faults.sessionWriteErrors = 1;
        try {
          const o = await edit([{ id: "a", path: "/ok-14.png" }]);
          expect(byId(o).a).toMatchObject({ status: "done", attempts: 2 });
        } finally {
          svc.faults.sessionWriteStatus = undefined;
          svc.faults.sessionWriteErrors = 0;
        }
      });
    });

    describe("deliveries and deletions", () => {
      it("a job delivered twice (while in flight, and again after done) writes one result", async () => {
        const res = await svc.api("/image-edit", {
          method: "POST",
          body: JSON.stringify({
            images: [
              { id: "a", url: `${source.base}${P("/slow-dup-a.png")}` },
              { id: "b", url: `${source.base}${P("/ok-dup-b.png")}` },
            ],
            operation: { type: "operations", operations: [{ op: "resize", width: 32 }] },
          }),
        });
        const started = (await res.json()) as Json;
        const stored = await svc.sessions.get(started.sessionId);
        const jobs = (stored?.images ?? []).map((i) => ({
          sessionId: started.sessionId,
          imageId: i.id,
          userId: stored?.userId as string,
          attempt: 1,
        }));
        await svc.redeliver(jobs);
        const sse = await openSse(svc.base + started.progressUrl);
        const complete = await sse.waitFor((e) => e.event === "complete");
        sse.close();
        await svc.idle();
        await svc.redeliver(jobs); // late duplicates of finished images: skipped
        await svc.idle();
        const session = (await (await svc.api(`/image-edit/sessions/${started.sessionId}`)).json()) as Json;
        expect(session.status).toBe("completed");
        await checkSession(svc, session, complete.data as Json, sse.events as never);
        const after = await svc.sessions.get(started.sessionId);
        expect(after?.images.map((i) => i.status)).toEqual(["done", "done"]);
      });

      it("a session deleted while its image is fetched leaves no file behind", async () => {
        const res = await svc.api("/image-edit", {
          method: "POST",
          body: JSON.stringify({
            images: [{ id: "a", url: `${source.base}${P("/slow-del.png")}` }],
            operation: { type: "operations", operations: [{ op: "resize", width: 32 }] },
          }),
        });
        const started = (await res.json()) as Json;
        const stored = await svc.sessions.get(started.sessionId);
        // delete only once the (slow) fetch has begun: that is the case under test
        for (let i = 0; i < 500 && !source.hits.get(P("/slow-del.png")); i++)
          await new Promise((r) => setTimeout(r, 10));
        expect((await svc.api(`/image-edit/sessions/${started.sessionId}`, { method: "DELETE" })).status).toBe(204);
        await svc.idle();
        expect(source.hits.get(P("/slow-del.png"))).toBe(1);
        expect(await svc.sessions.get(started.sessionId)).toBeUndefined();
        expect(await svc.objects.list(`${stored?.userId}/${started.sessionId}/`)).toEqual([]);
      });
    });

    describe("after every fault", () => {
      it("the service still completes a clean batch without a restart", async () => {
        const o = await edit(Array.from({ length: 6 }, (_, i) => ({ id: `c${i}`, path: `/ok-final-${i}.png` })));
        expect(o.session.status).toBe("completed");
        expect(tally.lost).toBe(0);
      });
    });
  });
}
