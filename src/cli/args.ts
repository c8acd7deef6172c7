// Command-line options for every `imgedit` command: node:util's parseArgs (strict), plus what it
// lets pass or words badly. An option that takes a value given twice is refused: parseArgs keeps
// the last one, so `-c grayscale -c "rotate 90"` would drop the first edit without a word.
import { type ParseArgsConfig, parseArgs } from "node:util";
import { editDistance } from "../core/command/distance.js";

/** A command line that cannot be understood: the command prints the message and exits 2. */
export class ArgsError extends Error {}

type Options = NonNullable<ParseArgsConfig["options"]>;
type Token = { kind: string; name?: string; value?: string; index?: number; inlineValue?: boolean };

export function parseOptions<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  const options: Options = config.options ?? {};
  let parsed: { tokens?: Token[] };
  try {
    parsed = parseArgs({
      args: config.args ?? [],
      options,
      allowPositionals: config.allowPositionals ?? false,
      strict: true,
      tokens: true,
    });
  } catch (e) {
    throw new ArgsError(plainMessage(e, options, config.allowPositionals ?? false));
  }
  const given = new Map<string, string>();
  const args = config.args ?? [];
  for (const token of (parsed.tokens ?? []) as Token[]) {
    if (token.kind !== "option" || token.name === undefined) continue;
    const option = options[token.name];
    if (option?.type !== "string" || option.multiple) continue;
    const before = given.get(token.name);
    if (before !== undefined) {
      // "-file.png" reads as -f with the value "ile.png": more likely a file than a second -f.
      const arg = token.index === undefined ? undefined : args[token.index];
      const file =
        config.allowPositionals && token.inlineValue && arg !== undefined && !arg.startsWith("--")
          ? ` (a file whose name starts with "-" goes after "--": -- ${arg})`
          : "";
      throw new ArgsError(
        `${optionName(token.name, option.short)} is given twice (${JSON.stringify(before)} and ${JSON.stringify(token.value ?? "")}): give it once${file}`,
      );
    }
    given.set(token.name, token.value ?? "");
  }
  return parsed as unknown as ReturnType<typeof parseArgs<T>>;
}

/** The arguments before a `--`: after it everything is a file or a word, even `--help`. */
export function beforeDashDash(argv: string[]): string[] {
  const end = argv.indexOf("--");
  return end === -1 ? argv : argv.slice(0, end);
}

function optionName(name: string, short: string | undefined): string {
  return short ? `-${short}/--${name}` : `--${name}`;
}

/**
 * parseArgs' messages, plainer: its unknown-option text suggests quoting the option after `--`
 * (with an unbalanced quote), which is no help for a mistyped `--ouptut`.
 */
function plainMessage(e: unknown, options: Options, files: boolean): string {
  const message = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: unknown }).code;
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const option = /Unknown option '([^']*)'/.exec(message)?.[1] ?? message;
    const near = nearestOption(option, options);
    if (near) return `unknown option ${option} (did you mean --${near}?)`;
    return files
      ? `unknown option ${option} (a file whose name starts with "-" goes after "--": -- ${option})`
      : `unknown option ${option}`;
  }
  // "-q -5": parseArgs' three lines ("argument is ambiguous. Did you forget...") as one.
  const ambiguous = /^Option '([^']*)' argument is ambiguous/.exec(message);
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && ambiguous) {
    const written = ambiguous[1];
    const long = written.startsWith("--")
      ? written
      : `--${Object.entries(options).find(([, o]) => `-${o.short}` === written)?.[0] ?? written.slice(1)}`;
    return `${written} needs a value; one that starts with "-" is written ${long}=-VALUE`;
  }
  return message.replace(/\s*\n\s*/g, " ");
}

function nearestOption(written: string, options: Options): string | undefined {
  return nearestName(written, Object.keys(options));
}

/** The known long option (without "--") nearest to a mistyped `--name` or `--name=value`. */
export function nearestName(written: string, names: readonly string[]): string | undefined {
  if (!written.startsWith("--")) return undefined;
  const name = written.slice(2).split("=")[0].toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const known of names) {
    const distance = editDistance(name, known);
    if (distance <= 2 && (!best || distance < best.distance)) best = { name: known, distance };
  }
  return best?.name;
}
