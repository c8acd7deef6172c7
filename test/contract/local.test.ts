// The shared store contracts against the local adapters: SQLite sessions (a second connection
// to the same file is the second writer) and filesystem objects, whose signed URLs are fetched
// over real HTTP from the local server's GET /files route (same data directory and secret).
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { FsObjectStore } from "../../src/adapters/local/fs-objects.js";
import { loadOrCreateSecret } from "../../src/adapters/local/secret.js";
import { SqliteSessionStore } from "../../src/adapters/local/sqlite-sessions.js";
import { loadConfig } from "../../src/config.js";
import { sniffImageType } from "../../src/fetch/index.js";
import { silentLogger } from "../../src/logger.js";
import { type LocalServer, startLocalServer } from "../../src/server.js";
import { objectStoreContract } from "./object-store.contract.js";
import { sessionStoreContract } from "./session-store.contract.js";

const dataDir = mkdtempSync(path.join(os.tmpdir(), "imgedit-contract-local-"));
const config = loadConfig({
  DATA_DIR: dataDir,
  PORT: "0",
  HOST: "127.0.0.1",
  JWT_SECRET: "contract-test-secret-0123456789abcdef",
  LOG_LEVEL: "silent",
  WORKER_CONCURRENCY: "1",
});
let server: LocalServer;

beforeAll(async () => {
  server = await startLocalServer(config, { logger: silentLogger(), sweepIntervalMs: 0 });
});
afterAll(async () => {
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

let n = 0;
sessionStoreContract("SQLite", async () => {
  const file = path.join(dataDir, `contract-${n++}.db`);
  const store = new SqliteSessionStore(file);
  const second = new SqliteSessionStore(file);
  return {
    store,
    second,
    async cleanup() {
      await store.close?.();
      await second.close?.();
    },
  };
});

objectStoreContract(
  "filesystem (signed URLs via the local server's GET /files)",
  async () => ({
    store: new FsObjectStore(path.join(dataDir, "objects"), {
      secret: loadOrCreateSecret(config),
      baseUrl: "",
      sniff: sniffImageType,
    }),
    baseUrl: server.url,
    async cleanup() {},
  }),
  { bigBytes: 6 * 1024 * 1024 },
);
