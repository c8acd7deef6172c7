// The LLM planner against a small OpenAI-compatible server on loopback (real HTTP, scripted answers).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import parse from "../../src/cli/commands/parse.js";
import { loadConfig } from "../../src/config.js";
import { type LlmSettings, llmSettingsFromConfig, planCommand, planWithLlm } from "../../src/core/command/index.js";
import { LLM_TOOL_NAME } from "../../src/core/command/llm.js";
import { isImageEditError } from "../../src/core/errors.js";

type Script = (req: IncomingMessage, body: Record<string, unknown>, res: ServerResponse) => void;

interface Seen {
  url?: string;
  auth?: string;
  body: Record<string, unknown>;
}

let server: Server;
let baseUrl: string;
let script: Script;
const seen: Seen[] = [];

function toolAnswer(args: unknown): Script {
  return (_req, _body, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        id: "chatcmpl-1",
        object: "chat.completion",
        choices: [
          {
            index: 0,
            finish_reason: "tool_calls",
            message: {
              role: "assistant",
              content: null,
              tool_calls: [
                {
                  id: "call_1",
                  type: "function",
                  function: { name: LLM_TOOL_NAME, arguments: typeof args === "string" ? args : JSON.stringify(args) },
                },
              ],
            },
          },
        ],
      }),
    );
  };
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        body = {};
      }
      seen.push({ url: req.url, auth: req.headers.authorization, body });
      script(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  seen.length = 0;
});

const settings = (over: Partial<LlmSettings> = {}): LlmSettings => ({
  baseUrl,
  apiKey: "sk-test",
  model: "test-model",
  timeoutMs: 2000,
  ...over,
});

async function llmError(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (isImageEditError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error("expected the LLM planner to fail");
}

describe("LLM planner", () => {
  it("posts one forced tool call to /chat/completions and returns the validated plan", async () => {
    script = toolAnswer({ operations: [{ op: "resize", width: 640 }, { op: "sepia" }] });
    const r = await planWithLlm("make it look like an old movie still", settings());
    expect(r.plan).toEqual([{ op: "resize", width: 640, fit: "inside", withoutEnlargement: false }, { op: "sepia" }]);
    expect(r.steps).toEqual(["Resize to fit 640xauto", "Apply a sepia tone"]);
    expect(seen).toHaveLength(1);
    expect(seen[0].url).toBe("/v1/chat/completions");
    expect(seen[0].auth).toBe("Bearer sk-test");
    const body = seen[0].body as {
      model: string;
      messages: { role: string; content: string }[];
      tools: { type: string; function: { name: string; parameters: Record<string, unknown> } }[];
      tool_choice: unknown;
    };
    expect(body.model).toBe("test-model");
    expect(body.messages.at(-1)).toEqual({ role: "user", content: "make it look like an old movie still" });
    expect(body.tools).toHaveLength(1);
    expect(body.tools[0].function.name).toBe(LLM_TOOL_NAME);
    const params = body.tools[0].function.parameters as {
      properties: { operations: { type: string; items: { oneOf: unknown[] } } };
    };
    expect(params.properties.operations.type).toBe("array");
    expect(params.properties.operations.items.oneOf.length).toBeGreaterThan(20);
    expect(body.tool_choice).toEqual({ type: "function", function: { name: LLM_TOOL_NAME } });
  });

  it("rejects a plan that does not validate, naming the field", async () => {
    script = toolAnswer({ operations: [{ op: "rotate", angle: "ninety" }] });
    const e = await llmError(planWithLlm("rotate it", settings()));
    expect(e.code).toBe("LLM_FAILED");
    expect(e.message).toContain("not valid");
    expect(e.message).toContain("operations[0].angle: ");
  });

  it("rejects an unknown parameter, naming it as a field and what the operation takes", async () => {
    script = toolAnswer({ operations: [{ op: "blur", radius: 3 }] });
    const e = await llmError(planWithLlm("blur it", settings()));
    expect(e.message).toContain('operations[0].radius: blur has no parameter "radius" (its parameters: sigma)');
  });

  it("rejects an operation the catalog does not have", async () => {
    script = toolAnswer({ operations: [{ op: "teleport" }] });
    const e = await llmError(planWithLlm("teleport it", settings()));
    expect(e.message).toContain("not valid");
  });

  it("reports an HTTP 500 with its status", async () => {
    script = (_req, _body, res) => {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end("upstream exploded");
    };
    const e = await llmError(planWithLlm("whatever", settings()));
    expect(e.code).toBe("LLM_FAILED");
    expect(e.message).toContain("HTTP 500");
    expect(e.message).toContain("upstream exploded");
  });

  it("quotes an HTML error page on one line", async () => {
    script = (_req, _body, res) => {
      res.writeHead(502, { "content-type": "text/html" });
      res.end("<html>\n  <body>\r\n    <h1>502 Bad Gateway</h1>\n  </body>\n</html>\n");
    };
    const e = await llmError(planWithLlm("whatever", settings()));
    expect(e.message).toContain("HTTP 502: <html> <body> <h1>502 Bad Gateway</h1> </body> </html>");
    expect(e.message).not.toMatch(/[\r\n]/);
  });

  it("gives up after the timeout when the endpoint hangs", async () => {
    script = () => {
      /* never answers */
    };
    const e = await llmError(planWithLlm("whatever", settings({ timeoutMs: 300 })));
    expect(e.code).toBe("LLM_FAILED");
    expect(e.message).toContain("no answer within 300 ms");
  });

  it("reports an answer that is not JSON", async () => {
    script = (_req, _body, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end("<html>definitely not json</html>");
    };
    const e = await llmError(planWithLlm("whatever", settings()));
    expect(e.message).toContain("not JSON");
  });

  it("reports an answer without a tool call, quoting what the model said", async () => {
    script = (_req, _body, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ choices: [{ message: { role: "assistant", content: "I cannot do that." } }] }));
    };
    const e = await llmError(planWithLlm("whatever", settings()));
    expect(e.message).toContain("no edit_plan tool call");
    expect(e.message).toContain("I cannot do that.");
  });

  it("reports tool arguments that are not JSON", async () => {
    script = toolAnswer("{operations: [oops");
    const e = await llmError(planWithLlm("whatever", settings()));
    expect(e.message).toContain("arguments are not JSON");
  });

  it("reports an endpoint that refuses connections", async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const e = await llmError(planWithLlm("whatever", settings({ baseUrl: `http://127.0.0.1:${port}/v1` })));
    expect(e.message).toContain("failed");
  });
});

