// The local adapters against the shared store contracts (the same suites the AWS adapters pass),
// plus what is local-only: key validation, signed /files URLs over real HTTP, the secret file.
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertSafeKey, FsObjectStore } from "../../src/adapters/local/fs-objects.js";
import { loadOrCreateSecret } from "../../src/adapters/local/secret.js";
import { COUNT_UNFINISHED, SqliteSessionStore } from "../../src/adapters/local/sqlite-sessions.js";
import { objectStoreContract } from "../contract/object-store.contract.js";
import { sessionStoreContract } from "../contract/session-store.contract.js";
import { type Json, startService, type TestService, tempDir } from "../http/harness.js";

const dbDir = tempDir();
let n = 0;

sessionStoreContract("SQLite", async () => {
  const file = path.join(dbDir, `s${n++}.db`);
  const store = new SqliteSessionStore(file);
  const second = new SqliteSessionStore(file); // another connection, as another process would have
  return {
    store,
    second,
    async cleanup() {
      await store.close();
      await second.close();
    },
  };
});

let svc: TestService;
beforeAll(async () => {
  svc = await startService();
});
afterAll(async () => {
  await svc?.close();
});

// Same root and secret as the running server, so its GET /files checks our signatures.
objectStoreContract(
  "filesystem",
  async () => ({
    store: new FsObjectStore(path.join(svc.dataDir, "objects"), { secret: loadOrCreateSecret(svc.config) }),
    baseUrl: svc.base,
    async cleanup() {},
  }),
  { verifiesSignatures: true, bigBytes: 3 * 1024 * 1024 },
);

describe("filesystem object keys", () => {
  it.each([
    "../etc/passwd",
    "/etc/passwd",
    "a/../../b",
    "a//b",
    "a/./b",
    ".hidden",
    "a/b\\c",
    "a/b\u0000c",
    "",
    "a/b/",
  ])("refuses %j", (key) => {
    expect(() => assertSafeKey(key)).toThrow(/object key not allowed/);
  });

  it("accepts the keys the service makes", () => {
    for (const k of ["alice/9b1c-uuid/image-1.webp", "uploads/alice/0123456789abcdef0123456789abcdef", "a/b c.png"])
      expect(() => assertSafeKey(k)).not.toThrow();
  });

  it("refuses a signature moved to another path or expiry", async () => {
    const store = new FsObjectStore(path.join(svc.dataDir, "objects"), { secret: loadOrCreateSecret(svc.config) });
    await store.put("bob/s1/x.png", Buffer.from("x"), "image/png");
    const url = new URL(await store.signedGetUrl("bob/s1/x.png", 300), svc.base);
    expect((await fetch(url)).status).toBe(200);
    const later = new URL(url);
    later.searchParams.set("exp", String(Number(url.searchParams.get("exp")) + 1000));
    const r1 = await fetch(later);
    expect(r1.status).toBe(403);
    expect(((await r1.json()) as Json).error.code).toBe("FORBIDDEN");
    const moved = new URL(url.toString().replace("/x.png", "/y.png"));
    expect((await fetch(moved)).status).toBe(403);
    const noSig = new URL(url);
    noSig.searchParams.delete("sig");
    expect((await fetch(noSig)).status).toBe(403);
    const traversal = `${svc.base}/files/bob/s1/..%2F..%2Fjwt-secret?exp=${url.searchParams.get("exp")}&sig=${url.searchParams.get("sig")}`;
    expect((await fetch(traversal)).status).toBe(403);
  });
});

