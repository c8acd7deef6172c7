// What users do while work is in flight, over real HTTP on loopback with real SQLite and files: the
// same Idempotency-Key sent many times at once (on one process and on two), with different
// requests, and after its session expired; a session deleted while its results are being stored;
// a session whose lifetime ends while its progress stream is open; many streams on one running
// session, cut off and resumed with Last-Event-ID.
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Session, SessionStore } from "../../src/ports.js";
import { makeImage } from "../helpers/images.js";
import {
  type Json,
  openSse,
  type ServiceWithSource,
  startImageSource,
  startService,
  startServiceWithSource,
  type TestService,
  tempDir,
} from "./harness.js";

const OPS = { type: "operations", operations: [{ op: "resize", width: 40 }] };
let png: Buffer;
let running: ServiceWithSource | undefined;

beforeAll(async () => {
  png = await makeImage({ width: 120, height: 90, gradient: true });
});
afterEach(async () => {
  running?.src.release();
  await running?.close();
  running = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, pred: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  for (let waited = 0; !(await pred()); waited += 10) {
    if (waited > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A store (a class instance: its methods are on the prototype) with some methods replaced. */
function override<T extends object>(inner: T, methods: Partial<T>): T {
  return new Proxy(inner, {
    get(target, prop) {
      if (prop in methods) return methods[prop as keyof T];
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** Files (temp files too) under DATA_DIR/objects/<prefix>. */
function filesUnder(dataDir: string, prefix: string): string[] {
  const dir = path.join(dataDir, "objects", prefix);
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile());
}

describe("the same Idempotency-Key, many requests at once", () => {
  it("all answer the one session, even at MAX_CONCURRENT_SESSIONS and with a slow session store", async () => {
    // The store takes a while to create a session (a busy disk): every request arrives before the
    // first one has stored its session.
    running = await startServiceWithSource(
      { MAX_CONCURRENT_SESSIONS: "2" },
      {
        wrap: {
          sessions: (s) =>
            override(s, {
              create: async (session) => {
                await sleep(300);
                return s.create(session);
              },
            }),
        },
      },
    );
    const { src, svc } = running;
    src.set("/a.png", png);
    const body = JSON.stringify({ images: [{ url: `${src.base}/a.png` }], operation: OPS });
    const answers = await Promise.all(
      Array.from({ length: 5 }, () =>
        svc.api("/image-edit", { method: "POST", body, headers: { "idempotency-key": "double-click" } }),
      ),
    );
    const json = (await Promise.all(answers.map((r) => r.json()))) as Json[];
    expect(answers.map((r) => r.status)).toEqual([202, 202, 202, 202, 202]);
    expect(new Set(json.map((j) => j.sessionId)).size).toBe(1);
    expect(answers.filter((r) => r.headers.get("idempotent-replayed") === "true")).toHaveLength(4);
    // One session, listed once; a different request under the key is still refused.
    const list = (await (await svc.api("/image-edit/sessions")).json()) as Json;
    expect(list.items).toHaveLength(1);
    const other = await svc.api("/image-edit", {
      method: "POST",
      body: JSON.stringify({ images: [{ url: `${src.base}/b.png` }], operation: OPS }),
      headers: { "idempotency-key": "double-click" },
    });
    expect(other.status).toBe(422);
    expect(((await other.json()) as Json).error.code).toBe("IDEMPOTENCY_KEY_REUSED");
  });
});

describe("the same Idempotency-Key with different requests at once", () => {
  it("one request's session is answered to its copies; every other request is refused as a reuse", async () => {
    running = await startServiceWithSource(
      {},
      {
        wrap: {
          sessions: (s) =>
            override(s, {
              create: async (x) => {
                await sleep(200);
                return s.create(x);
              },
            }),
        },
      },
    );
    const { src, svc } = running;
    src.set("/a.png", png);
    src.set("/b.png", png);
    const body = (file: string) => JSON.stringify({ images: [{ url: `${src.base}/${file}` }], operation: OPS });
    const sent = ["a.png", "b.png", "a.png", "b.png", "a.png", "b.png"];
    const answers = await Promise.all(
      sent.map(async (file) => {
        const r = await svc.api("/image-edit", {
          method: "POST",
          body: body(file),
          headers: { "idempotency-key": "k" },
        });
        return { file, status: r.status, json: (await r.json()) as Json };
      }),
    );
    const won = answers.filter((a) => a.status === 202);
    expect(new Set(won.map((a) => a.json.sessionId)).size).toBe(1);
    expect(new Set(won.map((a) => a.file)).size).toBe(1);
    expect(won).toHaveLength(3);
    for (const a of answers.filter((x) => x.status !== 202)) {
      expect(a.status).toBe(422);
      expect(a.json.error).toMatchObject({
        code: "IDEMPOTENCY_KEY_REUSED",
        details: { sessionId: won[0].json.sessionId },
      });
    }
    expect(((await (await svc.api("/image-edit/sessions")).json()) as Json).items).toHaveLength(1);
  });
});

describe("a session deleted while its image is being fetched", () => {
  it("ends every stream with gone; the job's later writes bring back neither the session nor a file", async () => {
    running = await startServiceWithSource();
    const { src, svc } = running;
    src.set("/slow.png", png);
    src.set("/quick.png", png);
    src.hold("/slow.png");
    const res = await svc.api("/image-edit", {
      method: "POST",
      body: JSON.stringify({
        images: [
          { id: "quick", url: `${src.base}/quick.png` },
          { id: "slow", url: `${src.base}/slow.png` },
        ],
        operation: OPS,
      }),
    });
    const { sessionId, progressUrl } = (await res.json()) as Json;
    const streams = await Promise.all([1, 2, 3].map(() => openSse(svc.base + progressUrl)));
    await streams[0].waitFor((e) => e.event === "image" && (e.data as Json).imageId === "quick");
    await until("the slow fetch to start", () => src.hits.has("/slow.png"));
    const fetchesBefore = src.hits.get("/held.png");
    expect((await svc.api(`/image-edit/sessions/${sessionId}`, { method: "DELETE" })).status).toBe(204);
    for (const s of streams) {
      await s.done;
      expect(s.events.at(-1)).toMatchObject({ event: "gone", data: { sessionId } });
      expect(s.events.some((e) => e.event === "complete")).toBe(false);
    }
    src.release(); // the fetch finishes; the job processes and tries to store and record its image
    await svc.server.idle();
    expect((await svc.api(`/image-edit/sessions/${sessionId}`)).status).toBe(404);
    expect(((await (await svc.api("/image-edit/sessions")).json()) as Json).items).toEqual([]);
    expect((await fetch(svc.base + progressUrl)).status).toBe(404);
    expect(fs.existsSync(path.join(svc.dataDir, "objects", "alice", sessionId))).toBe(false);
  });
});

describe("a session deleted while its result is being stored", () => {
  it("keeps no result file, even when deleting its files takes a while (S3, a big session)", async () => {
    // Deleting the session's files is slow: the image's job stores its result and records it done
    // meanwhile, before the session itself is deleted.
    let sessions: SessionStore | undefined;
    let slowed = false;
    running = await startServiceWithSource(
      {},
      {
        wrap: {
          sessions: (s) => {
            sessions = s;
            return s;
          },
          objects: (o) =>
            override(o, {
              deletePrefix: async (prefix: string) => {
                await o.deletePrefix(prefix);
                if (slowed) return;
                slowed = true;
                const sessionId = prefix.split("/")[1];
                running?.src.release();
                await until("the image to be recorded done", async () => {
                  const s = await sessions?.get(sessionId);
                  return s?.images[0].status === "done";
                });
              },
            }),
        },
      },
    );
    const { src, svc } = running;
    src.set("/a.png", png);
    src.hold("/a.png");
    const res = await svc.api("/image-edit", {
      method: "POST",
      body: JSON.stringify({ images: [{ id: "a", url: `${src.base}/a.png` }], operation: OPS }),
    });
    const { sessionId, progressUrl } = (await res.json()) as Json;
    const watch = await openSse(svc.base + progressUrl);
    await until("the fetch to start", () => (src.hits.get("/a.png") ?? 0) > 0);
    const fetchesBefore = src.hits.get("/held.png");
    expect((await svc.api(`/image-edit/sessions/${sessionId}`, { method: "DELETE" })).status).toBe(204);
    await svc.server.idle();
    await watch.done;
    // The image was done before the session was deleted: the stream may have said so first.
    expect(["gone", "complete"]).toContain(watch.events.at(-1)?.event);
    expect((await svc.api(`/image-edit/sessions/${sessionId}`)).status).toBe(404);
    expect(filesUnder(svc.dataDir, `alice/${sessionId}`)).toEqual([]);
    expect(fs.existsSync(path.join(svc.dataDir, "objects", "alice", sessionId))).toBe(false);
  });
});

describe("a session whose lifetime ends while its progress stream is open", () => {
  it("ends the stream with gone, whether its image is running or still waiting in the queue", async () => {
    let offsetMs = 0;
    running = await startServiceWithSource(
      { WORKER_CONCURRENCY: "1" }, // two jobs at a time
      { clock: { now: () => Date.now() + offsetMs } },
    );
    const { src, svc } = running;
    for (const p of ["/r1.png", "/r2.png", "/q.png"]) src.set(p, png);
    src.hold("/r1.png");
    src.hold("/r2.png");
    const start = async (images: { id: string; url: string }[]) =>
      (await (
        await svc.api("/image-edit", { method: "POST", body: JSON.stringify({ images, operation: OPS }) })
      ).json()) as Json;
    const busy = await start([
      { id: "r1", url: `${src.base}/r1.png` },
      { id: "r2", url: `${src.base}/r2.png` },
    ]);
    const waiting = await start([{ id: "q", url: `${src.base}/q.png` }]);
    await until("both slots to be fetching", () => src.hits.has("/r1.png") && src.hits.has("/r2.png"));
    const busyStream = await openSse(svc.base + busy.progressUrl);
    const waitingStream = await openSse(svc.base + waiting.progressUrl);
    await waitingStream.waitFor((e) => e.event === "progress" && (e.data as Json).status === "queued");
    // Past SESSION_TTL_DAYS (30): both sessions have expired, the sweeper has not run yet.
    offsetMs = 31 * 86_400_000;
    const gone = await Promise.race([
      waitingStream.waitFor((e) => e.event === "gone"),
      sleep(5_000).then(() => undefined),
    ]);
    expect(gone?.data).toMatchObject({ sessionId: waiting.sessionId });
    await waitingStream.done;
    // The running one hears it when its job next writes; its job stores nothing.
    src.release();
    await busyStream.waitFor((e) => e.event === "gone");
    await busyStream.done;
    await svc.server.idle();
    expect(src.hits.get("/q.png") ?? 0).toBe(0);
    expect(filesUnder(svc.dataDir, `alice/${busy.sessionId}`)).toEqual([]);
    expect(filesUnder(svc.dataDir, `alice/${waiting.sessionId}`)).toEqual([]);
  });
});

describe("a session deleted while many of its results are being stored", () => {
  it("answers 204 and leaves no file or directory of the session", async () => {
    // Every result is held just before it is stored, until the DELETE starts removing the files:
    // then they all land in the directory while it is being removed.
    let releaseStores!: () => void;
    const deleting = new Promise<void>((r) => {
      releaseStores = r;
    });
    let waiting = 0;
    running = await startServiceWithSource(
      { WORKER_CONCURRENCY: "4" },
      {
        wrap: {
          objects: (o) =>
            override(o, {
              put: async (key: string, body: Buffer, type: string) => {
                waiting++;
                await deleting;
                return o.put(key, body, type);
              },
              deletePrefix: async (prefix: string) => {
                releaseStores();
                return o.deletePrefix(prefix);
              },
            }),
        },
      },
    );
    const { src, svc } = running;
    const big = await makeImage({ width: 900, height: 700, gradient: true });
    src.set("/big.png", big);
    const images = Array.from({ length: 8 }, (_, i) => ({ id: `i${i}`, url: `${src.base}/big.png` }));
    const res = await svc.api("/image-edit", {
      method: "POST",
      body: JSON.stringify({ images, operation: { type: "operations", operations: [{ op: "rotate", angle: 90 }] } }),
    });
    const { sessionId, progressUrl } = (await res.json()) as Json;
    const watch = await openSse(svc.base + progressUrl);
    await until("every result to be ready to store", () => waiting === 8);
    const del = await svc.api(`/image-edit/sessions/${sessionId}`, { method: "DELETE" });
    expect(del.status).toBe(204);
    await svc.server.idle();
    await watch.done;
    expect(watch.events.at(-1)?.event).toBe("gone");
    expect(fs.existsSync(path.join(svc.dataDir, "objects", "alice", sessionId))).toBe(false);
  });
});

describe("many progress streams on one running session, some cut off and resumed", () => {
  it("every client gets each image's result exactly once and ends with complete", async () => {
    running = await startServiceWithSource({ WORKER_CONCURRENCY: "1" });
    const { src, svc } = running;
    const ids = ["a", "b", "c", "d", "e"];
    for (const id of ids) src.set(`/${id}.png`, png);
    src.set("/bad.png", png.subarray(0, 100));
    for (const id of ids) src.hold(`/${id}.png`);
    const res = await svc.api("/image-edit", {
      method: "POST",
      body: JSON.stringify({
        images: [...ids.map((id) => ({ id, url: `${src.base}/${id}.png` })), { id: "bad", url: `${src.base}/bad.png` }],
        operation: OPS,
      }),
    });
    const { sessionId, progressUrl } = (await res.json()) as Json;
    const url = svc.base + progressUrl;
    // Ten clients: each keeps every event it got, across its reconnections.
    const clients = await Promise.all(Array.from({ length: 10 }, () => openSse(url)));
    const seen: Json[][] = clients.map(() => []);
    const release = async (id: string) => {
      src.hits.delete(`/${id}.png`);
      src.release();
      for (const other of ids) if (other > id) src.hold(`/${other}.png`);
    };
    let streams = clients;
    for (const id of ids) {
      await release(id);
      // (an image released with an earlier one may have come before the client's last reconnection)
      const result = (e: { event: string; data: unknown }) => e.event === "image" && (e.data as Json).imageId === id;
      await Promise.all(streams.map((s, n) => (seen[n].some(result) ? undefined : s.waitFor(result))));
      // Half the clients drop here and come back with the last id they saw (a client stops on complete).
      streams = await Promise.all(
        streams.map(async (s, n) => {
          if (n % 2 === id.charCodeAt(0) % 2 || s.events.some((e) => e.event === "complete")) return s;
          s.close();
          await s.done;
          seen[n].push(...s.events);
          const last = [...s.events].reverse().find((e) => e.id !== undefined)?.id;
          return openSse(url, last ? { "last-event-id": last } : {});
        }),
      );
    }
    await Promise.all(streams.map((s) => s.done));
    for (const [n, s] of streams.entries()) seen[n].push(...s.events);
    for (const events of seen) {
      const results = events.filter((e) => e.event === "image").map((e) => (e.data as Json).imageId);
      expect(results.sort()).toEqual(ids);
      expect(events.filter((e) => e.event === "complete")).toHaveLength(1);
      expect(events.at(-1)?.event).toBe("complete");
      expect(events.at(-1)?.data).toMatchObject({ sessionId, status: "partial", completed: 5, failed: 1 });
      const failed = events.filter((e) => e.event === "progress" && (e.data as Json).status === "failed");
      expect(failed.map((e) => (e.data as Json).error.code)).toEqual(["CORRUPT_IMAGE"]);
    }
    const metrics = await (await fetch(`${svc.base}/metrics`)).text();
    expect(/imgedit_sse_clients (\d+)/.exec(metrics)?.[1]).toBe("0");
  });
});

describe("an Idempotency-Key whose session has expired", () => {
  it("starts a new edit, for the same request or another one", async () => {
    let offsetMs = 0;
    running = await startServiceWithSource({}, { clock: { now: () => Date.now() + offsetMs } });
    const { src, svc } = running;
    src.set("/a.png", png);
    src.set("/b.png", png);
    const post = (file: string) =>
      svc.api("/image-edit", {
        method: "POST",
        body: JSON.stringify({ images: [{ url: `${src.base}/${file}` }], operation: OPS }),
        headers: { "idempotency-key": "k1", authorization: `Bearer ${token}` },
      });
    const token = await svc.server.token("alice", 90 * 86_400);
    const first = (await (await post("a.png")).json()) as Json;
    await svc.server.idle();
    offsetMs = 31 * 86_400_000;
    const again = await post("a.png");
    expect(again.status).toBe(202);
    expect(again.headers.get("idempotent-replayed")).toBeNull();
    const second = (await again.json()) as Json;
    expect(second.sessionId).not.toBe(first.sessionId);
    const sse = await openSse(svc.base + second.progressUrl);
    await sse.done;
    expect(sse.events.at(-1)?.data).toMatchObject({ status: "completed" });
    // Now the key is the new session's: the same request replays it, another one is refused.
    expect(((await (await post("a.png")).json()) as Json).sessionId).toBe(second.sessionId);
    expect((await post("b.png")).status).toBe(422);
    expect(
      (await svc.api(`/image-edit/sessions/${first.sessionId}`, { headers: { authorization: `Bearer ${token}` } }))
        .status,
    ).toBe(404);
  });
});

describe("the same Idempotency-Key at once on two API processes sharing the stores", () => {
  it("the one that loses the race to store the session replays it: not counted as an edit started", async () => {
    const dataDir = tempDir();
    const { SqliteSessionStore } = await import("../../src/adapters/local/sqlite-sessions.js");
    const { FsObjectStore } = await import("../../src/adapters/local/fs-objects.js");
    const src = await startImageSource();
    src.set("/a.png", png);
    const servers: TestService[] = [];
    const stores: { close(): Promise<void> }[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const sessions = new SqliteSessionStore(path.join(dataDir, "sessions.db"));
        stores.push(sessions);
        const objects = new FsObjectStore(path.join(dataDir, "objects"), { secret: new Uint8Array(32) });
        // Both look the key up before either has stored its session (a slow store).
        const slow = override(sessions, {
          create: async (s: Session) => {
            await sleep(200);
            return sessions.create(s);
          },
        });
        servers.push(
          await startService(
            { FETCH_ALLOW_HOSTS: `127.0.0.1:${src.port}`, RATE_LIMIT_PER_MINUTE: "1" },
            { dataDir, stores: { sessions: slow, objects } },
          ),
        );
      }
      const body = JSON.stringify({ images: [{ url: `${src.base}/a.png` }], operation: OPS });
      const answers = await Promise.all(
        servers.map((svc) =>
          svc.api("/image-edit", { method: "POST", body, headers: { "idempotency-key": "two-processes" } }),
        ),
      );
      expect(answers.map((r) => r.status)).toEqual([202, 202]);
      const ids = (await Promise.all(answers.map((r) => r.json()))) as Json[];
      expect(ids[0].sessionId).toBe(ids[1].sessionId);
      const loser = answers.findIndex((r) => r.headers.get("idempotent-replayed") === "true");
      expect(loser).toBeGreaterThanOrEqual(0);
      // The loser started nothing: its edits-started counters did not move, and its one edit a
      // minute (RATE_LIMIT_PER_MINUTE=1) is still there.
      const metrics = await (await fetch(`${servers[loser].base}/metrics`)).text();
      expect(metrics).not.toMatch(/^imgedit_sessions_total\{[^}]*\} [1-9]/m);
      expect(metrics).not.toMatch(/^imgedit_images_total(\{\})? [1-9]/m);
      const another = await servers[loser].api("/image-edit", { method: "POST", body });
      expect(another.status).toBe(202);
      for (const svc of servers) await svc.server.idle();
    } finally {
      for (const svc of servers) await svc.close();
      for (const s of stores) await s.close();
      await src.close();
    }
  });
});

describe("a session deleted while its images are being fetched", () => {
  it("stops them at once: the held fetches are dropped and nothing waits for them", async () => {
    running = await startServiceWithSource({ WORKER_CONCURRENCY: "1", FETCH_TIMEOUT_MS: "60000" });
    const { src, svc } = running;
    src.set("/held.png", png);
    src.hold("/held.png");
    const res = await svc.api("/image-edit", {
      method: "POST",
      body: JSON.stringify({
        images: [1, 2, 3].map((n) => ({ id: `i${n}`, url: `${src.base}/held.png?n=${n}` })),
        operation: OPS,
      }),
    });
    expect(res.status).toBe(202);
    const { sessionId } = (await res.json()) as Json;
    const queue = async () => ((await (await fetch(`${svc.base}/healthz`)).json()) as Json).queue as number;
    // two jobs per image processed at once: two fetches held, the third image waiting for a slot
    await until("two fetches to start", () => (src.hits.get("/held.png") ?? 0) >= 2);
    expect(await queue()).toBeGreaterThan(0);
    const fetchesBefore = src.hits.get("/held.png");
    expect((await svc.api(`/image-edit/sessions/${sessionId}`, { method: "DELETE" })).status).toBe(204);
    // Without stopping them, the running image would wait for its fetch (held here, up to the 60 s
    // fetch timeout) and the queued ones after it.
    await until("the deleted session's jobs to stop", async () => (await queue()) === 0);
    // and the images still waiting were dropped, not started
    expect(src.hits.get("/held.png")).toBe(fetchesBefore);
  });
});
