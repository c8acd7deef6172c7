// `imgedit parse "<command>"`: show the plan a plain-English command gives, without running it.
import { type Config, ConfigError, loadConfig } from "../../config.js";
import type { CommandError, planCommand } from "../../core/command/index.js";
import { isImageEditError } from "../../core/errors.js";
import { type Limits, limitsFromConfig } from "../../core/limits.js";
import { validatePlan } from "../../core/plan.js";
import { parseOptions } from "../args.js";
import type { CliCommand, CliIO } from "../main.js";
import { printable } from "../printable.js";

const usage = `
Usage: imgedit parse "<command>" [--json] [--grammar-only]

Turn a plain-English edit into a plan and print it: the plan as JSON, then the steps as a
numbered list. Nothing is read or written. Words may also be given unquoted:
imgedit parse rotate 90 degrees and convert to webp

Options:
  --json           print only JSON: {"ok":true,"plan":[...],"steps":[...],"source":"grammar"}
                   or {"ok":false,"error":{"code","message","unknown":[{word,start,end}],"suggestions"}}
  --grammar-only   never ask the LLM planner (used only when LLM_BASE_URL and LLM_MODEL are set)
  -h, --help       this help

Exit status: 0 understood; 2 not understood (the words not understood are marked), a plan over
the limits (more steps than MAX_OPERATIONS), or bad usage.

Examples:
  imgedit parse "resize to 800px and make it black and white"
  imgedit parse "rotate 90 degrees clockwise then convert to webp at 80% quality" --json
`;

/**
 * The command with the words not understood underlined: "rotate 90 frobs" / "          ^^^^^".
 * The command is printed as printable() shows it (a line break as \n, no terminal escapes), and
 * the marks are placed by what is printed: the words' start and end count UTF-16 units, a
 * terminal counts columns (an emoji or a CJK character takes two, an escape its four).
 */
export function markUnknown(text: string, error: Pick<CommandError, "unknown">): string {
  if (error.unknown.length === 0) return "";
  let line = "";
  let marks = "";
  let at = 0;
  for (const c of text) {
    const shown = printable(c);
    const unknown = error.unknown.some((u) => at >= u.start && at < u.end);
    line += shown;
    // An escape ("\n", "\x1b") is plain ASCII: a column a character.
    marks += (unknown ? "^" : " ").repeat(shown === c ? columns(c) : shown.length);
    at += c.length;
  }
  return `  ${line}\n  ${marks.trimEnd()}\n`;
}

/** Columns a terminal gives a character: two for emoji and East Asian wide ones, none for a combining mark. */
function columns(s: string): number {
  if (/^[\p{Mn}\p{Me}\p{Cf}]$/u.test(s)) return 0; // combining marks, zero-width joiners, selectors
  if (/^\p{Emoji_Presentation}$/u.test(s)) return 2;
  const cp = s.codePointAt(0) ?? 0;
  const wide =
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x20000 && cp <= 0x3fffd);
  return wide ? 2 : 1;
}

const parse: CliCommand = {
  summary: "show the plan a plain-English command gives",
  usage,
  async run(argv: string[], io: CliIO): Promise<number> {
    let values: { json?: boolean; "grammar-only"?: boolean };
    let positionals: string[];
    try {
      ({ values, positionals } = parseOptions({
        args: argv,
        options: { json: { type: "boolean" }, "grammar-only": { type: "boolean" } },
        allowPositionals: true,
      }));
    } catch (e) {
      io.stderr.write(`imgedit parse: ${e instanceof Error ? e.message : String(e)}\n${usage}`);
      return 2;
    }
    const text = positionals.join(" ");
    if (text.trim() === "") {
      io.stderr.write(`imgedit parse: give the command to parse, e.g. imgedit parse "resize to 800px"\n`);
      return 2;
    }
    const { planCommand, llmSettingsFromConfig } = await import("../../core/command/index.js");
    let config: Config;
    try {
      config = loadConfig(io.env);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      io.stderr.write(`imgedit parse: ${e.message}\n`);
      return 2;
    }
    const llm = values["grammar-only"] ? undefined : llmSettingsFromConfig(config);
    const planned = await planCommand(text, { llm });
    // A plan the limits refuse (more than MAX_OPERATIONS steps) is refused here too, as by
    // `imgedit edit`, `POST /image-edit/parse` and `POST /image-edit`: a dry run says what a run would.
    const result = planned.ok ? withinLimits(planned, limitsFromConfig(config)) : planned;
    if (!result.ok) {
      // --json: the JSON (which holds the message, the unknown words and the suggestions) is the
      // whole answer; stderr stays empty, so a caller can capture both without parsing prose.
      if (values.json) {
        io.stdout.write(`${JSON.stringify({ ok: false, error: result.error }, null, 2)}\n`);
        return 2;
      }
      // One line: the message may quote an LLM endpoint's error page.
      io.stderr.write(`imgedit parse: ${printable(result.error.message)}\n${markUnknown(text, result.error)}`);
      if (result.error.suggestions.length) io.stderr.write(`  did you mean: ${result.error.suggestions.join(", ")}\n`);
      return 2;
    }
    const json = JSON.stringify({ ok: true, plan: result.plan, steps: result.steps, source: result.source }, null, 2);
    io.stdout.write(`${json}\n`);
    if (!values.json) {
      const list = result.steps.map((s, i) => `  ${i + 1}. ${s}`).join("\n");
      io.stdout.write(`\nSteps${result.source === "llm" ? " (planned by the LLM)" : ""}:\n${list}\n`);
    }
    return 0;
  },
};

export default parse;

type Planned = Extract<Awaited<ReturnType<typeof planCommand>>, { ok: true }>;
type Refused = {
  ok: false;
  error: { code: string; message: string; unknown: CommandError["unknown"]; suggestions: string[] };
};

function withinLimits(planned: Planned, limits: Limits): Planned | Refused {
  try {
    validatePlan(planned.plan, limits);
    return planned;
  } catch (e) {
    if (!isImageEditError(e)) throw e;
    return { ok: false, error: { code: e.code, message: e.message, unknown: [], suggestions: [] } };
  }
}
