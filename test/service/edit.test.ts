// Starting an edit on its own, with real stores (SQLite, filesystem) and a job runner that only
// records: Idempotency-Key replays compared by request fingerprint, names taken from uploads, the
// concurrent-sessions message, and the one user-name rule.
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { FsObjectStore } from "../../src/adapters/local/fs-objects.js";
import { SqliteSessionStore } from "../../src/adapters/local/sqlite-sessions.js";
import { ImageEditError } from "../../src/core/errors.js";
import { limitsFromConfig } from "../../src/core/limits.js";
import { silentLogger } from "../../src/logger.js";
import type { Job, Session, SessionStore } from "../../src/ports.js";
import {
  checkConcurrentSessions,
  type EditDeps,
  findReplay,
  requestFingerprint,
  saveUploadName,
  startEdit,
  uploadKey,
  validateEdit,
} from "../../src/service/edit.js";
import { resumeUnfinished } from "../../src/service/recover.js";
import { EditRequestSchema, LocalSignInSchema } from "../../src/service/schemas.js";
import { withChangeNotifications } from "../../src/service/watch.js";
import { tempDir, testConfig } from "../http/harness.js";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

function setup() {
  const dir = tempDir();
  const config = testConfig(dir);
  const sessions = new SqliteSessionStore(path.join(dir, "s.db"));
  closers.push(() => sessions.close());
  const objects = new FsObjectStore(path.join(dir, "objects"), { secret: new Uint8Array(32) });
  const queued: Job[] = [];
  const deps: EditDeps = {
    config,
    limits: limitsFromConfig(config),
    sessions,
    objects,
    jobs: { enqueue: async (jobs) => void queued.push(...jobs), depth: () => 0, stop: async () => {} },
    clock: { now: () => Date.now() },
  };
  return { deps, sessions, objects, queued };
}

async function codeOf(p: Promise<unknown>): Promise<ImageEditError | undefined> {
  return p.then(
    () => undefined,
    (e: unknown) => {
      if (e instanceof ImageEditError) return e;
      throw e;
    },
  );
}

const fp = (body: unknown) => requestFingerprint(EditRequestSchema.parse(body));

const RESIZE = { type: "operations", operations: [{ op: "resize", width: 100 }] };

describe("requestFingerprint", () => {
  const body = {
    images: [{ url: "https://example.com/a.jpg" }, { id: "b", url: "upload:0123456789abcdef0123456789abcdef" }],
    operation: RESIZE,
    options: { quality: 80, outputFormat: "webp" },
  };

  it("is the same for the same request however it is spelled: key order, defaults spelled out", () => {
    const same = {
      options: { outputFormat: "webp", quality: 80 },
      operation: { operations: [{ width: 100, op: "resize" }], type: "operations" },
      images: [
        { url: "https://example.com/a.jpg", id: "image-1" },
        { url: "upload:0123456789abcdef0123456789abcdef", id: "b" },
      ],
    };
    expect(fp(same)).toBe(fp(body));
    expect(fp(JSON.parse(JSON.stringify(body, null, 2)))).toBe(fp(body));
    expect(fp({ ...body, options: undefined })).toBe(fp({ ...body, options: {} }));
    expect(fp(body)).toMatch(/^v1:[0-9a-f]{64}$/);
  });

  it("differs when the request asks for something else: images, upload ids, names, operation, options", () => {
    const variants = [
      { ...body, images: [body.images[0]] },
      { ...body, images: [body.images[0], { ...body.images[1], url: "upload:ffffffffffffffffffffffffffffffff" }] },
      { ...body, images: [{ ...body.images[0], name: "cat.jpg" }, body.images[1]] },
      { ...body, images: [body.images[1], body.images[0]] },
      { ...body, operation: { type: "operations", operations: [{ op: "resize", width: 101 }] } },
      { ...body, operation: { type: "command", command: "resize to 100px" } },
      { ...body, options: { quality: 81, outputFormat: "webp" } },
      { ...body, options: undefined },
    ];
    const prints = new Set([fp(body), ...variants.map(fp)]);
    expect(prints.size).toBe(variants.length + 1);
  });
});

