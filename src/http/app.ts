// The HTTP app (Hono): routes, auth, validation, errors, SSE. Runtime-agnostic: every dependency
// (stores, job runner, watcher, metrics, logger, clock, auth) comes in through AppDeps, so the
// same app serves Node (src/server.ts) and Lambda.
import { Readable } from "node:stream";
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Config } from "../config.js";
import { ImageEditError, isImageEditError, toImageEditError } from "../core/errors.js";
import { INPUT_FORMATS } from "../core/formats.js";
import type { Limits } from "../core/limits.js";
import type { ProbeResult } from "../core/pipeline.js";
import type { Logger } from "../logger.js";
import type {
  Clock,
  JobRunner,
  Metrics,
  ObjectStore,
  RateCounter,
  Session,
  SessionStore,
  SessionWatcher,
} from "../ports.js";
import {
  checkConcurrentSessions,
  findReplay,
  planFromCommand,
  resultPrefix,
  type StartEditResult,
  startValidatedEdit,
  validateEdit,
} from "../service/edit.js";
import { ListQuerySchema, LocalSignInSchema, ParseRequestSchema, parseOrThrow } from "../service/schemas.js";
import { DOWNLOAD_URL_TTL_SEC, imageView, sessionView } from "../service/view.js";
import type { Auth } from "./auth.js";
import { parseJsonBody } from "./json-body.js";
import { methodLabel } from "./method-label.js";
import { openApiDocument } from "./openapi.js";
import { memoryRateCounter } from "./rate-limit.js";
import { progressStream } from "./sse.js";
import { receiveUpload } from "./uploads.js";

export interface StaticAsset {
  body: Uint8Array;
  contentType: string;
}

export interface AppDeps {
  config: Config;
  limits: Limits;
  sessions: SessionStore;
  objects: ObjectStore;
  jobs: JobRunner;
  watcher: SessionWatcher;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  auth: Auth;
  /** Header-only probe for uploads (probeImage). */
  probe: (input: Buffer, limits: Limits) => Promise<ProbeResult>;
  /** Checks a signed GET /files URL; absent where the store serves its own downloads (S3). */
  verifySignedFile?: (key: string, exp: string | undefined, sig: string | undefined) => boolean;
  /** The built page (web/dist): a file by URL path ("/" = index.html), or undefined. */
  assets?: (path: string) => Promise<StaticAsset | undefined>;
  /** SSE heartbeat interval (default 15 s). */
  sseHeartbeatMs?: number;
  /** Stream-token lifetime (default 1 h). */
  streamTokenTtlSec?: number;
  /** Per-user request counts; default in this process's memory (one local server per data directory). */
  rates?: RateCounter;
  /** False while shutting down: /healthz answers 503 so balancers drain us. */
  isReady?: () => boolean;
  /** What keeps the service from working (its storage gone), for /healthz to answer 503 with. */
  healthProblem?: () => string | undefined;
  /**
   * The largest image POST /uploads can receive on this runtime, where something in front of the
   * app refuses bigger bodies itself (a Lambda function URL); absent: MAX_IMAGE_SIZE.
   */
  maxUploadBytes?: number;
}

type Env = { Variables: { userId: string; requestId: string; log: Logger; errorCode?: string } };

