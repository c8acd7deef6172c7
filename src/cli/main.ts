// The `imgedit` command: a dispatcher; each subcommand lives in ./commands/<name>.ts and is
// loaded only when used, so `imgedit parse` never pays for sharp or the server.
import { pathToFileURL } from "node:url";

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

const COMMANDS = ["edit", "parse", "info", "serve", "token", "cost", "bench"] as const;

async function load(name: string): Promise<CliCommand | undefined> {
  if (!(COMMANDS as readonly string[]).includes(name)) return undefined;
  const mod = (await import(`./commands/${name}.js`)) as { default: CliCommand };
  return mod.default;
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

export async function main(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    await help(io);
    return name ? 0 : 2;
  }
  if (name === "--version" || name === "-v") {
    io.stdout.write("imgedit 0.1.0\n");
    return 0;
  }
  const cmd = await load(name);
  if (!cmd) {
    io.stderr.write(`imgedit: unknown command "${name}". Commands: ${COMMANDS.join(", ")}\n`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stdout.write(`${cmd.usage.trim()}\n`);
    return 0;
  }
  return cmd.run(rest, io);
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
