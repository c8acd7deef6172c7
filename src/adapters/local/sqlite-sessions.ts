// SessionStore on SQLite (better-sqlite3, WAL), keyed like the DynamoDB table: sessionId primary
// key, an index on (userId, createdAt), a ttl in epoch seconds (expired rows are invisible on read
// and removed by the sweeper). The session document is JSON; version guards every update.
// better-sqlite3 is synchronous: SQLite's own busy wait would stop the whole process (every request,
// every progress stream) while another process holds the write lock, so SQLite waits only a few
// milliseconds and the store waits for the lock between tries, letting the event loop run.
import fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import Database from "better-sqlite3";
import { ImageEditError } from "../../core/errors.js";
import type { Clock, Page, Session, SessionImage, SessionStore } from "../../ports.js";
import { sessionStatusOf, writableImage } from "../../service/status.js";

interface Row {
  sessionId: string;
  doc: string;
}

export interface SqliteSessionStoreOptions {
  clock?: Clock;
  /**
   * How long a read or write waits for a lock another connection holds before it fails with
   * SQLITE_BUSY (ms, default 5000). The wait is asynchronous: the process goes on meanwhile.
   */
  busyTimeoutMs?: number;
}

/** SQLite's own (blocking) busy wait per try: short, the rest of the wait does not block. */
const BLOCKING_BUSY_MS = 20;

function isBusy(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"));
}

/**
 * The database cannot do it now (locked past the wait, a full disk, an I/O error): STORAGE_FAILED,
 * retryable (503 to a client, another attempt for a job). A constraint is the caller's to read.
 */
function storageError(e: unknown): unknown {
  const code = (e as { code?: unknown })?.code;
  if (typeof code !== "string" || !code.startsWith("SQLITE_") || code.startsWith("SQLITE_CONSTRAINT")) return e;
  return new ImageEditError("STORAGE_FAILED", `the session store failed: ${(e as Error).message} (${code})`, {
    retryable: true,
    cause: e,
  });
}

export function encodeCursor(createdAt: number, sessionId: string): string {
  return Buffer.from(JSON.stringify([createdAt, sessionId])).toString("base64url");
}

export function decodeCursor(cursor: string): { createdAt: number; sessionId: string } {
  try {
    const [createdAt, sessionId] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown[];
    if (typeof createdAt === "number" && typeof sessionId === "string") return { createdAt, sessionId };
  } catch {
    // fall through
  }
  throw new ImageEditError("INVALID_INPUT", "cursor is not one this service issued", { field: "cursor" });
}

export const COUNT_UNFINISHED =
  "SELECT COUNT(*) FROM sessions WHERE userId = ? AND ttl >= ? AND status IN ('queued', 'running')";

export class SqliteSessionStore implements SessionStore {
  private readonly db: Database.Database;
  private readonly clock: Clock;
  // Prepared once: preparing a statement costs more than running these small ones.
  private readonly stmt: ReturnType<SqliteSessionStore["prepareAll"]>;
  private readonly busyTimeoutMs: number;

  private readonly file: string;
  /** The database file opened (device and inode): see fileProblem. */
  private readonly opened: { dev: number; ino: number };

