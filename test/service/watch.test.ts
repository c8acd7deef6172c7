// The two session watchers behind the progress stream: in-process notifications (every change)
// and polling (another process writes; changes may be coalesced, deletion reported).
import path from "node:path";
import { expect, it } from "vitest";
import { SqliteSessionStore } from "../../src/adapters/local/sqlite-sessions.js";
import type { Session } from "../../src/ports.js";
import { pollingWatcher, withChangeNotifications } from "../../src/service/watch.js";
import { makeSession } from "../contract/session-store.contract.js";
import { tempDir } from "../http/harness.js";

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
};

it("in-process: every write through the wrapped store reaches the session's watchers, and only theirs", async () => {
  const { store, watcher } = withChangeNotifications(new SqliteSessionStore(path.join(tempDir(), "a.db")));
  const s = makeSession();
  const other = makeSession();
  await store.create(s);
  await store.create(other);
  const seen: (number | undefined)[] = [];
  const stop = watcher.watch(s.sessionId, (x) => seen.push(x?.version));
  await store.updateImage(s.sessionId, "a", { status: "fetching" });
  await store.updateImage(other.sessionId, "a", { status: "fetching" });
  await store.updateImage(s.sessionId, "a", { status: "processing" });
  await store.delete(s.sessionId);
  stop();
  await store.create(makeSession({ sessionId: s.sessionId }));
  expect(seen).toEqual([2, 3, undefined]);
});

it("polling: sees changes made by another store instance, coalesced, and the deletion", async () => {
  const file = path.join(tempDir(), "b.db");
  const writer = new SqliteSessionStore(file);
  const reader = new SqliteSessionStore(file);
  const s = makeSession();
  await writer.create(s);
  const seen: (Session | undefined)[] = [];
  const stop = pollingWatcher(reader, 20).watch(s.sessionId, (x) => seen.push(x));
  await until(() => seen.length === 1);
  expect(seen[0]?.version).toBe(1);
  await writer.updateImage(s.sessionId, "a", { status: "fetching" });
  await writer.updateImage(s.sessionId, "a", { status: "done", percent: 100 });
  await until(() => seen.some((x) => x?.version === 3));
  expect(seen[seen.length - 1]?.images[0].status).toBe("done");
  await writer.delete(s.sessionId);
  await until(() => seen[seen.length - 1] === undefined);
  expect(seen[seen.length - 1]).toBeUndefined();
  stop();
  await writer.close();
  await reader.close();
});

// Found by moving the clock past a running session's TTL: its job's next write found the session
// gone (expired rows are invisible), but nothing went through delete, so the progress stream kept
// sending heartbeats until the sweeper removed the row (up to 10 minutes later).
it("in-process: a write that finds the session gone (expired, or deleted elsewhere) reports it gone", async () => {
  let now = Date.now();
  const file = path.join(tempDir(), "c.db");
  const { store, watcher } = withChangeNotifications(new SqliteSessionStore(file, { clock: { now: () => now } }));
  const s = makeSession({ ttl: Math.floor(now / 1000) + 60 });
  await store.create(s);
  const seen: (number | undefined)[] = [];
  const stop = watcher.watch(s.sessionId, (x) => seen.push(x?.version));
  await store.updateImage(s.sessionId, "a", { status: "fetching" });
  now += 120_000; // past its TTL
  await expect(store.updateImage(s.sessionId, "a", { status: "processing" })).rejects.toMatchObject({
    code: "NOT_FOUND",
  });
  expect(seen).toEqual([2, undefined]);
  stop();

  // Deleted by another connection (another process): the same.
  const other = makeSession({ ttl: Math.floor(now / 1000) + 3600 });
  await store.create(other);
  const seen2: (number | undefined)[] = [];
  const stop2 = watcher.watch(other.sessionId, (x) => seen2.push(x?.version));
  const elsewhere = new SqliteSessionStore(file, { clock: { now: () => now } });
  await elsewhere.delete(other.sessionId);
  await expect(store.updateImage(other.sessionId, "a", { status: "fetching" })).rejects.toMatchObject({
    code: "NOT_FOUND",
  });
  expect(seen2).toEqual([undefined]);
  stop2();
  await elsewhere.close();
});
