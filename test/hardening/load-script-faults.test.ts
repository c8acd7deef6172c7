// `npm run load -- --faults` itself, with a tiny profile: the script's faults mode (in-process
// server, a fault of the rotation armed every second, the built-in generator) must end with no
// session lost, no more failed images than the faults that hit can explain, a clean store audit,
// and a clean batch completed on the same server afterwards. Runs the script as a user would.
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

function runScript(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "tests/load/run.ts", ...args], {
      cwd: root,
      env: { ...process.env, TARGET: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (out += d));
    child.on("close", (code) => resolve({ code, out }));
  });
}

it("npm run load -- --faults (10 s profile, a fault every second): nothing lost, failures within the faults, recovers", async () => {
  const { code, out } = await runScript(["--faults", "--duration", "10", "--fault-every", "1"]);
  const line = out.split("\n").find((l) => l.startsWith("faults-result: "));
  if (!line) throw new Error(`no faults-result line; output:\n${out}`);
  const r = JSON.parse(line.slice("faults-result: ".length));
  console.log(line);
  expect(r.accepted).toBeGreaterThan(100);
  expect(r.errors).toBe(0);
  expect(r.sessionsLost).toBe(0);
  // Faults really hit while the load ran, of every kind in the rotation.
  expect(r.hit).toBeGreaterThanOrEqual(5);
  for (const kind of ["put-error", "session-write-error", "source-reset", "source-hang", "worker-kill"])
    expect(r.injected[kind], kind).toBeGreaterThan(0);
  expect(r.imagesFailed).toBeLessThanOrEqual(r.hit);
  expect(r.imagesFailed).toBeLessThanOrEqual(r.failureBound);
  expect(r.imagesDone + r.imagesFailed).toBe(r.accepted);
  expect(r.auditProblems).toEqual([]);
  expect(r.cleanBatch).toEqual({ sessions: 5, completed: 5 });
  expect(code).toBe(0);
}, 90_000);
