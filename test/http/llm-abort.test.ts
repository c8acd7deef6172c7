// A client that leaves while a model plans its command cancels the model's request: the request's
// abort signal reaches the LLM call through the HTTP app, on Node.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startService, type TestService } from "./harness.js";

describe("a model asked to plan a command", () => {
  let llm: Server;
  let svc: TestService;
  let arrived: (req: IncomingMessage) => void;
  beforeAll(async () => {
    // Never answers: only a client leaving (or the timeout, 30 s here) ends its requests.
    llm = createServer((req) => arrived(req));
    await new Promise<void>((r) => llm.listen(0, "127.0.0.1", r));
    const port = (llm.address() as AddressInfo).port;
    svc = await startService({
      LLM_BASE_URL: `http://127.0.0.1:${port}/v1`,
      LLM_MODEL: "test-model",
      LLM_TIMEOUT_MS: "30000",
    });
  });
  afterAll(async () => {
    await svc?.close();
    llm.closeAllConnections();
    await new Promise((r) => llm.close(() => r(undefined)));
  });

  it.each(["/image-edit/parse", "/image-edit"])("%s: the client leaving cancels the model's request", async (route) => {
    const reqArrived = new Promise<IncomingMessage>((r) => {
      arrived = r;
    });
    const client = new AbortController();
    const body =
      route === "/image-edit/parse"
        ? { command: "give it a moody film look" }
        : {
            images: [{ url: "http://127.0.0.1:9/a.png" }],
            operation: { type: "command", command: "give it a moody film look" },
          };
    const res = svc.api(route, { method: "POST", body: JSON.stringify(body), signal: client.signal });
    res.catch(() => undefined);
    const modelReq = await reqArrived;
    const started = Date.now();
    const closed = new Promise<void>((r) => modelReq.on("close", () => r()));
    client.abort();
    await closed;
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
