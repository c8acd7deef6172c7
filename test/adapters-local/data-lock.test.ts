// One server per DATA_DIR: a second one is refused while the first one's process lives; a lock
// left by a process that is gone (a crash) is taken over.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
  expect(readFileSync(path.join(dir, "server.lock"), "utf8").split(" ")[0].trim()).toBe(String(process.pid));
  release();
  expect(existsSync(path.join(dir, "server.lock"))).toBe(false);
});

it("a server holds its DATA_DIR while it runs and lets go when it closes", async () => {
  const dir = tempDir();
  const svc = await startService({}, { dataDir: dir });
  expect(readFileSync(path.join(dir, "server.lock"), "utf8").split(" ")[0].trim()).toBe(String(process.pid));
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

it("of servers starting at the same moment, exactly one takes the lock: over a stale lock and over none", async () => {
  // Before, each contender removed what it took for stale, including the lock another had just
  // taken (several winners in every round over a stale lock), and a lock written in place could be
  // read empty and taken for stale (several winners in some rounds over none).
  const dir = tempDir();
  const results = path.join(dir, "results");
  writeFileSync(results, "");
  const dead = spawn("true");
  await new Promise((r) => dead.once("exit", r));
  const [contenders, rounds, slotMs] = [4, 16, 400];
  const start = Date.now() + 6000; // after the contenders' start-up (a late one skips the rounds it missed)
  const lock = path.join(dir, "server.lock");
  const children = Array.from({ length: contenders }, () =>
    spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "test/adapters-local/lock-contender.ts",
        dir,
        results,
        String(start),
        String(slotMs),
        String(rounds),
      ],
      { stdio: "ignore" },
    ),
  );
  // before each round: a stale lock (a dead server's) in even rounds, none in odd ones
  for (let round = 0; round < rounds; round++) {
    await new Promise((r) => setTimeout(r, Math.max(0, start + round * slotMs - 100 - Date.now())));
    if (round % 2 === 0) writeFileSync(lock, `${dead.pid}\n`);
    else rmSync(lock, { force: true });
  }
  await Promise.all(children.map((c) => new Promise((r) => c.once("exit", r))));
  const winners = new Map<number, number>();
  for (const line of readFileSync(results, "utf8").split("\n").filter(Boolean)) {
    const round = Number(line.split(" ")[0]);
    winners.set(round, (winners.get(round) ?? 0) + 1);
  }
  expect([...Array(rounds).keys()].map((r) => winners.get(r) ?? 0)).toEqual(Array(rounds).fill(1));
}, 40_000);

it.skipIf(!existsSync("/proc/self/stat"))(
  "a lock whose pid now belongs to another process (started later) is stale; the same process still holds it",
  async () => {
    const dir = tempDir();
    const other = spawn("sleep", ["30"]);
    try {
      await new Promise((r) => other.once("spawn", r));
      const stat = readFileSync(`/proc/${other.pid}/stat`, "utf8");
      const started = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
      writeFileSync(path.join(dir, "server.lock"), `${other.pid} ${started}\n`);
      expect(() => lockDataDir(dir)).toThrow(/in use by another imgedit server/);
      // the crashed server's pid, reused by a program started at another time
      writeFileSync(path.join(dir, "server.lock"), `${other.pid} ${Number(started) - 1000}\n`);
      const release = lockDataDir(dir);
      expect(readFileSync(path.join(dir, "server.lock"), "utf8").split(" ")[0]).toBe(String(process.pid));
      release();
    } finally {
      other.kill("SIGKILL");
      await new Promise((r) => other.once("exit", r));
    }
  },
);