describe("Idempotency-Key replays", () => {
  const body = { images: [{ url: "https://example.com/a.jpg" }], operation: RESIZE };

  it("replays the same request, and refuses the key with another request (422 IDEMPOTENCY_KEY_REUSED)", async () => {
    const { deps, queued } = setup();
    const first = await startEdit("alice", body, deps, { idempotencyKey: "k1" });
    expect(first.replayed).toBe(false);
    expect(first.session.requestFingerprint).toBe(fp(body));
    expect((await deps.sessions.get(first.session.sessionId))?.requestFingerprint).toBe(fp(body));

    const again = await findReplay("alice", "k1", deps, validateEdit(body, deps).fingerprint);
    expect(again?.replayed).toBe(true);
    expect(again?.session.sessionId).toBe(first.session.sessionId);

    const other = { ...body, operation: { type: "command", command: "make it black and white" } };
    const err = await codeOf(findReplay("alice", "k1", deps, validateEdit(other, deps).fingerprint));
    expect(err?.code).toBe("IDEMPOTENCY_KEY_REUSED");
    expect(err?.status).toBe(422);
    expect(err?.field).toBe("Idempotency-Key");
    expect(err?.message).toMatch(/already used for a different request/);
    expect(err?.details).toEqual({ sessionId: first.session.sessionId });

    // Another user's key of the same name is theirs: a new session.
    const bob = await startEdit("bob", other, deps, { idempotencyKey: "k1" });
    expect(bob.replayed).toBe(false);
    expect(queued.map((j) => j.sessionId)).toEqual([first.session.sessionId, bob.session.sessionId]);
  });

  it("refuses another request that loses the race to create under the key (CONFLICT, then compared)", async () => {
    const { deps } = setup();
    const first = await startEdit("alice", body, deps, { idempotencyKey: "k-race" });
    // The route's replay lookup missed it (sent at once): the store's CONFLICT leads to the comparison.
    const lost = await startEdit("alice", body, deps, { idempotencyKey: "k-race" });
    expect(lost).toMatchObject({ replayed: true, session: { sessionId: first.session.sessionId } });
    const other = { ...body, options: { quality: 50 } };
    expect((await codeOf(startEdit("alice", other, deps, { idempotencyKey: "k-race" })))?.code).toBe(
      "IDEMPOTENCY_KEY_REUSED",
    );
  });

  it("replays a session stored before fingerprints were kept, whatever the request (as before)", async () => {
    const { deps, sessions } = setup();
    const first = await startEdit("alice", body, deps, { idempotencyKey: "k-old" });
    const legacy: Session = { ...first.session, sessionId: "legacy-1", idempotencyKey: "k-legacy" };
    delete legacy.requestFingerprint;
    await (sessions as SessionStore).create(legacy);
    const other = { ...body, options: { quality: 50 } };
    const r = await findReplay("alice", "k-legacy", deps, validateEdit(other, deps).fingerprint);
    expect(r?.session.sessionId).toBe("legacy-1");
    // A fingerprint of another version is not compared either.
    await sessions.create({ ...legacy, sessionId: "v0-1", idempotencyKey: "k-v0", requestFingerprint: "v0:abc" });
    expect((await findReplay("alice", "k-v0", deps, fp(other)))?.session.sessionId).toBe("v0-1");
  });

  it("keeps no fingerprint on a session without a key", async () => {
    const { deps } = setup();
    const r = await startEdit("alice", body, deps);
    expect(r.session).not.toHaveProperty("requestFingerprint");
  });
});

/** A queued session of alice's, stored with an Idempotency-Key. */
function makeOldSession(sessionId: string, idempotencyKey: string): Session {
  const now = Date.now();
  return {
    sessionId,
    userId: "alice",
    createdAt: now,
    updatedAt: now,
    status: "queued",
    plan: [{ op: "resize", width: 100 }] as Session["plan"],
    images: [],
    ttl: Math.floor(now / 1000) + 3600,
    version: 1,
    idempotencyKey,
  };
}

const makeQueuedImage = () => ({
  id: "a",
  name: "a.jpg",
  sourceUrl: "https://example.com/a.jpg",
  status: "queued" as const,
  percent: 0,
  attempts: 0,
  version: 1,
});

