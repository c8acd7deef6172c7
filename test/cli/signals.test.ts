// Stopping the service the ways the README says: SIGTERM to `npm start` (a supervisor, `kill`) and
// Ctrl-C in a terminal (SIGINT to every process in the terminal's group). Both must reach the
// server and run its graceful stop, not orphan it or kill it mid-stop.
import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, expect, it } from "vitest";
import { tempDir } from "../http/harness.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));

/** A copy of the launcher in a package of its own, whose dist/cli/main.js is `mainSource`. */
function fakePackage(mainSource: string, scripts: Record<string, string> = {}): string {
  const root = tempDir("imgedit-signals-");
  mkdirSync(path.join(root, "bin"));
  mkdirSync(path.join(root, "dist", "cli"), { recursive: true });
  for (const f of ["imgedit.js", "start-settings.js"])
    copyFileSync(path.join(REPO, "bin", f), path.join(root, "bin", f));
  writeFileSync(path.join(root, "dist", "cli", "main.js"), mainSource);
  writeFileSync(path.join(root, "package.json"), JSON.stringify({ name: "fake", type: "module", scripts }));
  return root;
}

const started: ChildProcess[] = [];
/** Pids, and process groups as -pid, that this file started. */
const pids: number[] = [];
afterEach(() => {
  // Whatever a failed test left running: only the processes this file started, by pid.
  for (const pid of pids.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  for (const child of started.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

function output(child: ChildProcess): { text: () => string; waitFor: (re: RegExp) => Promise<RegExpMatchArray> } {
  let text = "";
  const waiters: (() => void)[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => {
      text += chunk;
      for (const w of waiters.splice(0)) w();
    });
  }
  return {
    text: () => text,
    waitFor: (re) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const m = re.exec(text);
          if (m) resolve(m);
          else if (child.exitCode !== null || child.signalCode !== null) reject(new Error(`exited first:\n${text}`));
          else waiters.push(check);
        };
        child.once("exit", check);
        check();
      }),
  };
}

// "close", not "exit": a process can exit before its last output has been read from the pipe.
const exited = (child: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    const done = child.stdout?.closed !== false && child.stderr?.closed !== false;
    if (done && (child.exitCode !== null || child.signalCode !== null))
      resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once("close", (code, signal) => resolve({ code, signal }));
  });

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

it("SIGTERM to the `npm start` process reaches the server, which stops; nothing is left running", async () => {
  // The real start script; the build is replaced (the real one takes seconds), and the server by
  // one that says when it is up and what signal it got.
  const { scripts } = JSON.parse(readFileSync(path.join(REPO, "package.json"), "utf8")) as {
    scripts: Record<string, string>;
  };
  const root = fakePackage(
    `export async function main(argv, io) {
  const up = setInterval(() => {}, 1000);
  // listening for the signal before saying it is up, as the real server does (the other order
  // lost the race to a SIGTERM sent at once about one time in four)
  const got = new Promise((r) => process.once("SIGTERM", () => r("SIGTERM")));
  io.stdout.write(\`ready \${process.pid} \${argv.join(" ")}\\n\`);
  const signal = await got;
  clearInterval(up);
  io.stdout.write(\`stopped by \${signal}\\n\`);
  return 0;
}
`,
    { build: "node -e 0", start: scripts.start },
  );
  const npm = spawn("npm", ["start"], {
    cwd: root,
    env: { ...process.env, npm_config_update_notifier: "false", npm_config_loglevel: "error" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push(npm);
  const out = output(npm);
  const [, pid, args] = await out.waitFor(/ready (\d+) (.*)\n/);
  pids.push(Number(pid));
  expect(args).toBe("serve");
  npm.kill("SIGTERM");
  const end = await exited(npm);
  expect(out.text()).toContain("stopped by SIGTERM");
  expect(end).toEqual({ code: 0, signal: null });
  expect(alive(Number(pid))).toBe(false);
});

it("Ctrl-C (SIGINT to the launcher and the server at once): one graceful stop, exit 0, DATA_DIR unlocked", async () => {
  // The real launcher and the real `imgedit serve` (from source, through tsx).
  const root = fakePackage(
    `export { main } from ${JSON.stringify(pathToFileURL(path.join(REPO, "src/cli/main.ts")).href)};\n`,
  );
  const data = path.join(root, "data");
  const child = spawn(
    process.execPath,
    ["--import", "tsx", path.join(root, "bin", "imgedit.js"), "serve", "--port", "0"],
    {
      cwd: REPO,
      // A process group of its own, as a terminal gives a foreground job.
      detached: true,
      env: { ...process.env, DATA_DIR: data, LOG_LEVEL: "silent", WORKER_CONCURRENCY: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  started.push(child);
  pids.push(-(child.pid as number));
  const out = output(child);
  await out.waitFor(/imgedit listening on http:\/\/\S+/);
  expect(existsSync(path.join(data, "server.lock"))).toBe(true);
  process.kill(-(child.pid as number), "SIGINT");
  const end = await exited(child);
  expect(end, out.text()).toEqual({ code: 0, signal: null });
  expect(out.text().match(/SIGINT: stopping/g)).toHaveLength(1);
  expect(existsSync(path.join(data, "server.lock"))).toBe(false);
}, 30_000);

it("a server killed by a signal: the launcher exits 128 + its number, as a shell would report it", async () => {
  const root = fakePackage(`export async function main() {
  process.kill(process.pid, "SIGKILL");
  await new Promise(() => setInterval(() => {}, 1000));
}
`);
  // The launcher starts the CLI in a child of its own (for its start-up settings): that child dies.
  const child = spawn(process.execPath, [path.join(root, "bin", "imgedit.js"), "serve"], { stdio: "ignore" });
  started.push(child);
  expect(await exited(child)).toEqual({ code: 137, signal: null });
});