const JSON_BODY_LIMIT = 1024 * 1024;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const NOT_BUILT_PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>imgedit</title></head>
<body style="font-family:system-ui;max-width:40rem;margin:3rem auto">
<h1>imgedit</h1><p>The API is running, but the web page is not built.</p>
<p>Run <code>npm run build:web</code> and reload. The API is described at <a href="/openapi.json">/openapi.json</a>.</p>
</body></html>`;

function errorBody(err: ImageEditError) {
  return {
    error: {
      code: err.code,
      message: err.message,
      ...(err.field ? { field: err.field } : {}),
      ...(err.details ? { details: err.details } : {}),
    },
  };
}

function bearerToken(c: Context<Env>): string | undefined {
  const h = c.req.header("authorization");
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  if (!m) throw new ImageEditError("UNAUTHORIZED", "Authorization header must be 'Bearer <token>'");
  return m[1];
}

/**
 * A header on the response the handler returned, set in place. c.header() at this point would
 * rebuild the Response around its body as a stream, and Node's adapter would then stream even a
 * small JSON answer instead of writing it at once (~0.15 ms of CPU per request, measured).
 */
function setResponseHeader(c: Context<Env>, name: string, value: string): void {
  try {
    c.res.headers.set(name, value);
  } catch {
    c.header(name, value); // immutable headers (a Response from fetch)
  }
}

/**
 * A HEAD request runs the GET route: answer its status and headers (all of them, the request id
 * too, which Hono's own HEAD handling drops when it was set in place) and release the body
 * unread. Left to Hono, a download's body (an open file) was dropped without being cancelled and
 * its file descriptor stayed open for good: one per HEAD.
 */
function headAnswer(c: Context<Env>): void {
  const res = c.res;
  // Headers first: on Node's adapter, reading the body rebuilds the response from its first headers.
  const headers = new Headers(res.headers);
  res.body?.cancel().catch(() => undefined);
  c.res = new Response(null, { status: res.status, headers });
}

/** The methods the app's routes take at `path` (middleware, registered for every method, aside). */
function methodsFor(app: Hono<Env>, path: string): string[] {
  const methods = new Set<string>();
  for (const r of app.routes) {
    if (r.method === "ALL") continue;
    const pattern = r.path
      .split("/")
      .map((part) =>
        part === "*" ? ".*" : part.startsWith(":") ? "[^/]+" : part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"),
      )
      .join("/");
    if (new RegExp(`^${pattern}$`).test(path)) methods.add(r.method);
  }
  if (methods.has("GET")) methods.add("HEAD");
  return [...methods];
}

export function createApp(deps: AppDeps): Hono<Env> {
  const { config, sessions, objects, metrics, auth } = deps;
  const app = new Hono<Env>();
  const rates = deps.rates ?? memoryRateCounter(deps.clock);
  const editRate = { key: (userId: string) => `edit:${userId}`, limit: config.RATE_LIMIT_PER_MINUTE };
  // Uploads come one request per image: a full batch fits within each allowed edit.
  const uploadRate = {
    key: (userId: string) => `upload:${userId}`,
    limit: config.RATE_LIMIT_PER_MINUTE * config.MAX_IMAGES_PER_REQUEST,
  };
  const heartbeatMs = deps.sseHeartbeatMs ?? 15_000;
  const streamTtl = deps.streamTokenTtlSec ?? 3600;
  let sseClients = 0;

  const absolutizer = (c: Context<Env>) => {
    const base = (config.PUBLIC_URL ?? new URL(c.req.url).origin).replace(/\/+$/, "");
    return (url: string) => (url.startsWith("/") ? base + url : url);
  };

  // Behind a proxy that serves the API under a path (PUBLIC_URL https://example.com/imgedit/), the
  // paths in answers carry it, as the file URLs do: a client resolves them against the proxy.
  const basePath = config.PUBLIC_URL ? new URL(config.PUBLIC_URL).pathname.replace(/\/+$/, "") : "";
  const progressUrl = (sessionId: string, streamToken: string) =>
    `${basePath}/image-edit/progress/${sessionId}?token=${encodeURIComponent(streamToken)}`;

  const requireUser = async (c: Context<Env>): Promise<string> => {
    const token = bearerToken(c);
    if (!token) throw new ImageEditError("UNAUTHORIZED", "missing Authorization: Bearer <token>");
    const { userId } = await auth.verify(token);
    c.set("userId", userId);
    c.get("log")?.setBindings?.({ userId });
    return userId;
  };

  const ownSession = async (userId: string, id: string): Promise<Session> => {
    const s = await sessions.get(id);
    // Another user's session is indistinguishable from a missing one.
    if (!s || s.userId !== userId) throw new ImageEditError("NOT_FOUND", `no session ${id}`);
    return s;
  };

  const readJson = async (c: Context<Env>): Promise<unknown> => parseJsonBody(await c.req.text());

  const limitJson = bodyLimit({
    maxSize: JSON_BODY_LIMIT,
    onError: () => {
      throw new ImageEditError("INVALID_INPUT", `the request body is larger than ${JSON_BODY_LIMIT} bytes`, {
        details: { limit: JSON_BODY_LIMIT },
      });
    },
  });

  const rateLimit = async (rate: typeof editRate, userId: string, what: string) => {
    const wait = await rates.take(rate.key(userId), rate.limit);
    if (wait > 0) {
      throw new ImageEditError("RATE_LIMITED", `too many ${what}; try again in ${wait} s`, {
        details: { retryAfterSec: wait, reason: "rate" },
      });
    }
  };

  // A hit not given back costs the user one edit until the minute is over; failing to give it back
  // must not replace the request's own answer.
  const refund = (rate: typeof editRate, userId: string) =>
    rates.refund(rate.key(userId)).catch((e: unknown) => {
      deps.logger.warn({ err: e instanceof Error ? e.message : String(e) }, "rate count not given back");
    });
  const refundEdit = (userId: string) => refund(editRate, userId);

  // Request id, access log, request metrics.
  app.use("*", async (c, next) => {
    const incoming = c.req.header("x-request-id");
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : globalThis.crypto.randomUUID();
    const log = deps.logger.child({ requestId });
    c.set("requestId", requestId);
    c.set("log", log);
    const started = deps.clock.now();
    await next();
    setResponseHeader(c, "X-Request-Id", requestId);
    // A signed-in user's answers carry stream tokens and signed download links (valid 1 h): no
    // cache, the browser's disk cache included, keeps a copy.
    if (c.get("userId") && !c.res.headers.has("cache-control")) setResponseHeader(c, "Cache-Control", "no-store");
    if (c.req.method === "HEAD") headAnswer(c);
    const route = c.req.routePath && c.req.routePath !== "/*" ? c.req.routePath : "unmatched";
    const seconds = (deps.clock.now() - started) / 1000;
    const method = methodLabel(c.req.method);
    metrics.increment("http_requests_total", { method, route, status: c.res.status });
    metrics.observe("http_request_duration_seconds", seconds, { method, route });
    const quiet = c.req.path === "/healthz" || c.req.path === "/metrics";
    const level = c.res.status >= 500 ? "error" : quiet ? "debug" : "info";
    // An error answer's code says why it was refused (the status alone does not: 400 is a dozen codes).
    const code = c.get("errorCode");
    log[level](
      {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(seconds * 1000),
        ...(code && { code }),
      },
      "request",
    );
  });

  app.onError((e, c) => {
    // A client that went away mid-body fails the body's read with a bare "aborted": its doing,
    // not a fault here (no error log, no 5xx in the metrics); nobody reads the answer anyway.
    const err =
      !(e instanceof ImageEditError) && c.req.raw.signal.aborted
        ? new ImageEditError("INVALID_INPUT", "the client closed the connection before the request was complete", {
            cause: e,
          })
        : toImageEditError(e);
    c.set("errorCode", err.code);
    if (err.status >= 500) c.get("log")?.error({ err: e }, "request failed");
    // Also a retryable CONFLICT that says when (a keyed edit still being accepted).
    if (err.code === "RATE_LIMITED" || err.details?.retryAfterSec !== undefined)
      c.header("Retry-After", String(err.details?.retryAfterSec ?? 60));
    if (err.code === "UNAUTHORIZED") c.header("WWW-Authenticate", 'Bearer realm="imgedit"');
    // A refused upload or body may be partly unread: close rather than let the client reuse a
    // connection that still carries the rest of it.
    if (c.req.method !== "GET" && c.req.method !== "HEAD") c.header("Connection", "close");
    // Internal errors keep their details in the log, not in the answer.
    const shown = err.code === "INTERNAL" ? new ImageEditError("INTERNAL", "internal error; see the server log") : err;
    return c.json(errorBody(shown), err.status as 400);
  });

  app.notFound((c) => {
    // A known path asked with another method: 405 with the methods it has, not "no route".
    const allow = methodsFor(app, c.req.path);
    if (allow.length) {
      c.header("Allow", allow.join(", "));
      c.set("errorCode", "METHOD_NOT_ALLOWED");
      const err = new ImageEditError(
        "METHOD_NOT_ALLOWED",
        `${c.req.path} takes ${allow.join(", ")}, not ${c.req.method}`,
      );
      return c.json(errorBody(err), 405);
    }
    c.set("errorCode", "NOT_FOUND");
    return c.json(errorBody(new ImageEditError("NOT_FOUND", `no route ${c.req.method} ${c.req.path}`)), 404);
  });

  // ---- operations ----
  app.get("/healthz", (c) => {
    const ready = deps.isReady?.() ?? true;
    const problem = deps.healthProblem?.();
    if (problem) return c.json({ status: "unhealthy", problem, mode: config.mode, queue: deps.jobs.depth() }, 503);
    return c.json(
      { status: ready ? "ok" : "draining", mode: config.mode, queue: deps.jobs.depth() },
      ready ? 200 : 503,
    );
  });

  app.get("/metrics", async (c) => {
    if (!metrics.render) throw new ImageEditError("NOT_FOUND", "metrics leave this runtime another way");
    metrics.gauge("queue_depth", deps.jobs.depth());
    metrics.gauge("sse_clients", sseClients);
    return c.body(await metrics.render(), 200, { "Content-Type": metrics.contentType ?? "text/plain; version=0.0.4" });
  });

  app.get("/openapi.json", (c) => c.json(openApiDocument({ serverUrl: config.PUBLIC_URL })));

  // ---- auth ----
  // What a client needs to refuse, before sending, what would fail: sizes, count and formats.
  const clientLimits = {
    maxImageBytes: deps.limits.maxImageBytes,
    maxUploadBytes: Math.min(deps.limits.maxImageBytes, deps.maxUploadBytes ?? Number.POSITIVE_INFINITY),
    maxImagesPerRequest: config.MAX_IMAGES_PER_REQUEST,
    formats: INPUT_FORMATS.filter((f) => f !== "svg" || deps.limits.allowSvg),
  };
  app.get("/auth/config", (c) => c.json({ localSignIn: auth.localSignIn, mode: auth.mode, limits: clientLimits }));

  app.post("/auth/local", limitJson, async (c) => {
    if (!auth.localSignIn) throw new ImageEditError("NOT_FOUND", "local sign-in is off on this service");
    const body = parseJsonBody(await c.req.text(), {});
    const { user = "local" } = parseOrThrow(LocalSignInSchema, body);
    return c.json({ token: await auth.mint(user, 12 * 3600), user });
  });

  // ---- edits ----
  const accepted = async (c: Context<Env>, r: StartEditResult) => {
    const s = r.session;
    const streamToken = await auth.signStreamToken(s.userId, s.sessionId, streamTtl);
    c.header("Location", `${basePath}/image-edit/sessions/${s.sessionId}`);
    if (r.replayed) c.header("Idempotent-Replayed", "true");
    return c.json(
      {
        sessionId: s.sessionId,
        status: s.status,
        progressUrl: progressUrl(s.sessionId, streamToken),
        streamToken,
        plan: s.plan,
        steps: r.steps,
        ...(s.options ? { options: s.options } : {}),
        images: s.images.map((i) => ({ id: i.id, name: i.name, status: i.status })),
      },
      202,
    );
  };

  /** Edits being started per user, not stored yet (see POST /image-edit). */
  const starting = new Map<string, number>();
  /** Per user and Idempotency-Key, the last request with that key being started (settled, never rejected). */
  const keyed = new Map<string, Promise<void>>();
  app.post("/image-edit", limitJson, async (c) => {
    const userId = await requireUser(c);
    const key = c.req.header("idempotency-key")?.trim();
    if (key !== undefined && (key.length === 0 || key.length > 200))
      throw new ImageEditError("INVALID_INPUT", "Idempotency-Key must be 1-200 characters", {
        field: "Idempotency-Key",
      });
    // Validated before the replay lookup: a key sent again with another request is refused
    // (IDEMPOTENCY_KEY_REUSED), not answered with the first request's session. A body refused here
    // is not an edit started and does not count against the rate limit.
    const edit = validateEdit(await readJson(c), deps);
    const start = async (): Promise<StartEditResult> => {
      const replay = await findReplay(userId, key, deps, edit.fingerprint);
      if (replay) return replay;
      await rateLimit(editRate, userId, "edits per minute");
      // Edits of this user being started right now count as unfinished: their sessions are not
      // stored yet, and a burst of requests would all pass the count before any of them is.
      const pending = starting.get(userId) ?? 0;
      starting.set(userId, pending + 1);
      try {
        await checkConcurrentSessions(userId, deps, pending);
        const r = await startValidatedEdit(userId, edit, deps, { idempotencyKey: key, signal: c.req.raw.signal });
        // Another process stored the key's session first: this request is its retry, not an edit.
        if (r.replayed) await refundEdit(userId);
        return r;
      } catch (e) {
        // The limit counts edits started: a refused request (a typo in a command) is not one.
        await refundEdit(userId);
        throw e;
      } finally {
        const left = (starting.get(userId) ?? 1) - 1;
        if (left > 0) starting.set(userId, left);
        else starting.delete(userId);
      }
    };
    // A request sent again with its key before the first one was answered (a double click, a
    // client's timeout) waits for it and then replays its session: not counted as another edit
    // started, nor refused by the limits the first one is still being checked against.
    let r: StartEditResult;
    if (key === undefined) r = await start();
    else {
      const slot = JSON.stringify([userId, key]);
      const mine = (keyed.get(slot) ?? Promise.resolve()).then(start);
      const settled = mine.then(
        () => undefined,
        () => undefined,
      );
      keyed.set(slot, settled);
      try {
        r = await mine;
      } finally {
        if (keyed.get(slot) === settled) keyed.delete(slot);
      }
    }
    if (r.replayed) return accepted(c, r);
    c.get("log").info(
      { sessionId: r.session.sessionId, images: r.session.images.length, steps: r.steps.length },
      "edit started",
    );
    metrics.increment("sessions_total", { operation: r.session.command ? "command" : "operations" });
    metrics.increment("images_total", {}, r.session.images.length);
    return accepted(c, r);
  });

  app.post("/image-edit/parse", limitJson, async (c) => {
    await requireUser(c);
    const { command } = parseOrThrow(ParseRequestSchema, await readJson(c));
    const planned = await planFromCommand(command, deps, c.req.raw.signal);
    return c.json({ plan: planned.plan, steps: planned.steps, source: planned.source });
  });

  app.get("/image-edit/progress/:id", async (c) => {
    const id = c.req.param("id");
    const token = c.req.query("token");
    const userId = token ? (await auth.verifyStreamToken(token, id)).userId : await requireUser(c);
    await ownSession(userId, id);
    const lastRaw = c.req.header("last-event-id") ?? c.req.query("lastEventId");
    const last = lastRaw !== undefined && /^\d{1,15}$/.test(lastRaw.trim()) ? Number(lastRaw.trim()) : undefined;
    const abs = absolutizer(c);
    const stream = progressStream({
      sessionId: id,
      sessions,
      watcher: deps.watcher,
      lastEventId: last,
      heartbeatMs,
      clock: deps.clock,
      imageEvent: async (img) => {
        const v = await imageView(img, objects, abs);
        return { imageId: img.id, ...v.result };
      },
      onOpen: () => {
        sseClients++;
      },
      onClose: () => {
        sseClients--;
      },
    });
    return new Response(stream, {
      status: 200,
      headers: {
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-cache, no-transform",
        "X-Accel-Buffering": "no",
      },
    });
  });

  app.get("/image-edit/sessions", async (c) => {
    const userId = await requireUser(c);
    const q = parseOrThrow(ListQuerySchema, c.req.query());
    const page = await sessions.listByUser(userId, { limit: q.limit, cursor: q.cursor });
    const abs = absolutizer(c);
    return c.json({
      items: await Promise.all(page.items.map((s) => sessionView(s, objects, abs))),
      ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
    });
  });

  app.get("/image-edit/sessions/:id", async (c) => {
    const userId = await requireUser(c);
    const s = await ownSession(userId, c.req.param("id"));
    const streamToken = await auth.signStreamToken(userId, s.sessionId, streamTtl);
    return c.json({
      ...(await sessionView(s, objects, absolutizer(c))),
      streamToken,
      progressUrl: progressUrl(s.sessionId, streamToken),
    });
  });

  app.delete("/image-edit/sessions/:id", async (c) => {
    const userId = await requireUser(c);
    const s = await ownSession(userId, c.req.param("id"));
    // Files first: a crash in between leaves a session without files, never orphan files. A job
    // of this session may store its result and record it done while they are being deleted (on
    // S3 that takes a while): once the session is gone, no job can record one any more (it
    // removes the file it stored instead), so one more pass leaves none behind.
    const prefix = resultPrefix(userId, s.sessionId);
    await objects.deletePrefix(prefix);
    await sessions.delete(s.sessionId);
    // Its images still being fetched or processed stop now instead of at their next write.
    deps.jobs.cancelSession?.(s.sessionId);
    await objects.deletePrefix(prefix);
    return c.body(null, 204);
  });

  // ---- uploads and files ----
  app.post("/uploads", async (c) => {
    const userId = await requireUser(c);
    await rateLimit(uploadRate, userId, "uploads per minute");
    let answer: Awaited<ReturnType<typeof receiveUpload>>["answer"];
    try {
      ({ answer } = await receiveUpload(c.req.raw, userId, c.req.query("name"), deps));
    } catch (e) {
      // The service's own failure (a full disk) costs the user no upload; one refused for what
      // was sent (too big, not an image, cut off) still counts: the limit also bounds the bytes
      // a client can make the server read.
      if (isImageEditError(e) && e.retryable) await refund(uploadRate, userId);
      throw e;
    }
    metrics.increment("uploads_total", { format: answer.format });
    metrics.increment("bytes_in_total", { source: "upload_request" }, answer.bytes);
    return c.json({ ...answer, previewUrl: absolutizer(c)(answer.previewUrl) }, 201);
  });

  app.get("/files/*", async (c) => {
    if (!deps.verifySignedFile) throw new ImageEditError("NOT_FOUND", "files are served by the object store here");
    const raw = c.req.path.slice("/files/".length);
    let key: string;
    try {
      key = raw.split("/").map(decodeURIComponent).join("/");
    } catch {
      throw new ImageEditError("FORBIDDEN", "bad file path");
    }
    if (!deps.verifySignedFile(key, c.req.query("exp"), c.req.query("sig")))
      throw new ImageEditError("FORBIDDEN", "this download link is not valid or has expired");
    const obj = await objects.get(key);
    if (!obj) throw new ImageEditError("NOT_FOUND", "the file is gone (deleted or expired)");
    metrics.increment("bytes_out_total", { kind: "download" }, obj.bytes);
    return new Response(Readable.toWeb(obj.body) as ReadableStream, {
      headers: {
        "Content-Type": obj.contentType,
        "Content-Length": String(obj.bytes),
        "Cache-Control": `private, max-age=${DOWNLOAD_URL_TTL_SEC}`,
        "X-Content-Type-Options": "nosniff",
        // Uploaded SVGs must never run script in our origin.
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
      },
    });
  });

  // ---- the page ----
  const page = async (c: Context<Env>, path: string) => {
    const asset = await deps.assets?.(path);
    if (!asset) {
      if (path === "/") return c.html(NOT_BUILT_PAGE);
      throw new ImageEditError("NOT_FOUND", `no file ${path}`);
    }
    return c.body(asset.body as Uint8Array<ArrayBuffer>, 200, {
      "Content-Type": asset.contentType,
      "Cache-Control": path.startsWith("/assets/") ? "public, max-age=31536000, immutable" : "no-cache",
      "X-Content-Type-Options": "nosniff",
    });
  };
  app.get("/", (c) => page(c, "/"));
  app.get("/assets/*", (c) => page(c, c.req.path));
  for (const f of ["/favicon.ico", "/favicon.svg", "/manifest.webmanifest", "/robots.txt"])
    app.get(f, (c) => page(c, f));

  return app;
}

export type App = ReturnType<typeof createApp>;
