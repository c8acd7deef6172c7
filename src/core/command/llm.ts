// Optional LLM planner for commands the grammar rejects: one OpenAI-compatible chat-completions
// call with a single forced function tool whose parameters are the catalog's plan JSON Schema.
// The answer is validated with the same zod PlanSchema as every other plan; anything else
// (HTTP error, timeout, garbage, no tool call, an invalid plan) is a typed LLM_FAILED error.
import type { Config } from "../../config.js";
import { ImageEditError } from "../errors.js";
import { catalog, describeOperation, type Operation, PlanSchema, planJsonSchema } from "../operations.js";
import { planIssues } from "../plan.js";
import { hostText } from "../remote-text.js";

export interface LlmSettings {
  /** e.g. http://127.0.0.1:11434/v1 (the path before /chat/completions). */
  baseUrl: string;
  apiKey?: string;
  model: string;
  timeoutMs: number;
}

/** LLM settings from configuration; undefined (planner off) unless LLM_BASE_URL and LLM_MODEL are set. */
export function llmSettingsFromConfig(
  config: Pick<Config, "LLM_BASE_URL" | "LLM_API_KEY" | "LLM_MODEL" | "LLM_TIMEOUT_MS">,
): LlmSettings | undefined {
  if (!config.LLM_BASE_URL || !config.LLM_MODEL) return undefined;
  return {
    baseUrl: config.LLM_BASE_URL,
    apiKey: config.LLM_API_KEY,
    model: config.LLM_MODEL,
    timeoutMs: config.LLM_TIMEOUT_MS,
  };
}

export const LLM_TOOL_NAME = "edit_plan";
const MAX_ANSWER_BYTES = 1_000_000;

function withoutSchemaKey(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _, ...rest } = schema;
  return rest;
}

/** The one function tool: {operations: plan}, parameters derived from the catalog. */
export function llmTool(): Record<string, unknown> {
  return {
    type: "function",
    function: {
      name: LLM_TOOL_NAME,
      description: "Apply an image edit: a list of operations run in order, each {op, ...params}.",
      parameters: {
        type: "object",
        properties: { operations: withoutSchemaKey(planJsonSchema()) },
        required: ["operations"],
        additionalProperties: false,
      },
    },
  };
}

function systemPrompt(): string {
  const lines = catalog.map((d) => `- ${d.name}: ${d.summary}`);
  return [
    "You turn an image-editing request into a plan for the edit_plan tool.",
    "Use only these operations, in the order the user wants them applied:",
    ...lines,
    "Colours are names or hex (#ff8800). Positions: center, top, bottom, left, right, top-left, top-right, bottom-left, bottom-right.",
    "Always answer by calling edit_plan.",
  ].join("\n");
}

function fail(message: string, cause?: unknown, retryable = false): ImageEditError {
  return new ImageEditError("LLM_FAILED", `LLM planner: ${message}`, { cause, retryable });
}

/** Asks the endpoint for a plan. Throws ImageEditError LLM_FAILED with a specific message. */
export async function planWithLlm(
  text: string,
  settings: LlmSettings,
  signal?: AbortSignal,
): Promise<{ plan: Operation[]; steps: string[] }> {
  const url = `${settings.baseUrl.replace(/\/+$/u, "")}/chat/completions`;
  const timeout = AbortSignal.timeout(settings.timeoutMs);
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json" };
  if (settings.apiKey) headers.authorization = `Bearer ${settings.apiKey}`;
  const body = {
    model: settings.model,
    temperature: 0,
    messages: [
      { role: "system", content: systemPrompt() },
      { role: "user", content: text },
    ],
    tools: [llmTool()],
    tool_choice: { type: "function", function: { name: LLM_TOOL_NAME } },
  };
  let raw: string;
  let status: number;
  try {
    const res = await fetch(url, {
      method: "POST",
      headers,
      body: JSON.stringify(body),
      signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
      redirect: "error",
    });
    status = res.status;
    raw = await res.text();
  } catch (e) {
    if (timeout.aborted) throw fail(`no answer within ${settings.timeoutMs} ms`, e, true);
    if (signal?.aborted) throw fail("cancelled", e);
    throw fail(`request to ${url} failed: ${e instanceof Error ? e.message : String(e)}`, e, true);
  }
  if (status < 200 || status > 299)
    throw fail(
      // One line of it (an HTML error page's line breaks become spaces), no control characters.
      `the endpoint answered HTTP ${status}: ${hostText(raw.replace(/\s+/g, " ").trim(), 200)}`,
      undefined,
      status >= 500 || status === 429,
    );
  if (raw.length > MAX_ANSWER_BYTES) throw fail("the answer is too large");
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    throw fail(`the answer is not JSON: ${raw.slice(0, 100)}`, e);
  }
  const message = (json as { choices?: { message?: Record<string, unknown> }[] })?.choices?.[0]?.message;
  const calls = message?.tool_calls as { function?: { name?: string; arguments?: unknown } }[] | undefined;
  const call = calls?.find((c) => c.function?.name === LLM_TOOL_NAME) ?? calls?.[0];
  if (!call?.function) {
    const said = typeof message?.content === "string" ? `: ${message.content.slice(0, 200)}` : "";
    throw fail(`the answer has no ${LLM_TOOL_NAME} tool call${said}`);
  }
  let args: unknown = call.function.arguments;
  if (typeof args === "string") {
    try {
      args = JSON.parse(args);
    } catch (e) {
      throw fail("the tool call arguments are not JSON", e);
    }
  }
  const operations = Array.isArray(args) ? args : (args as { operations?: unknown })?.operations;
  const parsed = PlanSchema.safeParse(operations);
  if (!parsed.success) {
    const [issue] = planIssues(parsed.error.issues, operations);
    throw fail(`the plan it proposed is not valid: ${issue.field}: ${issue.message}`);
  }
  return { plan: parsed.data, steps: parsed.data.map((op) => describeOperation(op)) };
}
