// Loopback helpers shared by the service bench and the load test: the imgedit server in its own
// node process (so its RSS is its own), a tiny HTTP server for the source images, tokens, and a
// client that posts one edit and follows its progress stream to the end.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { SignJWT } from "jose";
import { startSettings } from "../bin/start-settings.js";

const here = path.dirname(fileURLToPath(import.meta.url));

/** USER_HZ: Linux reports process CPU times in these ticks per second. */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export interface ImageServer {
  /** Base URL, e.g. http://127.0.0.1:41234 ; files are served at /<name>. */
  url: string;
  /** host:port, for FETCH_ALLOW_HOSTS. */
  host: string;
  close(): Promise<void>;
}

/** Serves the given files (name -> path) from memory on 127.0.0.1. */
export async function startImageServer(files: Record<string, string>): Promise<ImageServer> {
  const bodies = new Map(Object.entries(files).map(([name, p]) => [`/${name}`, readFileSync(p)]));
  const server = http.createServer((req, res) => {
    const body = bodies.get((req.url ?? "").split("?")[0]);
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    const type = req.url?.endsWith(".gif") ? "image/gif" : "image/jpeg";
    res.writeHead(200, { "content-type": type, "content-length": body.length });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface ServerProcess {
  url: string;
  pid: number;
  /** Peak RSS so far (VmHWM), in MB. */
  peakRssMB(): number | undefined;
  /** CPU time used so far by the server process (all threads: HTTP, worker pool, libvips), ms. */
  cpuMs(): number | undefined;
  close(): Promise<void>;
}

let built = false;

/** Compiles src/ to dist/ (once per process): the server is measured as `npm start` runs it. */
export function buildServer(): void {
  if (built) return;
  const root = path.resolve(here, "..");
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], {
    cwd: root,
    stdio: ["ignore", "ignore", "pipe"],
  });
  built = true;
}

/**
 * Starts `startLocalServer` (dist/server.js, built first) in a child node process with the given
 * settings, or another script of bench/ that prints IMGEDIT_URL=<url> the same way (bare-server.mjs).
 */
export async function startServerProcess(
  /** Settings over this process's environment; undefined removes a variable (even one the launcher would set). */
  env: Record<string, string | undefined>,
  timeoutMs = 60_000,
  /** Extra node flags, e.g. --cpu-prof to see where the server's time goes. */
  nodeArgs: string[] = [],
  script = "server-process.mjs",
): Promise<ServerProcess> {
  buildServer();
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
  // loading sharp in this process set VIPSHOME; the server's own sharp sets its own
  delete childEnv.VIPSHOME;
  // Started as bin/imgedit.js starts it, except for settings the caller removed on purpose.
  const start = startSettings(childEnv, nodeArgs);
  for (const [k, v] of Object.entries(start.env)) if (!(k in env)) childEnv[k] = v;
  const args = [...start.nodeArgs, ...nodeArgs, path.join(here, script)];
  const child: ChildProcess = spawn(process.execPath, args, {
    env: childEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`server did not start in ${timeoutMs} ms: ${stderr.trim().slice(-300)}`));
    }, timeoutMs);
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /^IMGEDIT_URL=(\S+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}): ${stderr.trim().split("\n").slice(-4).join(" | ")}`));
    });
  });
  const pid = child.pid ?? 0;
  return {
    url,
    pid,
    peakRssMB: () => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
        return m ? Number(m[1]) / 1024 : undefined;
      } catch {
        return undefined;
      }
    },
    cpuMs: () => {
      try {
        // /proc/<pid>/stat: fields 14 and 15 (utime, stime) in clock ticks, counted after the ")"
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
      } catch {
        return undefined;
      }
    },
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
}

/** An HS256 token as the local server verifies them (src/http/auth.ts: sub = user id, its iss and aud). */
export function mintToken(secret: string, user: string, ttlSeconds = 3600): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(user)
    .setIssuer("imgedit-local")
    .setAudience("imgedit")
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(new TextEncoder().encode(secret));
}

export interface SessionOutcome {
  ok: boolean;
  status: number;
  sessionId?: string;
  /** POST /image-edit answered (ms from start). */
  acceptedMs?: number;
  /** The `complete` event arrived (ms from start). */
  completeMs?: number;
  completed: number;
  failed: number;
  /** The `complete` event's id: the session's version, i.e. how many times the session was written. */
  lastEventId?: string;
  error?: string;
}

interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

async function* sse(body: AsyncIterable<Buffer>): AsyncGenerator<SseEvent> {
  let buf = "";
  for await (const chunk of body) {
    buf += chunk.toString("utf8").replace(/\r\n/g, "\n");
    let idx = buf.indexOf("\n\n");
    while (idx >= 0) {
      const block = buf.slice(0, idx);
      buf = buf.slice(idx + 2);
      let event = "message";
      let id: string | undefined;
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        else if (line.startsWith("id:")) id = line.slice(3).trim();
      }
      if (data.length || event !== "message") yield { event, data: data.join("\n"), id };
      idx = buf.indexOf("\n\n");
    }
  }
}

// The client is on the same cores as the server it measures, so it is node:http with kept-alive
// connections: undici's fetch cost about twice the CPU per edit.
const agents = {
  "http:": new http.Agent({ keepAlive: true }),
  "https:": new https.Agent({ keepAlive: true }),
};

function request(
  url: URL,
  opts: { method?: string; headers: Record<string, string>; body?: string; signal: AbortSignal },
): Promise<http.IncomingMessage> {
  const mod = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      url,
      {
        method: opts.method ?? "GET",
        headers:
          opts.body === undefined ? opts.headers : { ...opts.headers, "content-length": Buffer.byteLength(opts.body) },
        agent: agents[url.protocol as "http:" | "https:"],
        signal: opts.signal,
      },
      resolve,
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}

async function readAll(res: http.IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of res) parts.push(c as Buffer);
  return Buffer.concat(parts).toString("utf8");
}

/**
 * One edit end to end: POST /image-edit, then the progress stream until `complete`.
 * Never throws: the outcome says what went wrong.
 */
export async function runSession(
  baseUrl: string,
  token: string,
  images: { id: string; url: string; name: string }[],
  command: string,
  timeoutMs = 120_000,
): Promise<SessionOutcome> {
  const t0 = performance.now();
  const signal = AbortSignal.timeout(timeoutMs);
  const out: SessionOutcome = { ok: false, status: 0, completed: 0, failed: 0 };
  try {
    const res = await request(new URL("/image-edit", baseUrl), {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ images, operation: { type: "command", command } }),
      signal,
    });
    out.status = res.statusCode ?? 0;
    let body: { sessionId?: string; progressUrl?: string; error?: { code: string; message: string } } = {};
    try {
      body = JSON.parse(await readAll(res));
    } catch {
      // not JSON: the status says enough
    }
    out.acceptedMs = performance.now() - t0;
    if (out.status !== 202 || !body.sessionId) {
      out.error = body.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${out.status}`;
      out.failed = images.length;
      return out;
    }
    out.sessionId = body.sessionId;
    const progressUrl = new URL(body.progressUrl ?? `/image-edit/progress/${body.sessionId}`, baseUrl);
    const stream = await request(progressUrl, {
      headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" },
      signal,
    });
    if (stream.statusCode !== 200) {
      stream.resume();
      out.error = `progress stream: HTTP ${stream.statusCode}`;
      return out;
    }
    // Read to the end (the server ends the stream after `complete`): leaving early would destroy
    // the response, and with it the kept-alive connection, so every edit would open a new one.
    for await (const ev of sse(stream)) {
      if (ev.event !== "complete" || out.completeMs !== undefined) continue;
      const done = JSON.parse(ev.data) as { completed?: number; failed?: number; images?: { error?: unknown }[] };
      out.completeMs = performance.now() - t0;
      out.lastEventId = ev.id;
      out.completed = done.completed ?? 0;
      out.failed = done.failed ?? images.length - out.completed;
      out.ok = out.failed === 0 && out.completed === images.length;
      if (!out.ok) {
        const errs = (done.images ?? []).map((i) => i.error).filter(Boolean);
        out.error = `images failed: ${JSON.stringify(errs).slice(0, 300)}`;
      }
    }
    if (out.completeMs === undefined && !out.error) out.error = "stream ended without a complete event";
    return out;
  } catch (e) {
    out.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return out;
  }
}
