// The `imgedit` command: a dispatcher; each subcommand lives in ./commands/<name>.ts and is
// loaded only when used, so `imgedit parse` never pays for sharp or the server.
import { pathToFileURL } from "node:url";
import { beforeDashDash } from "./args.js";
import { describeUnexpected, errnoCode, reason } from "./fs-errors.js";
import { printable } from "./printable.js";

export interface CliCommand {
  summary: string;
  usage: string;
  /** Returns the process exit code. */
  run(argv: string[], io: CliIO): Promise<number>;
}

export interface CliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: Record<string, string | undefined>;
}

// Static imports, each behind a function: still loaded only when used, and resolvable by bundlers
// and by vitest (which cannot resolve a computed `./commands/${name}.js` to its .ts source).
const LOADERS = {
  edit: () => import("./commands/edit.js"),
  parse: () => import("./commands/parse.js"),
  info: () => import("./commands/info.js"),
  serve: () => import("./commands/serve.js"),
  token: () => import("./commands/token.js"),
  cost: () => import("./commands/cost.js"),
  bench: () => import("./commands/bench.js"),
} satisfies Record<string, () => Promise<{ default: CliCommand }>>;
const COMMANDS = Object.keys(LOADERS) as (keyof typeof LOADERS)[];

async function load(name: string): Promise<CliCommand | undefined> {
  if (!Object.hasOwn(LOADERS, name)) return undefined;
  return (await LOADERS[name as keyof typeof LOADERS]()).default;
}

async function help(io: CliIO): Promise<void> {
  const lines = [
    "imgedit — edit images with plain-English commands or JSON plans",
    "",
    "Usage: imgedit <command> [options]",
    "",
    "Commands:",
  ];
  for (const name of COMMANDS) {
    const cmd = await load(name).catch(() => undefined);
    if (cmd) lines.push(`  ${name.padEnd(8)} ${cmd.summary}`);
  }
  lines.push("", "Run `imgedit <command> --help` for a command's options.");
  io.stdout.write(`${lines.join("\n")}\n`);
}

/** The exit status when the output's reader has gone (`imgedit info * | head -1`): 128 + SIGPIPE. */
export const EXIT_CLOSED_PIPE = 141;

/**
 * The output streams' write errors, which would otherwise be an unhandled 'error' event and a
 * stack trace: a closed pipe ends the output quietly; anything else (a full disk) is said in one
 * line. What the command still writes is dropped. `failure()` is the exit status they call for.
 */
function watchOutput(io: CliIO): { failure: () => Promise<number | undefined> } {
  let code: number | undefined;
  const onError = (e: unknown) => {
    if (code !== undefined) return;
    code = errnoCode(e) === "EPIPE" ? EXIT_CLOSED_PIPE : 1;
    if (code === 1) io.stderr.write(`imgedit: cannot write the output: ${reason(e)}\n`);
  };
  io.stdout.on("error", onError);
  io.stderr.on("error", onError);
  return {
    // A failed write is reported a turn later: the command's last line may still fail.
    failure: () => new Promise((resolve) => setImmediate(() => resolve(code))),
  };
}

export async function main(argv: string[], io: CliIO): Promise<number> {
  const output = watchOutput(io);
  const code = await dispatch(argv, io);
  return (await output.failure()) ?? code;
}

async function dispatch(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  // `imgedit help edit` is `imgedit edit --help`; `imgedit help nosuch` is `imgedit nosuch`.
  if (name === "help" && rest[0] !== undefined) {
    const topic = await load(rest[0]);
    if (!topic) return unknownCommand(rest[0], io);
    io.stdout.write(`${topic.usage.trim()}\n`);
    return 0;
  }
  if (!name || name === "--help" || name === "-h" || name === "help") {
    await help(io);
    return name ? 0 : 2;
  }
  if (name === "--version" || name === "-v") {
    io.stdout.write("imgedit 0.1.0\n");
    return 0;
  }
  const cmd = await load(name);
  if (!cmd) return unknownCommand(name, io);
  // After `--` a "-h" is a file or a word (`imgedit info -- -h`), not a request for help.
  const options = beforeDashDash(rest);
  if (options.includes("--help") || options.includes("-h")) {
    io.stdout.write(`${cmd.usage.trim()}\n`);
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    // What a command did not handle itself: one line, never an unhandled rejection (the launcher
    // in bin/ awaits this). A stack only for what is a bug, not for a bad setting or a file error.
    const { ConfigError } = await import("../config.js");
    if (e instanceof ConfigError) {
      io.stderr.write(`imgedit ${name}: ${e.message}\n`);
      return 2;
    }
    const { message, bug } = describeUnexpected(e);
    io.stderr.write(`imgedit ${name}: ${printable(bug ? `internal error: ${message}` : message)}\n`);
    return 1;
  }
}

function unknownCommand(name: string, io: CliIO): number {
  io.stderr.write(`imgedit: unknown command "${printable(name)}". Commands: ${COMMANDS.join(", ")}\n`);
  return 2;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`imgedit: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
