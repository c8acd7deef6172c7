// Plain English -> plan. parseCommand is the deterministic grammar (pure, sync, never throws);
// planCommand adds the optional LLM planner for commands the grammar rejects.
import { isImageEditError } from "../errors.js";
import { type LlmSettings, planWithLlm } from "./llm.js";
import { type ParseResult, parseCommand } from "./parser.js";

export { COMBINED_EXAMPLES, EXAMPLES } from "./examples.js";
export { type LlmSettings, llmSettingsFromConfig, llmTool, planWithLlm } from "./llm.js";
export { type CommandError, MAX_COMMAND_LENGTH, type ParseResult, parseCommand, type UnknownWord } from "./parser.js";

export type PlanResult = ParseResult & {
  source?: "grammar" | "llm";
  /** Set when the grammar failed and the LLM planner was tried and failed too. */
  llmError?: { code: "LLM_FAILED"; message: string };
};

/** Grammar first; the LLM only when the grammar fails and settings are given. Never throws. */
export async function planCommand(
  text: string,
  opts: { llm?: LlmSettings; signal?: AbortSignal } = {},
): Promise<PlanResult> {
  const grammar = parseCommand(text);
  if (grammar.ok || !opts.llm || typeof text !== "string" || text.trim() === "")
    return { ...grammar, source: "grammar" };
  // too long for the grammar is too long for the LLM as well
  if (grammar.error.message.startsWith("the command is too long")) return { ...grammar, source: "grammar" };
  try {
    const { plan, steps } = await planWithLlm(text, opts.llm, opts.signal);
    return { ok: true, plan, steps, source: "llm" };
  } catch (e) {
    const message = isImageEditError(e) ? e.message : `LLM planner: ${e instanceof Error ? e.message : String(e)}`;
    return {
      ok: false,
      error: { ...grammar.error, message: `${grammar.error.message} (${message})` },
      source: "grammar",
      llmError: { code: "LLM_FAILED", message },
    };
  }
}