describe("filesystem object directories", () => {
  const dirs = (root: string) =>
    fs
      .readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
      .sort();

  it("deleting a session's last file, or the session's prefix, leaves no empty directories", async () => {
    const root = path.join(tempDir(), "objects");
    const store = new FsObjectStore(root, { secret: new Uint8Array(32) });
    await store.put("u1/s1/a.png", Buffer.from("a"), "image/png");
    await store.put("u1/s1/b.png", Buffer.from("b"), "image/png");
    await store.put("u1/s2/c.png", Buffer.from("c"), "image/png");
    await store.delete("u1/s1/a.png");
    expect(dirs(root)).toEqual(["u1", "u1/s1", "u1/s2"]); // b.png still there
    await store.delete("u1/s1/b.png");
    expect(dirs(root)).toEqual(["u1", "u1/s2"]);
    await store.deletePrefix("u1/s2/");
    expect(dirs(root)).toEqual([]);
    expect(fs.existsSync(root)).toBe(true); // the store's own directory stays
    await store.delete("u1/s9/none.png"); // nothing there: no error
  });

  it("a write beside a delete that empties the same directory still lands", async () => {
    const root = path.join(tempDir(), "objects");
    const store = new FsObjectStore(root, { secret: new Uint8Array(32) });
    for (let i = 0; i < 200; i++) {
      await store.put(`u/s${i}/old.png`, Buffer.from("o"), "image/png");
      await Promise.all([
        store.delete(`u/s${i}/old.png`),
        store.put(`u/s${i}/new.png`, Buffer.from(`n${i}`), "image/png"),
      ]);
      expect((await store.getBuffer(`u/s${i}/new.png`))?.toString()).toBe(`n${i}`);
    }
    expect((await store.list("u/")).length).toBe(200);
  });
});

describe("local secret", () => {
  it("is generated once, kept with mode 0600, and reused", () => {
    const dir = tempDir();
    const a = loadOrCreateSecret({ DATA_DIR: dir, JWT_SECRET: undefined });
    const b = loadOrCreateSecret({ DATA_DIR: dir, JWT_SECRET: undefined });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(a.length).toBe(64);
    expect(fs.statSync(path.join(dir, "jwt-secret")).mode & 0o777).toBe(0o600);
    const c = loadOrCreateSecret({ DATA_DIR: dir, JWT_SECRET: "configured" });
    expect(new TextDecoder().decode(c)).toBe("configured");
  });

  it("refuses a secret file it did not write with a clear configuration error, not a crash", () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "jwt-secret"), "not hex\n");
    expect(() => loadOrCreateSecret({ DATA_DIR: dir, JWT_SECRET: undefined })).toThrow(
      /jwt-secret is not a secret imgedit wrote \(64 hex digits\): delete it/,
    );
  });

  it("waits for a secret file another process created and has not written yet", async () => {
    const dir = tempDir();
    const file = path.join(dir, "jwt-secret");
    fs.writeFileSync(file, "");
    const hex = "ab".repeat(32);
    // written by a child process while this thread waits (loadOrCreateSecret blocks)
    const { spawn } = await import("node:child_process");
    spawn(process.execPath, [
      "-e",
      `setTimeout(() => require("fs").writeFileSync(${JSON.stringify(file)}, "${hex}\\n"), 100)`,
    ]);
    expect(Buffer.from(loadOrCreateSecret({ DATA_DIR: dir, JWT_SECRET: undefined })).toString()).toBe(hex);
  });
});

