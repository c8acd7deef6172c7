// The SQLite session store while another connection (another process: a backup, an admin's sqlite3
// shell, a second server refused by the DATA_DIR lock but holding the file) holds the write lock:
// its writes wait for the lock without stopping the process, and give up after busyTimeoutMs.
// better-sqlite3 is synchronous: with SQLite's own 5 s busy wait the whole server (requests,
// progress streams, heartbeats) stood still for as long as the lock was held (measured on a real
// server: /healthz took 7.9 s under an 8 s lock, 20 s under a 30 s one).
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteSessionStore } from "../../src/adapters/local/sqlite-sessions.js";
import { makeSession } from "../contract/session-store.contract.js";
import { tempDir } from "../http/harness.js";

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const c of open.splice(0).reverse()) await c.close();
});

const session = (sessionId: string) => makeSession({ sessionId });

/** Another connection to the same file that takes the write lock and keeps it until released. */
function holdWriteLock(file: string): () => void {
  const other = new Database(file);
  open.push(other);
  other.exec("BEGIN IMMEDIATE");
  return () => {
    if (other.inTransaction) other.exec("COMMIT");
  };
}

/** The longest the event loop stood still while `work` ran (a 10 ms ticker's largest lag). */
async function longestStall<T>(work: () => Promise<T>): Promise<{ stall: number; result: PromiseSettledResult<T> }> {
  let last = Date.now();
  let stall = 0;
  const ticker = setInterval(() => {
    const now = Date.now();
    stall = Math.max(stall, now - last);
    last = now;
  }, 10);
  const [result] = await Promise.allSettled([work()]);
  clearInterval(ticker);
  stall = Math.max(stall, Date.now() - last);
  return { stall, result };
}

describe("SQLite store under another connection's write lock", () => {
  it("a write waits for the lock without blocking the process, and lands once the lock is released", async () => {
    const file = path.join(tempDir(), "sessions.db");
    const store = new SqliteSessionStore(file);
    open.push(store);
    await store.create(session("s1"));
    const release = holdWriteLock(file);
    // The holder lets go after 600 ms: a timer, which only fires if the event loop runs.
    setTimeout(release, 600);
    const started = Date.now();
    const { stall, result } = await longestStall(() =>
      store.updateImage("s1", "a", { status: "fetching", percent: 5, attempts: 1 }),
    );
    expect(result.status).toBe("fulfilled");
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(stall).toBeLessThan(250);
    expect((await store.get("s1"))?.images[0].status).toBe("fetching");
    // Reads were never blocked (WAL), and creating works again too.
    await store.create(session("s2"));
  });

  it("a lock held past busyTimeoutMs fails the write (SQLITE_BUSY) after that long, still without blocking", async () => {
    const file = path.join(tempDir(), "sessions.db");
    const store = new SqliteSessionStore(file, { busyTimeoutMs: 400 });
    open.push(store);
    await store.create(session("s1"));
    const release = holdWriteLock(file);
    try {
      const started = Date.now();
      const { stall, result } = await longestStall(() => store.updateImage("s1", "a", { status: "fetching" }));
      expect(result.status).toBe("rejected");
      // a 503 to a client, another attempt for a job
      expect((result as PromiseRejectedResult).reason).toMatchObject({
        code: "STORAGE_FAILED",
        retryable: true,
        message: expect.stringMatching(/\(SQLITE_BUSY/),
      });
      expect(Date.now() - started).toBeGreaterThanOrEqual(350);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(stall).toBeLessThan(250);
      // Reads go on meanwhile.
      expect((await store.get("s1"))?.images[0].status).toBe("queued");
    } finally {
      release();
    }
    await store.updateImage("s1", "a", { status: "fetching" });
  });
});