/** The sessions table as databases made before Session.enqueued have it. */
function makeOldDatabase(file: string) {
  const db = new Database(file);
  db.exec(`
    CREATE TABLE sessions (sessionId TEXT PRIMARY KEY, userId TEXT NOT NULL, createdAt INTEGER NOT NULL,
      updatedAt INTEGER NOT NULL, status TEXT NOT NULL, ttl INTEGER NOT NULL, version INTEGER NOT NULL,
      idempotencyKey TEXT, doc TEXT NOT NULL);
    CREATE UNIQUE INDEX sessions_idempotency ON sessions (userId, idempotencyKey) WHERE idempotencyKey IS NOT NULL;
  `);
  return db;
}

describe("a keyed retry while the first request's jobs are being queued", () => {
  const body = { images: [{ url: "https://example.com/a.jpg" }], operation: RESIZE };

  /** setup() whose enqueue waits until the test settles it; `started` resolves when it is waiting. */
  function gated(wrap: boolean) {
    const t = setup();
    // The local runtime hands the service the store wrapped for change notifications.
    if (wrap) t.deps.sessions = withChangeNotifications(t.sessions).store;
    let settle!: (fail?: Error) => void;
    let started!: () => void;
    const waiting = new Promise<void>((r) => (started = r));
    const gate = new Promise<Error | undefined>((r) => (settle = r));
    const enqueue = t.deps.jobs.enqueue;
    t.deps.jobs = {
      ...t.deps.jobs,
      enqueue: async (jobs) => {
        started();
        const fail = await gate;
        if (fail) throw fail;
        return enqueue(jobs);
      },
    };
    return { ...t, waiting, settle, ungate: () => (t.deps.jobs = { ...t.deps.jobs, enqueue }) };
  }

  for (const wrap of [false, true]) {
    const store = wrap ? "SQLite behind change notifications" : "SQLite";
    it(`answers 409 CONFLICT (retryable, Retry-After) and never the session, which a failed enqueue deletes (${store})`, async () => {
      const { deps, waiting, settle, ungate } = gated(wrap);
      const first = codeOf(startEdit("alice", body, deps, { idempotencyKey: "k-gate" }));
      await waiting; // stored, its jobs not queued yet
      const fingerprint = validateEdit(body, deps).fingerprint;
      // Started one at a time: a promise made up front would reject before it is awaited.
      for (const retry of [
        () => findReplay("alice", "k-gate", deps, fingerprint), // the route's lookup
        () => startEdit("alice", body, deps, { idempotencyKey: "k-gate" }), // one that missed it
      ]) {
        const err = await codeOf(retry());
        expect(err).toMatchObject({ code: "CONFLICT", status: 409, retryable: true, field: "Idempotency-Key" });
        expect(err?.details).toEqual({ retryAfterSec: 1, reason: "in_progress" });
        expect(err?.message).toMatch(/the same request is still being accepted/);
      }
      // Another request with the key is still told it is another request.
      const other = { ...body, options: { quality: 50 } };
      expect((await codeOf(findReplay("alice", "k-gate", deps, fp(other))))?.code).toBe("IDEMPOTENCY_KEY_REUSED");

      settle(new ImageEditError("STORAGE_FAILED", "could not queue 1 job(s)", { retryable: true }));
      expect((await first)?.code).toBe("STORAGE_FAILED");
      expect(await deps.sessions.findByIdempotencyKey("alice", "k-gate")).toBeUndefined();
      expect((await deps.sessions.listByUser("alice", { limit: 10 })).items).toEqual([]);

      // The client's retry starts afresh, and once its jobs are queued it is what the key replays.
      ungate();
      const again = await startEdit("alice", body, deps, { idempotencyKey: "k-gate" });
      expect(again.replayed).toBe(false);
      const replay = await findReplay("alice", "k-gate", deps, fingerprint);
      expect(replay).toMatchObject({ replayed: true, session: { sessionId: again.session.sessionId } });
      expect(replay?.session).not.toHaveProperty("enqueued");
    });
  }

  it("replays a session whose mark could not be written (nor the session deleted) once its images move on", async () => {
    const { deps, sessions } = setup();
    const failing = new ImageEditError("STORAGE_FAILED", "disk full", { retryable: true });
    sessions.markEnqueued = async () => {
      throw failing;
    };
    sessions.delete = async () => {
      throw failing;
    };
    expect((await codeOf(startEdit("alice", body, deps, { idempotencyKey: "k-stuck" })))?.code).toBe("STORAGE_FAILED");
    const fingerprint = validateEdit(body, deps).fingerprint;
    // Still unmarked and untouched: its jobs may not be queued.
    expect((await codeOf(findReplay("alice", "k-stuck", deps, fingerprint)))?.code).toBe("CONFLICT");
    // Its job, queued before the mark failed, runs: the session was queued after all.
    const [s] = (await sessions.listByUser("alice", { limit: 10 })).items;
    await sessions.updateImage(s.sessionId, s.images[0].id, { status: "fetching" });
    const replay = await findReplay("alice", "k-stuck", deps, fingerprint);
    expect(replay).toMatchObject({ replayed: true, session: { sessionId: s.sessionId } });
  });

  it("a mark that finds the key taken or the session deleted answers the retryable 409, not a bare conflict", async () => {
    const { deps, sessions } = setup();
    sessions.markEnqueued = async (s) => {
      throw new ImageEditError("NOT_FOUND", `session ${s.sessionId} not found`);
    };
    const err = await codeOf(startEdit("alice", body, deps, { idempotencyKey: "k-gone" }));
    expect(err).toMatchObject({
      code: "CONFLICT",
      retryable: true,
      details: { retryAfterSec: 1, reason: "in_progress" },
    });
    expect((await sessions.listByUser("alice", { limit: 10 })).items).toEqual([]);
  });

  it("replays keyed sessions of a database made before the mark existed, and marks new ones in it", async () => {
    const dir = tempDir();
    const file = path.join(dir, "old.db");
    const old = makeOldDatabase(file);
    const legacy = makeOldSession("legacy-queued", "k-legacy");
    old
      .prepare(
        "INSERT INTO sessions (sessionId, userId, createdAt, updatedAt, status, ttl, version, idempotencyKey, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      )
      .run(
        legacy.sessionId,
        "alice",
        legacy.createdAt,
        legacy.updatedAt,
        "queued",
        legacy.ttl,
        1,
        "k-legacy",
        JSON.stringify(legacy),
      );
    old.close();
    const { deps } = gated(false);
    deps.sessions = new SqliteSessionStore(file);
    closers.push(() => deps.sessions.close!());
    expect((await findReplay("alice", "k-legacy", deps))?.session.sessionId).toBe("legacy-queued");
    deps.jobs = { ...deps.jobs, enqueue: async () => {} };
    const fresh = await startEdit("alice", body, deps, { idempotencyKey: "k-new" });
    expect((await findReplay("alice", "k-new", deps))?.session.sessionId).toBe(fresh.session.sessionId);
  });

  it("a session whose server stopped before its jobs were queued replays once a restart has queued them", async () => {
    const { deps, sessions, queued } = setup();
    const stranded = { ...makeOldSession("stranded", "k-crash"), images: [makeQueuedImage()] };
    await sessions.create({ ...stranded, enqueued: false });
    expect((await codeOf(findReplay("alice", "k-crash", deps)))?.code).toBe("CONFLICT");
    await resumeUnfinished({ ...deps, logger: silentLogger() });
    expect(queued.map((j) => j.sessionId)).toEqual(["stranded"]);
    expect((await findReplay("alice", "k-crash", deps))?.session.sessionId).toBe("stranded");
  });

  it("replays the session once its jobs are queued, at no extra version (no session write a watcher sees)", async () => {
    const { deps, waiting, settle, queued } = gated(true);
    const first = startEdit("alice", body, deps, { idempotencyKey: "k-ok" });
    await waiting;
    expect((await codeOf(findReplay("alice", "k-ok", deps)))?.code).toBe("CONFLICT");
    settle();
    const r = await first;
    expect(r.session).not.toHaveProperty("enqueued");
    expect(queued.map((j) => j.sessionId)).toEqual([r.session.sessionId]);
    const replay = await findReplay("alice", "k-ok", deps);
    expect(replay?.session.sessionId).toBe(r.session.sessionId);
    expect((await deps.sessions.get(r.session.sessionId))?.version).toBe(1);
  });
});

describe("names of uploaded images", () => {
  const UP = "0123456789abcdef0123456789abcdef";
  const UNNAMED = "fedcba9876543210fedcba9876543210";

  it("an image that refers to an upload and gives no name gets the upload's name", async () => {
    const { deps, objects } = setup();
    await objects.put(uploadKey("alice", UP), Buffer.from("png"), "image/png");
    await saveUploadName(objects, "alice", UP, "photo.jpg");
    await objects.put(uploadKey("alice", UNNAMED), Buffer.from("png"), "image/png");
    const r = await startEdit(
      "alice",
      {
        images: [
          { url: `upload:${UP}` },
          { url: `upload:${UP}`, name: "mine.jpg" },
          { url: `upload:${UNNAMED}` },
          { url: "https://example.com/x/cat.png" },
        ],
        operation: RESIZE,
      },
      deps,
    );
    expect(r.session.images.map((i) => [i.id, i.name])).toEqual([
      ["image-1", "photo.jpg"],
      ["image-2", "mine.jpg"],
      ["image-3", "image-3"],
      ["image-4", "cat.png"],
    ]);
  });

  it("an unreadable name record falls back to the image id", async () => {
    const { deps, objects } = setup();
    await objects.put(uploadKey("alice", UP), Buffer.from("png"), "image/png");
    await objects.put(`${uploadKey("alice", UP)}.json`, Buffer.from("{not json"), "application/json");
    const r = await startEdit("alice", { images: [{ url: `upload:${UP}` }], operation: RESIZE }, deps);
    expect(r.session.images[0].name).toBe("image-1");
  });
});

describe("concurrent sessions", () => {
  const config = testConfig(tempDir(), { MAX_CONCURRENT_SESSIONS: "1" });
  const refusal = (open: number) => {
    const sessions = { countUnfinishedByUser: async () => open } as unknown as SessionStore;
    return codeOf(checkConcurrentSessions("alice", { config, sessions }));
  };

  it("says '1 edit' and '2 edits' still running", async () => {
    expect((await refusal(1))?.message).toMatch(/^you have 1 edit still running; the limit is 1 at a time/);
    expect((await refusal(2))?.message).toMatch(/^you have 2 edits still running; the limit is 1 at a time/);
    expect(await refusal(0)).toBeUndefined();
  });
});

describe("user names", () => {
  it("POST /auth/local takes exactly the names `imgedit token --user` takes", () => {
    for (const user of ["alice", "a|b:c+d=e", "bob@example.com", "x.y_z-1", "u".repeat(128)])
      expect(LocalSignInSchema.safeParse({ user }).success, user).toBe(true);
    for (const user of ["", "-x", ".x", "a/b", "a b", "u".repeat(129)])
      expect(LocalSignInSchema.safeParse({ user }).success, user).toBe(false);
  });
});

describe("the session's size (one DynamoDB item holds at most 400 KB)", () => {
  const many = (n: number, url: (i: number) => string) => ({
    images: Array.from({ length: n }, (_, i) => ({ url: url(i) })),
    operation: RESIZE,
  });

  it("50 images with the longest ASCII URLs fit", async () => {
    const { deps, sessions, queued } = setup();
    const r = await startEdit(
      "alice",
      many(50, (i) => `https://example.com/${i}/${"a".repeat(4000)}`),
      deps,
    );
    expect(await sessions.get(r.session.sessionId)).toBeDefined();
    expect(queued).toHaveLength(50);
  });

  it("URLs of 4,000 CJK characters (3 bytes each) in 50 images are refused up front, nothing stored", async () => {
    const { deps, sessions, queued } = setup();
    const err = await codeOf(
      startEdit(
        "alice",
        many(50, (i) => `https://example.com/${i}/${"画".repeat(4000)}`),
        deps,
      ),
    );
    expect(err?.code).toBe("INVALID_INPUT");
    expect(err?.field).toBe("images");
    expect(err?.message).toMatch(/would need [\d,]+ KB of session record .*the limit is 380 KB/);
    expect(queued).toHaveLength(0);
    expect((await sessions.listByUser("alice", { limit: 10 })).items).toHaveLength(0);
  });
});
