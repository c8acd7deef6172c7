// Test harness for the service: a real server on 127.0.0.1:0 with a fresh DATA_DIR, a loopback
// image source (allowed through FETCH_ALLOW_HOSTS), and an SSE client over fetch that parses events.
import fs from "node:fs";
import http from "node:http";
import type net from "node:net";
import os from "node:os";
import path from "node:path";
import { type Config, loadConfig } from "../../src/config.js";
import { silentLogger } from "../../src/logger.js";
import { type LocalServer, type LocalServerOptions, startLocalServer } from "../../src/server.js";

// biome-ignore lint/suspicious/noExplicitAny: JSON answers in tests are read loosely
export type Json = any;

export function tempDir(prefix = "imgedit-test-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface ImageSource {
  port: number;
  base: string;
  /** Serve these bytes at path. */
  set(pathname: string, body: Buffer, contentType?: string): void;
  /** Requests per path. */
  hits: Map<string, number>;
  /** Paths that answer 503 for the first n requests. */
  failFirst(pathname: string, n: number): void;
  /** Paths held open until release() (for mid-job restarts). */
  hold(pathname: string): void;
  release(): void;
  close(): Promise<void>;
}

export async function startImageSource(): Promise<ImageSource> {
  const files = new Map<string, { body: Buffer; type: string }>();
  const hits = new Map<string, number>();
  const failures = new Map<string, number>();
  const held = new Set<string>();
  let waiters: (() => void)[] = [];
  const server = http.createServer(async (req, res) => {
    const p = new URL(req.url ?? "/", "http://x").pathname;
    hits.set(p, (hits.get(p) ?? 0) + 1);
    if (held.has(p)) await new Promise<void>((r) => waiters.push(r));
    const left = failures.get(p) ?? 0;
    if (left > 0) {
      failures.set(p, left - 1);
      res.writeHead(503).end("try later");
      return;
    }
    const f = files.get(p);
    if (!f) {
      res.writeHead(404).end("no");
      return;
    }
    res.writeHead(200, { "content-type": f.type, "content-length": f.body.length }).end(f.body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    set: (p, body, type = "image/png") => files.set(p, { body, type }),
    hits,
    failFirst: (p, n) => failures.set(p, n),
    hold: (p) => held.add(p),
    release: () => {
      held.clear();
      for (const w of waiters) w();
      waiters = [];
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface TestService {
  server: LocalServer;
  base: string;
  config: Config;
  dataDir: string;
  token(user?: string): Promise<string>;
  /** fetch against the server with a Bearer token for user (default "alice"). */
  api(pathname: string, init?: RequestInit & { user?: string | null }): Promise<Response>;
  close(opts?: { graceMs?: number }): Promise<void>;
}

export function testConfig(dataDir: string, env: Record<string, string> = {}): Config {
  return loadConfig({
    DATA_DIR: dataDir,
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "silent",
    WORKER_CONCURRENCY: "2",
    JOB_MAX_ATTEMPTS: "3",
    RATE_LIMIT_PER_MINUTE: "1000",
    MAX_CONCURRENT_SESSIONS: "100",
    ...env,
  });
}

export async function startService(
  env: Record<string, string> = {},
  opts: LocalServerOptions & { dataDir?: string } = {},
): Promise<TestService> {
  const dataDir = opts.dataDir ?? tempDir();
  const config = testConfig(dataDir, env);
  const server = await startLocalServer(config, {
    logger: silentLogger(),
    heartbeatMs: 200,
    sweepIntervalMs: 0,
    retryBaseMs: 20,
    ...opts,
  });
  const tokens = new Map<string, string>();
  const token = async (user = "alice") => {
    let t = tokens.get(user);
    if (!t) {
      t = await server.token(user, 3600);
      tokens.set(user, t);
    }
    return t;
  };
  return {
    server,
    base: server.url,
    config,
    dataDir,
    token,
    async api(pathname, init = {}) {
      const { user = "alice", ...rest } = init;
      const headers = new Headers(rest.headers);
      if (user !== null && !headers.has("authorization")) headers.set("authorization", `Bearer ${await token(user)}`);
      if (typeof rest.body === "string" && !headers.has("content-type"))
        headers.set("content-type", "application/json");
      return fetch(server.url + pathname, { ...rest, headers });
    },
    close: (o) => server.close(o),
  };
}

export interface ServiceWithSource {
  src: ImageSource;
  svc: TestService;
  /** Closes the service, then the image source. */
  close(): Promise<void>;
}

/** A loopback image source and the service allowed to fetch from it (env and opts as for startService). */
export async function startServiceWithSource(
  env: Record<string, string> = {},
  opts: LocalServerOptions & { dataDir?: string } = {},
): Promise<ServiceWithSource> {
  const src = await startImageSource();
  try {
    const svc = await startService({ FETCH_ALLOW_HOSTS: `127.0.0.1:${src.port}`, ...env }, opts);
    return {
      src,
      svc,
      async close() {
        await svc.close();
        await src.close();
      },
    };
  } catch (e) {
    await src.close();
    throw e;
  }
}

export interface SseEvent {
  event: string;
  id?: string;
  data: unknown;
}

export interface SseStream {
  status: number;
  headers: Headers;
  events: SseEvent[];
  comments: string[];
  /** Resolves when the server closes the stream. */
  done: Promise<void>;
  /** Resolves once an event matching pred arrives (or rejects when the stream ends first). */
  waitFor(pred: (e: SseEvent) => boolean): Promise<SseEvent>;
  close(): void;
}

/** A real SSE client over fetch: parses id/event/data fields and comment lines per the spec. */
export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const ac = new AbortController();
  const res = await fetch(url, { headers: { accept: "text/event-stream", ...headers }, signal: ac.signal });
  const events: SseEvent[] = [];
  const comments: string[] = [];
  let waiters: { pred: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void; reject: (e: Error) => void }[] = [];
  let ended = false;
  const done = (async () => {
    if (!res.body) return;
    const dec = new TextDecoder();
    let buf = "";
    let cur: { event?: string; id?: string; data: string[] } = { data: [] };
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += dec.decode(chunk, { stream: true });
        let nl = buf.indexOf("\n");
        while (nl >= 0) {
          const line = buf.slice(0, nl).replace(/\r$/, "");
          buf = buf.slice(nl + 1);
          if (line === "") {
            if (cur.data.length) {
              const text = cur.data.join("\n");
              let data: unknown = text;
              try {
                data = JSON.parse(text);
              } catch {}
              const e: SseEvent = { event: cur.event ?? "message", id: cur.id, data };
              events.push(e);
              waiters = waiters.filter((w) => {
                if (!w.pred(e)) return true;
                w.resolve(e);
                return false;
              });
            }
            cur = { data: [] };
          } else if (line.startsWith(":")) comments.push(line.slice(1).trim());
          else {
            const i = line.indexOf(":");
            const field = i < 0 ? line : line.slice(0, i);
            const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
            if (field === "data") cur.data.push(value);
            else if (field === "event") cur.event = value;
            else if (field === "id") cur.id = value;
          }
          nl = buf.indexOf("\n");
        }
      }
    } catch {
      // aborted by close()
    } finally {
      ended = true;
      for (const w of waiters)
        w.reject(new Error(`stream ended before the awaited event; got ${events.map((e) => e.event).join(",")}`));
      waiters = [];
    }
  })();
  return {
    status: res.status,
    headers: res.headers,
    events,
    comments,
    done,
    waitFor(pred) {
      const hit = events.find(pred);
      if (hit) return Promise.resolve(hit);
      if (ended) return Promise.reject(new Error("stream already ended"));
      return new Promise((resolve, reject) => waiters.push({ pred, resolve, reject }));
    },
    close: () => ac.abort(),
  };
}

/**
 * POST an edit (`body`: the request's JSON) and follow its progress stream until `complete`:
 * answers what the POST answered, and the stream (still open unless the server has ended it).
 */
export async function editUntilComplete(svc: TestService, body: Json): Promise<{ started: Json; sse: SseStream }> {
  const res = await svc.api("/image-edit", { method: "POST", body: JSON.stringify(body) });
  // Thrown, not expect()ed: child processes of some tests import this file outside vitest.
  if (res.status !== 202) throw new Error(`POST /image-edit answered ${res.status}: ${await res.text()}`);
  const started = (await res.json()) as Json;
  const sse = await openSse(svc.base + started.progressUrl);
  await sse.waitFor((e) => e.event === "complete");
  return { started, sse };
}

/**
 * POST an edit of these images with these operations, follow its progress stream to `complete`,
 * and return the session as GET /image-edit/sessions/:id shows it then.
 */
export async function editToCompletion(
  svc: TestService,
  images: { id: string; url: string }[],
  operations: Json[],
): Promise<Json> {
  const { started, sse } = await editUntilComplete(svc, { images, operation: { type: "operations", operations } });
  sse.close();
  return (await (await svc.api(`/image-edit/sessions/${started.sessionId}`)).json()) as Json;
}

export const STAGES = ["queued", "fetching", "processing", "storing", "done", "failed"];