describe("SQLite unfinished-session count", () => {
  it("counts a user's queued and running sessions, not finished, expired or other users' ones", async () => {
    let nowMs = 1_700_000_000_000;
    const store = new SqliteSessionStore(path.join(dbDir, `count${n++}.db`), { clock: { now: () => nowMs } });
    const make = (sessionId: string, userId: string, status: "queued" | "done", ttlSec: number) => ({
      sessionId,
      userId,
      createdAt: nowMs,
      updatedAt: nowMs,
      status: "queued" as const,
      plan: [],
      images: [{ id: "a", name: "a", sourceUrl: "http://x/a.png", status, percent: 0, attempts: 0, version: 1 }],
      ttl: Math.floor(nowMs / 1000) + ttlSec,
      version: 1,
    });
    await store.create(make("s1", "ann", "queued", 3600));
    await store.create(make("s2", "ann", "queued", 3600));
    await store.create(make("s3", "ann", "queued", 10));
    await store.create(make("s4", "bob", "queued", 3600));
    expect(await store.countUnfinishedByUser("ann")).toBe(3);
    await store.updateImage("s2", "a", { status: "processing", percent: 30 });
    expect(await store.countUnfinishedByUser("ann")).toBe(3); // running counts too
    await store.updateImage("s1", "a", { status: "done", percent: 100 });
    expect(await store.countUnfinishedByUser("ann")).toBe(2);
    nowMs += 60_000; // s3 expired
    expect(await store.countUnfinishedByUser("ann")).toBe(1);
    expect(await store.countUnfinishedByUser("bob")).toBe(1);
    expect(await store.countUnfinishedByUser("nobody")).toBe(0);
    await store.close();
  });

  it("counts a user's unfinished sessions from an index of unfinished ones, not the user's whole history", async () => {
    const file = path.join(dbDir, `history${n++}.db`);
    const store = new SqliteSessionStore(file);
    const now = Date.now();
    for (let i = 0; i < 300; i++) {
      const open = i % 100 === 0;
      await store.create({
        sessionId: `h${i}`,
        userId: "ann",
        createdAt: now + i,
        updatedAt: now + i,
        status: open ? "queued" : "completed",
        plan: [],
        images: [
          {
            id: "a",
            name: "a",
            sourceUrl: "http://x/a.png",
            status: open ? "queued" : "done",
            percent: 0,
            attempts: 0,
            version: 1,
          },
        ],
        ttl: Math.floor(now / 1000) + 3600,
        version: 1,
      });
    }
    expect(await store.countUnfinishedByUser("ann")).toBe(3);
    const db = new Database(file, { readonly: true });
    const plan = db
      .prepare(`EXPLAIN QUERY PLAN ${COUNT_UNFINISHED}`)
      .all("ann", 0)
      .map((r) => (r as { detail: string }).detail)
      .join(" | ");
    db.close();
    await store.close();
    expect(plan).toMatch(/USING (COVERING )?INDEX sessions_unfinished/);
  });

  it("drops the old status index from an existing database and still finds its unfinished sessions", async () => {
    const file = path.join(dbDir, `old${n++}.db`);
    const now = Date.now();
    const old = new Database(file);
    old.exec(`CREATE TABLE sessions (sessionId TEXT PRIMARY KEY, userId TEXT NOT NULL, createdAt INTEGER NOT NULL,
        updatedAt INTEGER NOT NULL, status TEXT NOT NULL, ttl INTEGER NOT NULL, version INTEGER NOT NULL,
        idempotencyKey TEXT, doc TEXT NOT NULL);
      CREATE INDEX sessions_status ON sessions (status);`);
    const insert = old.prepare("INSERT INTO sessions VALUES (?, 'ann', ?, ?, ?, ?, 1, NULL, ?)");
    for (const [id, status] of [
      ["q1", "queued"],
      ["d1", "completed"],
      ["r1", "running"],
    ]) {
      const image = {
        id: "a",
        name: "a",
        sourceUrl: "http://x/a.png",
        status: "queued",
        percent: 0,
        attempts: 0,
        version: 1,
      };
      const doc = {
        sessionId: id,
        userId: "ann",
        createdAt: now,
        updatedAt: now,
        status,
        plan: [],
        images: [image],
        ttl: Math.floor(now / 1000) + 3600,
        version: 1,
      };
      insert.run(id, now, now, status, doc.ttl, JSON.stringify(doc));
    }
    old.close();
    const store = new SqliteSessionStore(file);
    expect((await store.listUnfinished(10)).map((s) => s.sessionId).sort()).toEqual(["q1", "r1"]);
    await store.close();
    const db = new Database(file, { readonly: true });
    const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index'").pluck().all();
    db.close();
    expect(indexes).not.toContain("sessions_status");
    expect(indexes).toContain("sessions_unfinished");
  });
});
