// `imgedit serve [--port N] [--host H]`: run the whole service on this machine and print where it
// listens with a ready-to-paste curl example. SIGTERM/SIGINT stop it gracefully.
import os from "node:os";
import path from "node:path";
import { DataDirInUseError } from "../../adapters/local/data-lock.js";
import { type Config, loadConfig } from "../../config.js";
import { parseOptions } from "../args.js";
import { errnoCode, isSystemError, reason } from "../fs-errors.js";
import type { CliCommand } from "../main.js";

/** The settings of the AWS stores (config.ts), which this local server does not use. */
const AWS_STORES = ["S3_BUCKET", "GENERATED_IMAGES_BUCKET", "DYNAMODB_TABLE", "IMAGE_EDIT_SESSIONS_TABLE"];

/** Copies of one signal (the terminal's and the launcher's) arrive within this time. */
const SAME_SIGNAL_MS = 1000;

const command: CliCommand = {
  summary: "run the HTTP service (SQLite + files + worker threads)",
  usage: `
Usage: imgedit serve [--port N] [--host H]

Runs the API and the web page. Settings come from the environment (PORT, HOST, DATA_DIR,
JWT_SECRET, WORKER_CONCURRENCY, ...; see the README). --port and --host override PORT and HOST.
Stops gracefully on SIGTERM or SIGINT: running images finish (up to 10 s) or resume on the next start.`,
  async run(argv, io) {
    let values: { port?: string; host?: string };
    try {
      ({ values } = parseOptions({
        args: argv,
        options: { port: { type: "string", short: "p" }, host: { type: "string" } },
      }));
    } catch (e) {
      io.stderr.write(`imgedit serve: ${(e as Error).message}\n`);
      return 2;
    }
    if (values.port !== undefined && !(/^\d{1,5}$/.test(values.port.trim()) && Number(values.port) <= 65535)) {
      io.stderr.write(`imgedit serve: --port ${values.port}: give a port number 0-65535\n`);
      return 2;
    }
    // An empty HOST means the default; an empty --host is a mistake.
    if (values.host !== undefined && values.host.trim() === "") {
      io.stderr.write("imgedit serve: --host needs an address or a host name (127.0.0.1, 0.0.0.0, ...)\n");
      return 2;
    }
    // A ConfigError (PORT=abc) is printed by main on one line naming each bad variable, exit 2.
    const config = loadConfig({
      ...io.env,
      ...(values.port !== undefined ? { PORT: values.port } : {}),
      ...(values.host !== undefined ? { HOST: values.host } : {}),
    });
    // Its storage is SQLite and files in DATA_DIR, whatever else is set: a bucket or a table would
    // be ignored, and the results would sit on this machine while the operator looks in S3.
    const aws = AWS_STORES.filter((name) => io.env[name]?.trim());
    if (aws.length > 0) {
      io.stderr.write(
        `imgedit serve: ${aws.join(" and ")} ${aws.length > 1 ? "are" : "is"} set, but imgedit serve keeps sessions and files in DATA_DIR ${config.DATA_DIR} (SQLite and files); the S3 and DynamoDB settings are for the AWS functions (README: Running on AWS): unset them to serve from this machine\n`,
      );
      return 2;
    }
    const { startLocalServer } = await import("../../server.js");
    const { createLogger } = await import("../../logger.js");
    const logger = createLogger(config);
    let server: Awaited<ReturnType<typeof startLocalServer>>;
    try {
      server = await startLocalServer(config, { logger });
    } catch (e) {
      const problem = whyNotStarted(e, config);
      if (problem === undefined) throw e;
      // A setting this machine cannot honour (a port in use, a DATA_DIR it cannot write): exit 2.
      io.stderr.write(`imgedit serve: ${problem}\n`);
      return 2;
    }
    // A stray rejection is a bug to log, not a reason to drop every running edit.
    process.on("unhandledRejection", (reason) => logger.error({ err: reason }, "unhandled rejection"));
    // The stop is in place before anything is printed: whoever waits for the line below may send
    // SIGTERM at once. Ctrl-C reaches every process in the terminal's group: the launcher
    // (bin/imgedit.js), which forwards it, and this one, which so gets it twice (three times under
    // `npm start`). The first signal starts the stop; copies within a second are the same signal
    // and are ignored (Node's default would exit at once, skipping the graceful stop). A signal
    // sent later, while the stop waits for an image, exits now: the image resumes on the next start.
    const stopped = new Promise<void>((resolve) => {
      let stoppingSince: number | undefined;
      const stop = (signal: NodeJS.Signals) => {
        if (stoppingSince !== undefined) {
          if (Date.now() - stoppingSince < SAME_SIGNAL_MS) return;
          io.stderr.write(`imgedit: ${signal} again: exiting now (unfinished images resume on the next start)\n`);
          process.exit(128 + (os.constants.signals[signal] ?? 0));
        }
        stoppingSince = Date.now();
        io.stderr.write(`\nimgedit: ${signal}: stopping (running images finish or resume on the next start)...\n`);
        server.close().then(resolve, resolve);
      };
      const signals = ["SIGTERM", "SIGINT"] as const;
      for (const signal of signals) process.on(signal, stop);
    });
    const lines = [`imgedit listening on ${server.url}  (data in ${config.DATA_DIR}, ${config.mode} mode)`];
    if (server.auth.mode === "local") {
      const token = await server.token("local", 12 * 3600);
      lines.push(
        "",
        `Open ${server.url}/ in a browser, or try the API (token valid 12 h; mint more with \`imgedit token --user NAME\`):`,
        "",
        `  TOKEN=${token}`,
        // an upload works offline, where an example URL would not be fetched
        `  curl -s -X POST ${server.url}/uploads -H "Authorization: Bearer $TOKEN" -F file=@photo.jpg   # {"url":"upload:<id>",...}`,
        `  curl -s -X POST ${server.url}/image-edit \\`,
        `    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\`,
        `    -d '{"images":[{"url":"upload:<id>"}],"operation":{"type":"command","command":"resize to 800px and convert to webp"}}'`,
        `  curl -N "${server.url}/image-edit/progress/<sessionId>" -H "Authorization: Bearer $TOKEN"`,
      );
    } else {
      lines.push("Tokens are verified against JWKS_URL; send them as Authorization: Bearer <token>.");
    }
    io.stdout.write(`${lines.join("\n")}\n`);
    await stopped;
    return 0;
  },
};

export default command;

/** Why the service could not start, in words, for the failures a setting causes; else undefined. */
export function whyNotStarted(e: unknown, config: Pick<Config, "PORT" | "HOST" | "DATA_DIR">): string | undefined {
  if (e instanceof DataDirInUseError) return e.message;
  const code = errnoCode(e);
  const syscall = (e as { syscall?: unknown }).syscall;
  const where = `${config.HOST}:${config.PORT}`;
  if (code === "EADDRINUSE")
    return `port ${config.PORT} is in use on ${config.HOST} (another imgedit serve?); choose another with --port or PORT`;
  if (code === "EADDRNOTAVAIL")
    return `this machine has no address ${config.HOST} (--host or HOST); use 127.0.0.1, 0.0.0.0 (every address) or one of its own`;
  if ((code === "EACCES" || code === "EPERM") && syscall === "listen")
    return `no permission to listen on ${where}${config.PORT < 1024 ? " (ports below 1024 need privileges)" : ""}`;
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || syscall === "getaddrinfo")
    return `cannot resolve the host name ${config.HOST} (--host or HOST)`;
  if (isSystemError(e) && (e.path ? within(e.path, config.DATA_DIR) : FILE_CALLS.has(e.syscall ?? ""))) {
    // mkdir on a file: "already exists" would not say what is wrong.
    const why = code === "EEXIST" && syscall === "mkdir" ? "not a directory" : reason(e);
    // Start-up touches no file outside DATA_DIR; some calls (read) do not say which file.
    return `cannot use DATA_DIR ${config.DATA_DIR}: ${why} (${e.syscall}${e.path ? ` ${e.path}` : ""})`;
  }
  // better-sqlite3: SQLITE_CANTOPEN, SQLITE_READONLY...
  if (code?.startsWith("SQLITE_"))
    return `cannot open the database in DATA_DIR ${config.DATA_DIR}: ${(e as Error).message} (${code})`;
  return undefined;
}

/** File-system calls, whose error may not name the file (a read names none). */
const FILE_CALLS = new Set([
  "open",
  "read",
  "write",
  "close",
  "fsync",
  "mkdir",
  "rename",
  "unlink",
  "rmdir",
  "stat",
  "lstat",
  "fstat",
  "scandir",
  "link",
  "symlink",
  "chmod",
]);

/** Whether one path is inside the other (a failed mkdir may name DATA_DIR or a parent of it). */
function within(a: string, b: string): boolean {
  const [x, y] = [path.resolve(a), path.resolve(b)];
  return x === y || x.startsWith(`${y}${path.sep}`) || y.startsWith(`${x}${path.sep}`);
}