  constructor(file: string, opts: SqliteSessionStoreOptions = {}) {
    this.file = file;
    this.clock = opts.clock ?? { now: () => Date.now() };
    this.busyTimeoutMs = Math.max(0, opts.busyTimeoutMs ?? 5000);
    this.db = new Database(file);
    // Opening happens once, at start-up, before anything else runs: blocking there is fine.
    this.db.pragma(`busy_timeout = ${Math.floor(this.busyTimeoutMs)}`);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS sessions (
        sessionId TEXT PRIMARY KEY,
        userId TEXT NOT NULL,
        createdAt INTEGER NOT NULL,
        updatedAt INTEGER NOT NULL,
        status TEXT NOT NULL,
        ttl INTEGER NOT NULL,
        version INTEGER NOT NULL,
        idempotencyKey TEXT,
        doc TEXT NOT NULL,
        pending INTEGER
      );
      CREATE INDEX IF NOT EXISTS "userId-createdAt-index" ON sessions (userId, createdAt DESC, sessionId DESC);
      CREATE UNIQUE INDEX IF NOT EXISTS sessions_idempotency ON sessions (userId, idempotencyKey)
        WHERE idempotencyKey IS NOT NULL;
      CREATE INDEX IF NOT EXISTS sessions_ttl ON sessions (ttl);
      -- Replaced by sessions_unfinished, which also serves recovery: one index fewer to update on
      -- every status change (~12 us per image measured).
      DROP INDEX IF EXISTS sessions_status;
      -- Only unfinished sessions: the per-request limit check must not walk a user's whole history.
      CREATE INDEX IF NOT EXISTS sessions_unfinished ON sessions (userId, ttl)
        WHERE status IN ('queued', 'running');
    `);
    // 1 while a keyed session's jobs are not queued yet (see Session.enqueued); NULL otherwise,
    // so rows of databases made before the column existed count as queued.
    const columns = this.db.prepare("SELECT name FROM pragma_table_info('sessions')").pluck().all();
    if (!columns.includes("pending")) {
      try {
        this.db.exec("ALTER TABLE sessions ADD COLUMN pending INTEGER");
      } catch (e) {
        // another connection opening the same file added it first
        if (!/duplicate column/i.test((e as Error).message)) throw e;
      }
    }
    this.stmt = this.prepareAll();
    const st = fs.statSync(file);
    this.opened = { dev: st.dev, ino: st.ino };
    this.db.pragma(`busy_timeout = ${Math.min(BLOCKING_BUSY_MS, Math.floor(this.busyTimeoutMs))}`);
  }

  /**
   * One statement, tried again while another connection holds the lock it needs, up to
   * busyTimeoutMs, waiting between tries without blocking the event loop. Each statement runs on
   * its own (autocommit), so trying it again is safe.
   */
  private async locked<T>(statement: () => T): Promise<T> {
    const started = Date.now();
    for (let pause = 5; ; pause = Math.min(100, pause * 2)) {
      try {
        return statement();
      } catch (e) {
        const left = this.busyTimeoutMs - (Date.now() - started);
        if (isBusy(e) && left > 0) {
          await sleep(Math.min(pause, left));
          continue;
        }
        throw storageError(e);
      }
    }
  }

  private prepareAll() {
    const db = this.db;
    return {
      insert: db.prepare(
        `INSERT INTO sessions (sessionId, userId, createdAt, updatedAt, status, ttl, version, idempotencyKey, doc, pending)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      get: db.prepare("SELECT sessionId, doc FROM sessions WHERE sessionId = ? AND ttl >= ?"),
      listFirst: db.prepare(
        `SELECT sessionId, doc FROM sessions WHERE userId = ? AND ttl >= ?
         ORDER BY createdAt DESC, sessionId DESC LIMIT ?`,
      ),
      listAfter: db.prepare(
        `SELECT sessionId, doc FROM sessions WHERE userId = ? AND ttl >= ?
           AND (createdAt < ? OR (createdAt = ? AND sessionId < ?))
         ORDER BY createdAt DESC, sessionId DESC LIMIT ?`,
      ),
      // Its WHERE repeats the sessions_unfinished index's, so SQLite can answer from that index.
      countUnfinished: db.prepare(COUNT_UNFINISHED).pluck(),
      update: db.prepare(
        "UPDATE sessions SET doc = ?, status = ?, version = ?, updatedAt = ? WHERE sessionId = ? AND version = ?",
      ),
      delete: db.prepare("DELETE FROM sessions WHERE sessionId = ?"),
      markEnqueued: db.prepare("UPDATE sessions SET pending = NULL WHERE sessionId = ?"),
      releaseExpiredKey: db.prepare(
        "UPDATE sessions SET idempotencyKey = NULL WHERE userId = ? AND idempotencyKey = ? AND ttl < ?",
      ),
      byIdempotencyKey: db.prepare(
        "SELECT sessionId, doc, pending FROM sessions WHERE userId = ? AND idempotencyKey = ? AND ttl >= ?",
      ),
      expired: db.prepare("SELECT sessionId, doc FROM sessions WHERE ttl < ? ORDER BY ttl LIMIT ?"),
      unfinished: db.prepare(
        "SELECT sessionId, doc FROM sessions INDEXED BY sessions_unfinished WHERE status IN ('queued', 'running') AND ttl >= ? ORDER BY createdAt LIMIT ?",
      ),
    };
  }

  private nowSec(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  private parse(row: Row | undefined): Session | undefined {
    return row ? (JSON.parse(row.doc) as Session) : undefined;
  }

  /**
   * Why the database can no longer keep what is written, or undefined: its file deleted or
   * replaced while the server runs (SQLite goes on writing to the file it opened, which nobody
   * will read again: every session made after it would be lost at the next start).
   */
  fileProblem(): string | undefined {
    const now = fs.statSync(this.file, { throwIfNoEntry: false });
    if (now?.dev === this.opened.dev && now.ino === this.opened.ino) return undefined;
    return `the session database ${this.file} was ${now ? "replaced" : "deleted"} while the server runs; restart the server`;
  }

  async create(session: Session): Promise<void> {
    const problem = this.fileProblem();
    if (problem) throw new ImageEditError("STORAGE_FAILED", problem, { retryable: true });
    // An expired session (not swept yet) no longer holds its idempotency key: the key is free again.
    const key = session.idempotencyKey;
    if (key !== undefined) await this.locked(() => this.stmt.releaseExpiredKey.run(session.userId, key, this.nowSec()));
    const { enqueued, ...stored } = session;
    const doc = JSON.stringify(stored);
    try {
      await this.locked(() =>
        this.stmt.insert.run(
          session.sessionId,
          session.userId,
          session.createdAt,
          session.updatedAt,
          session.status,
          session.ttl,
          session.version,
          session.idempotencyKey ?? null,
          doc,
          enqueued === false ? 1 : null,
        ),
      );
    } catch (e) {
      if ((e as { code?: string }).code?.startsWith("SQLITE_CONSTRAINT")) {
        throw new ImageEditError("CONFLICT", `session ${session.sessionId} (or its idempotency key) exists`, {
          cause: e,
        });
      }
      throw e;
    }
  }

  async get(sessionId: string): Promise<Session | undefined> {
    const row = (await this.locked(() => this.stmt.get.get(sessionId, this.nowSec()))) as Row | undefined;
    return this.parse(row);
  }

  async listByUser(userId: string, opts: { limit: number; cursor?: string }): Promise<Page<Session>> {
    const limit = Math.max(1, Math.min(100, Math.floor(opts.limit)));
    const now = this.nowSec();
    let rows: Row[];
    if (opts.cursor) {
      const c = decodeCursor(opts.cursor);
      rows = (await this.locked(() =>
        this.stmt.listAfter.all(userId, now, c.createdAt, c.createdAt, c.sessionId, limit + 1),
      )) as Row[];
    } else {
      rows = (await this.locked(() => this.stmt.listFirst.all(userId, now, limit + 1))) as Row[];
    }
    const items = rows.slice(0, limit).map((r) => this.parse(r)!);
    const last = items[items.length - 1];
    return {
      items,
      nextCursor: rows.length > limit && last ? encodeCursor(last.createdAt, last.sessionId) : undefined,
    };
  }

  async updateImage(
    sessionId: string,
    imageId: string,
    patch: Partial<Omit<SessionImage, "id" | "version">>,
  ): Promise<Session> {
    // Optimistic concurrency: another process on the same file may write between read and update.
    for (let tries = 0; tries < 20; tries++) {
      const current = await this.get(sessionId);
      if (!current) throw new ImageEditError("NOT_FOUND", `session ${sessionId} not found`);
      const idx = current.images.findIndex((i) => i.id === imageId);
      if (idx < 0) throw new ImageEditError("NOT_FOUND", `image ${imageId} not in session ${sessionId}`);
      const was = current.images[idx].status;
      if (!writableImage(was, patch))
        throw new ImageEditError("CONFLICT", `image ${imageId} of session ${sessionId} is already ${was}`);
      const version = current.version + 1;
      const image: SessionImage = { ...current.images[idx], ...patch, id: imageId, version };
      // Optional fields set to undefined in the patch are removed (e.g. a retried image's old error).
      for (const k of Object.keys(image) as (keyof SessionImage)[]) if (image[k] === undefined) delete image[k];
      const images = current.images.map((i, n) => (n === idx ? image : i));
      const next: Session = {
        ...current,
        images,
        version,
        status: sessionStatusOf(images),
        updatedAt: Math.max(this.clock.now(), current.updatedAt),
      };
      const doc = JSON.stringify(next);
      const res = await this.locked(() =>
        this.stmt.update.run(doc, next.status, version, next.updatedAt, sessionId, current.version),
      );
      if (res.changes === 1) return next;
    }
    throw new ImageEditError("CONFLICT", `session ${sessionId} kept changing; update of ${imageId} gave up`, {
      retryable: true,
    });
  }

  /** Unfinished (queued or running) sessions of a user: a count, without reading the documents. */
  async countUnfinishedByUser(userId: string): Promise<number> {
    return (await this.locked(() => this.stmt.countUnfinished.get(userId, this.nowSec()))) as number;
  }

  async delete(sessionId: string): Promise<void> {
    await this.locked(() => this.stmt.delete.run(sessionId));
  }

  async findByIdempotencyKey(userId: string, key: string): Promise<Session | undefined> {
    const row = (await this.locked(() => this.stmt.byIdempotencyKey.get(userId, key, this.nowSec()))) as
      | (Row & { pending: number | null })
      | undefined;
    const s = this.parse(row);
    return s && row?.pending ? { ...s, enqueued: false } : s;
  }

  async markEnqueued(session: Session): Promise<void> {
    const res = await this.locked(() => this.stmt.markEnqueued.run(session.sessionId));
    if (res.changes === 0) throw new ImageEditError("NOT_FOUND", `session ${session.sessionId} not found`);
  }

  async listExpired(nowSec: number, limit: number): Promise<Session[]> {
    const rows = (await this.locked(() => this.stmt.expired.all(nowSec, limit))) as Row[];
    return rows.map((r) => this.parse(r)!);
  }

  async listUnfinished(limit: number): Promise<Session[]> {
    const rows = (await this.locked(() => this.stmt.unfinished.all(this.nowSec(), limit))) as Row[];
    return rows.map((r) => this.parse(r)!);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
