// The SessionStore contract: every store (SQLite locally, DynamoDB on AWS) passes this suite.
// Usage: sessionStoreContract("dynamodb", async () => ({ store, cleanup, second? }))
//   `second`, when given, is another store instance over the same data (another container or
//   process): the concurrency case then runs its two writers through two instances.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ImageEditError } from "../../src/core/errors.js";
import type { Session, SessionImage, SessionStore } from "../../src/ports.js";

export interface SessionStoreHarness {
  store: SessionStore;
  second?: SessionStore;
  cleanup(): Promise<void>;
}

let seq = 0;
const uid = (p: string) => `${p}-${process.pid}-${Date.now().toString(36)}-${(seq++).toString(36)}`;
const nowSec = () => Math.floor(Date.now() / 1000);

export function makeImage(id: string, extra: Partial<SessionImage> = {}): SessionImage {
  return {
    id,
    name: `${id}.jpg`,
    sourceUrl: `https://example.com/${id}.jpg`,
    status: "queued",
    percent: 0,
    attempts: 0,
    version: 1,
    ...extra,
  };
}

export function makeSession(extra: Partial<Session> = {}): Session {
  const createdAt = extra.createdAt ?? Date.now();
  return {
    sessionId: uid("s"),
    userId: uid("u"),
    createdAt,
    updatedAt: createdAt,
    status: "queued",
    command: "resize to 800px and convert to webp",
    plan: [
      { op: "resize", width: 800 },
      { op: "format", format: "webp" },
    ] as unknown as Session["plan"],
    options: { outputFormat: "webp", quality: 80, maxWidth: 2000 },
    images: [makeImage("a"), makeImage("b")],
    ttl: nowSec() + 3600,
    version: 1,
    ...extra,
  };
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ImageEditError ${code}`).toBeInstanceOf(ImageEditError);
  expect((err as ImageEditError).code).toBe(code);
}

export function sessionStoreContract(name: string, makeStore: () => Promise<SessionStoreHarness>): void {
  describe(`SessionStore contract: ${name}`, () => {
    let h: SessionStoreHarness;
    let store: SessionStore;
    beforeEach(async () => {
      h = await makeStore();
      store = h.store;
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it("creates and reads back a session unchanged", async () => {
      const s = makeSession({
        idempotencyKey: "key-1",
        images: [
          makeImage("a", {
            status: "done",
            percent: 100,
            result: { key: "u/s/a.webp", width: 800, height: 600, format: "webp", bytes: 1234, pages: 1 },
            source: { width: 4000, height: 3000, format: "jpeg", bytes: 99999 },
          }),
          makeImage("b", { status: "failed", error: { code: "FETCH_BLOCKED", message: "private address 10.0.0.1" } }),
        ],
      });
      await store.create(s);
      expect(await store.get(s.sessionId)).toEqual(s);
    });

    it("refuses to create a session id twice (CONFLICT)", async () => {
      const s = makeSession();
      await store.create(s);
      await expectCode(store.create({ ...s, userId: "someone-else" }), "CONFLICT");
      expect((await store.get(s.sessionId))?.userId).toBe(s.userId);
    });

    it("keeps a failed image failed except for a retry: progress writes are refused (CONFLICT), queued is taken", async () => {
      const s = makeSession({ images: [makeImage("a"), makeImage("b")] });
      await store.create(s);
      const error = { code: "FETCH_FAILED" as const, message: "host answered 404" };
      await store.updateImage(s.sessionId, "a", { status: "failed", percent: 100, error });
      const before = await store.get(s.sessionId);
      for (const patch of [
        { status: "processing" as const, percent: 30 },
        { status: "done" as const, percent: 100 },
        { percent: 50 },
      ])
        await expectCode(store.updateImage(s.sessionId, "a", patch), "CONFLICT");
      expect((await store.get(s.sessionId))?.images[0]).toEqual(before?.images[0]);
      const retried = await store.updateImage(s.sessionId, "a", { status: "queued", percent: 0, error: undefined });
      expect(retried.images[0]).toMatchObject({ status: "queued", percent: 0 });
      expect(retried.images[0].error).toBeUndefined();
    });

    it("keeps a done image final: later writes to it are refused (CONFLICT) and change nothing", async () => {
      const s = makeSession({ images: [makeImage("a"), makeImage("b")] });
      await store.create(s);
      const result = { key: "u/s/a.webp", width: 8, height: 6, format: "webp", bytes: 100 };
      await store.updateImage(s.sessionId, "a", { status: "done", percent: 100, result });
      const before = await store.get(s.sessionId);
      for (const patch of [{ status: "storing" as const, percent: 90 }, { status: "failed" as const }, { percent: 5 }])
        await expectCode(store.updateImage(s.sessionId, "a", patch), "CONFLICT");
      const after = await store.get(s.sessionId);
      expect(after?.images[0]).toEqual(before?.images[0]);
      // The other image is untouched by the refusal and still writable.
      await store.updateImage(s.sessionId, "b", { status: "fetching", percent: 10 });
      expect((await store.get(s.sessionId))?.images[1].status).toBe("fetching");
    });

    it("answers undefined for a missing or expired session", async () => {
      expect(await store.get(uid("missing"))).toBeUndefined();
      const expired = makeSession({ ttl: nowSec() - 10 });
      await store.create(expired);
      expect(await store.get(expired.sessionId)).toBeUndefined();
    });

    it("lists a user's sessions newest first, paginated, without expired or other users' sessions", async () => {
      const userId = uid("lister");
      const t0 = Date.now() - 100_000;
      const mine = Array.from({ length: 7 }, (_, i) => makeSession({ userId, createdAt: t0 + i * 1000 }));
      const expired = makeSession({ userId, createdAt: t0 + 3500, ttl: nowSec() - 5 });
      const other = makeSession({ createdAt: t0 + 2500 });
      for (const s of [...mine, expired, other]) await store.create(s);

      const seen: string[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 10; pages++) {
        const page = await store.listByUser(userId, { limit: 3, cursor });
        expect(page.items.length).toBeLessThanOrEqual(3);
        seen.push(...page.items.map((s) => s.sessionId));
        cursor = page.nextCursor;
        if (!cursor) break;
      }
      expect(cursor).toBeUndefined();
      const expected = [...mine].sort((a, b) => b.createdAt - a.createdAt).map((s) => s.sessionId);
      expect(seen).toEqual(expected);

      const first = await store.listByUser(userId, { limit: 100 });
      expect(first.items.map((s) => s.sessionId)).toEqual(expected);
      expect(first.nextCursor).toBeUndefined();
      expect(first.items[0]).toEqual(mine[6]);
    });

    it("rejects a garbage cursor with INVALID_INPUT", async () => {
      await expectCode(store.listByUser(uid("u"), { limit: 5, cursor: "not-a-cursor!" }), "INVALID_INPUT");
    });

    it("finds a session by the user's idempotency key, and only the user's", async () => {
      const userId = uid("idem");
      const s = makeSession({ userId, idempotencyKey: "abc-123" });
      await store.create(makeSession({ userId }));
      await store.create(s);
      await store.create(makeSession({ idempotencyKey: "abc-123" }));
      expect((await store.findByIdempotencyKey(userId, "abc-123"))?.sessionId).toBe(s.sessionId);
      expect(await store.findByIdempotencyKey(userId, "other-key")).toBeUndefined();
      expect(await store.findByIdempotencyKey(uid("nobody"), "abc-123")).toBeUndefined();
    });

    it("keeps a keyed session's request fingerprint through updates; a session without one stays without", async () => {
      const userId = uid("u");
      const fingerprint = `v1:${"ab".repeat(32)}`;
      const s = makeSession({ userId, idempotencyKey: "fp-key", requestFingerprint: fingerprint });
      await store.create(s);
      await store.updateImage(s.sessionId, "a", { status: "fetching", percent: 10 });
      expect((await store.findByIdempotencyKey(userId, "fp-key"))?.requestFingerprint).toBe(fingerprint);
      expect((await store.get(s.sessionId))?.requestFingerprint).toBe(fingerprint);
      const older = makeSession({ userId, idempotencyKey: "older-key" });
      await store.create(older);
      expect(await store.findByIdempotencyKey(userId, "older-key")).not.toHaveProperty("requestFingerprint");
    });

    it("reports a keyed session created not yet enqueued as such to replays (every instance), until markEnqueued", async () => {
      // The service creates keyed sessions so, and marks them once their jobs are queued: a replay
      // must not hand out a session a failed enqueue is about to delete.
      const reader = h.second ?? store;
      const s = makeSession({ idempotencyKey: "pending-key" });
      await store.create({ ...s, enqueued: false });
      expect(await reader.findByIdempotencyKey(s.userId, "pending-key")).toEqual({ ...s, enqueued: false });
      expect(await reader.get(s.sessionId)).toEqual(s); // the flag is kept beside the session, not in it
      await store.markEnqueued!(s);
      expect(await reader.findByIdempotencyKey(s.userId, "pending-key")).toEqual(s);
      // Gone before it was marked (a failed enqueue deletes it): the mark is refused, the key free.
      const gone = makeSession({ idempotencyKey: "pending-gone" });
      await store.create({ ...gone, enqueued: false });
      await store.delete(gone.sessionId);
      const err = await store.markEnqueued!(gone).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ImageEditError);
      expect(["CONFLICT", "NOT_FOUND"]).toContain((err as ImageEditError).code);
      expect(await reader.findByIdempotencyKey(gone.userId, "pending-gone")).toBeUndefined();
    });

    it("an expired session no longer holds its idempotency key: the same key makes a new session", async () => {
      const userId = uid("idem-exp");
      await store.create(makeSession({ userId, idempotencyKey: "reuse-me", ttl: nowSec() - 10 }));
      expect(await store.findByIdempotencyKey(userId, "reuse-me")).toBeUndefined();
      const fresh = makeSession({ userId, idempotencyKey: "reuse-me" });
      await store.create(fresh);
      expect((await store.findByIdempotencyKey(userId, "reuse-me"))?.sessionId).toBe(fresh.sessionId);
    });

    it("updates one image, bumps the version, stamps the image with it and recomputes the status", async () => {
      const s = makeSession();
      await store.create(s);
      const r1 = await store.updateImage(s.sessionId, "a", { status: "processing", percent: 40 });
      // At least one step per change (a store may take a second one for the status it derives).
      expect(r1.version).toBeGreaterThan(s.version);
      expect(r1.status).toBe("running");
      expect(r1.images[0]).toMatchObject({ id: "a", status: "processing", percent: 40 });
      expect(r1.images[0].version).toBeGreaterThan(s.version);
      expect(r1.images[0].version).toBeLessThanOrEqual(r1.version);
      expect(r1.images[1]).toEqual(s.images[1]);
      expect(r1.updatedAt).toBeGreaterThanOrEqual(s.updatedAt);

      const result = { key: `${s.userId}/${s.sessionId}/a.webp`, width: 800, height: 533, format: "webp", bytes: 4321 };
      const r2 = await store.updateImage(s.sessionId, "a", { status: "done", percent: 100, result });
      expect(r2.version).toBeGreaterThan(r1.version);
      expect(r2.images[0].version).toBeGreaterThan(r1.version);
      expect(r2.images[0].result).toEqual(result);
      expect(r2.status).toBe("running"); // b is still queued

      const r3 = await store.updateImage(s.sessionId, "b", {
        status: "failed",
        percent: 100,
        error: { code: "CORRUPT_IMAGE", message: "not an image" },
        attempts: 1,
      });
      expect(r3.status).toBe("partial");
      expect(r3.images[1]).toMatchObject({ status: "failed", attempts: 1 });
      expect(r3.images[1].version).toBeGreaterThan(r2.version);
      expect(r3.images[0]).toEqual(r2.images[0]);
      expect(await store.get(s.sessionId)).toEqual(r3);
    });

    it("derives completed and failed statuses", async () => {
      const ok = makeSession();
      await store.create(ok);
      await store.updateImage(ok.sessionId, "a", { status: "done", percent: 100 });
      expect((await store.updateImage(ok.sessionId, "b", { status: "done", percent: 100 })).status).toBe("completed");

      const bad = makeSession();
      await store.create(bad);
      await store.updateImage(bad.sessionId, "a", { status: "failed" });
      expect((await store.updateImage(bad.sessionId, "b", { status: "failed" })).status).toBe("failed");
    });

    it("clears a field patched to undefined (a retry clears the previous error)", async () => {
      const s = makeSession();
      await store.create(s);
      await store.updateImage(s.sessionId, "a", {
        status: "failed",
        error: { code: "FETCH_TIMEOUT", message: "slow" },
      });
      const r = await store.updateImage(s.sessionId, "a", { status: "queued", error: undefined, attempts: 2 });
      expect(r.images[0].error).toBeUndefined();
      expect((await store.get(s.sessionId))?.images[0].error).toBeUndefined();
    });

    it("answers NOT_FOUND for a missing session or image", async () => {
      await expectCode(store.updateImage(uid("missing"), "a", { percent: 5 }), "NOT_FOUND");
      const s = makeSession();
      await store.create(s);
      await expectCode(store.updateImage(s.sessionId, "zzz", { percent: 5 }), "NOT_FOUND");
    });

    it("never loses progress when two writers update different images of one session at once", async () => {
      const ids = Array.from({ length: 8 }, (_, i) => `img${i}`);
      const s = makeSession({ images: ids.map((id) => makeImage(id)) });
      await store.create(s);
      const writers = [store, h.second ?? store];
      const steps: Partial<SessionImage>[] = [
        { status: "fetching", percent: 10 },
        { status: "processing", percent: 50 },
        { status: "storing", percent: 90 },
      ];
      // The version each update stamped on its image.
      const stamped: number[] = [];
      await Promise.all(
        ids.map(async (id, i) => {
          const writer = writers[i % 2];
          const stamp = (r: Session) => stamped.push(r.images.find((x) => x.id === id)!.version);
          for (const step of steps) stamp(await writer.updateImage(s.sessionId, id, step));
          stamp(
            await writer.updateImage(s.sessionId, id, {
              status: "done",
              percent: 100,
              result: { key: `k/${id}.png`, width: i + 1, height: 1, format: "png", bytes: 10 + i },
            }),
          );
        }),
      );
      const final = await store.get(s.sessionId);
      expect(final?.status).toBe("completed");
      const updates = ids.length * (steps.length + 1);
      expect(final?.version).toBeGreaterThanOrEqual(s.version + updates);
      // Every update got its own version: none was applied over another's stale copy.
      expect(new Set(stamped).size).toBe(updates);
      for (const v of stamped) expect(v).toBeLessThanOrEqual(final!.version);
      for (const [i, id] of ids.entries()) {
        const img = final?.images.find((x) => x.id === id);
        expect(img).toMatchObject({ status: "done", percent: 100, result: { width: i + 1, bytes: 10 + i } });
      }
    });

    it("deletes a session", async () => {
      const s = makeSession();
      await store.create(s);
      await store.delete(s.sessionId);
      expect(await store.get(s.sessionId)).toBeUndefined();
      await store.delete(s.sessionId); // deleting again is not an error
    });

    it("lists expired sessions for the sweeper and unfinished ones for recovery", async () => {
      const expired = makeSession({ ttl: nowSec() - 100 });
      const live = makeSession();
      const running = makeSession({ status: "running" });
      const done = makeSession({ status: "completed" });
      for (const s of [expired, live, running, done]) await store.create(s);
      const ex = (await store.listExpired(nowSec(), 1000)).map((s) => s.sessionId);
      expect(ex).toContain(expired.sessionId);
      expect(ex).not.toContain(live.sessionId);
      expect(await store.listExpired(nowSec(), 1)).toHaveLength(1);
      const unfinished = (await store.listUnfinished(1000)).map((s) => s.sessionId);
      expect(unfinished).toEqual(expect.arrayContaining([live.sessionId, running.sessionId]));
      expect(unfinished).not.toContain(done.sessionId);
      expect(unfinished).not.toContain(expired.sessionId);
    });
  });
}