describe("planCommand", () => {
  it("uses the grammar first and never calls the LLM when it understands", async () => {
    script = toolAnswer({ operations: [{ op: "negate" }] });
    const r = await planCommand("rotate 90 degrees", { llm: settings() });
    expect(r).toMatchObject({ ok: true, source: "grammar", plan: [{ op: "rotate", angle: 90 }] });
    expect(seen).toHaveLength(0);
  });

  it("asks the LLM when the grammar fails, and says so", async () => {
    script = toolAnswer({
      operations: [
        { op: "contrast", factor: 1.4 },
        { op: "saturation", factor: 1.3 },
      ],
    });
    const r = await planCommand("make it pop like a magazine cover", { llm: settings() });
    expect(r.ok).toBe(true);
    expect(r.source).toBe("llm");
    if (r.ok) expect(r.plan.map((o) => o.op)).toEqual(["contrast", "saturation"]);
    expect(seen).toHaveLength(1);
  });

  it("without LLM settings, returns the grammar's explanation", async () => {
    const r = await planCommand("make it pop like a magazine cover");
    expect(r.ok).toBe(false);
    expect(r.source).toBe("grammar");
    expect(seen).toHaveLength(0);
  });

  it("when both fail, keeps the grammar's words and adds the LLM's reason", async () => {
    script = (_req, _body, res) => {
      res.writeHead(503);
      res.end("overloaded");
    };
    const r = await planCommand("make it glow", { llm: settings() });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.unknown.map((u) => u.word)).toEqual(["glow"]);
    expect(r.error.message).toContain("HTTP 503");
    expect(r.llmError?.code).toBe("LLM_FAILED");
  });
});

describe("imgedit parse with an LLM configured", () => {
  it("shows a plan the LLM made, marked as such", async () => {
    script = toolAnswer({ operations: [{ op: "vignette", sigma: 12 }] });
    let out = "";
    const stdout = new PassThrough();
    stdout.on("data", (c) => {
      out += c;
    });
    const env = { LLM_BASE_URL: baseUrl, LLM_MODEL: "test-model", LLM_TIMEOUT_MS: "2000" };
    const code = await parse.run(["give it a moody film look"], { stdout, stderr: new PassThrough(), env });
    expect(code).toBe(0);
    expect(out).toContain('"source": "llm"');
    expect(out).toContain("(planned by the LLM)");
    expect(out).toContain("1. Vignette (sigma 12)");
    expect(seen).toHaveLength(1);
    expect(seen[0].auth).toBeUndefined();
  });

  it("--grammar-only never calls it", async () => {
    const code = await parse.run(["give it a moody film look", "--grammar-only"], {
      stdout: new PassThrough(),
      stderr: new PassThrough(),
      env: { LLM_BASE_URL: baseUrl, LLM_MODEL: "test-model" },
    });
    expect(code).toBe(2);
    expect(seen).toHaveLength(0);
  });
});

describe("llmSettingsFromConfig", () => {
  it("is off unless a base URL and a model are configured", () => {
    expect(llmSettingsFromConfig(loadConfig({}))).toBeUndefined();
    expect(llmSettingsFromConfig(loadConfig({ LLM_BASE_URL: "http://127.0.0.1:1/v1" }))).toBeUndefined();
    expect(
      llmSettingsFromConfig(
        loadConfig({ LLM_BASE_URL: "http://127.0.0.1:1/v1", LLM_MODEL: "m", LLM_API_KEY: "k", LLM_TIMEOUT_MS: "1500" }),
      ),
    ).toEqual({ baseUrl: "http://127.0.0.1:1/v1", model: "m", apiKey: "k", timeoutMs: 1500 });
  });
});
