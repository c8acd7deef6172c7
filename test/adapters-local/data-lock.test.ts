// One server per DATA_DIR: a second one is refused while the first one's process lives; a lock
// left by a process that is gone (a crash) is taken over.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import net, { type AddressInfo } from "node:net";
import path from "node:path";
import { expect, it } from "vitest";
import { lockDataDir } from "../../src/adapters/local/data-lock.js";
import { startLocalServer } from "../../src/server.js";
import { startService, tempDir, testConfig } from "../http/harness.js";

it("refuses a DATA_DIR another live process holds, takes over a stale lock, releases its own", async () => {
  const dir = tempDir();
  const other = spawn("sleep", ["30"]);
  try {
    writeFileSync(path.join(dir, "server.lock"), `${other.pid}\n`);
    expect(() => lockDataDir(dir)).toThrow(new RegExp(`in use by another imgedit server \\(pid ${other.pid}\\)`));
  } finally {
    other.kill("SIGKILL");
    await new Promise((r) => other.once("exit", r));
  }
  const release = lockDataDir(dir); // its process is gone: stale
  expect(readFileSync(path.join(dir, "server.lock"), "utf8").trim()).toBe(String(process.pid));
  release();
  expect(existsSync(path.join(dir, "server.lock"))).toBe(false);
});

it("a server holds its DATA_DIR while it runs and lets go when it closes", async () => {
  const dir = tempDir();
  const svc = await startService({}, { dataDir: dir });
  expect(readFileSync(path.join(dir, "server.lock"), "utf8").trim()).toBe(String(process.pid));
  await svc.close();
  expect(existsSync(path.join(dir, "server.lock"))).toBe(false);
});

it("a start that fails part-way (its port in use) lets go of DATA_DIR, so a retry in the same process starts", async () => {
  const dir = tempDir();
  const busy = net.createServer();
  await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
  const port = (busy.address() as AddressInfo).port;
  try {
    await expect(startLocalServer(testConfig(dir, { PORT: String(port) }), { sweepIntervalMs: 0 })).rejects.toThrow(
      /EADDRINUSE/,
    );
    expect(existsSync(path.join(dir, "server.lock"))).toBe(false);
    const server = await startLocalServer(testConfig(dir), { sweepIntervalMs: 0 });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    await server.close();
  } finally {
    busy.close();
  }
});
