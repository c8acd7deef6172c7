// `npm run load`: the deployment guide's load test, short profile by default.
// Starts a local server (or uses TARGET), runs Artillery through npx (not a dependency: ~600 MB),
// or, when that cannot be installed or run here, a built-in generator with the same phases;
// then waits for every accepted session to finish and counts failed images.
//
//   npm run load [-- --full] [-- --engine artillery|builtin]
//   npm run load -- --faults [--fault-every 3] [--duration 60]   (in-process server, built-in generator)
//   TARGET=https://... JWT_SECRET=... IMAGE_URL=https://.../a.jpg npm run load
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { runSession, type ServerProcess, type SessionOutcome, startServerProcess } from "../../bench/loopback.js";
import { percentile } from "../../bench/stats.js";
import { failureBound, ROTATION, startFaultyLoadServer } from "./faults.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const processor = require("./processor.cjs") as {
  mintToken(user: string, key?: string): string;
  ensureImageServer(): Promise<string>;
  secret(): string;
  DEFAULT_IMAGE: string;
};

export interface Phase {
  duration: number;
  arrivalRate: number;
  name: string;
}

/** The phases of a profile, read from its yml (the one place they are written). */
export function readPhases(yml: string): Phase[] {
  const phases: Phase[] = [];
  const re = /-\s*duration:\s*(\d+)\s*\n\s*arrivalRate:\s*(\d+)\s*\n\s*name:\s*"([^"]*)"/g;
  for (let m = re.exec(yml); m; m = re.exec(yml))
    phases.push({ duration: Number(m[1]), arrivalRate: Number(m[2]), name: m[3] });
  return phases;
}

interface Report {
  engine: string;
  target: string;
  profile: string;
  requests: number;
  accepted: number;
  errors: number;
  errorKinds: Record<string, number>;
  durationSec: number;
  requestsPerSec: number;
  postLatencyMs: { p50: number; p95: number; p99: number };
  endToEndMs?: { p50: number; p95: number; p99: number };
  sessions: { total: number; finished: number; unfinished: number; imagesDone: number; imagesFailed: number };
  /** Seconds from the last arrival until every session had finished. */
  drainSec?: number;
  /** Seconds from the first arrival to the last session finished. */
  spanSec?: number;
  note?: string;
}

const log = (s: string) => process.stderr.write(`${s}\n`);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number, echo: boolean) {
  return new Promise<{ code: number | null; out: string; timedOut: boolean }>((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let out = "";
    let timedOut = false;
    const onData = (d: Buffer) => {
      out = (out + d.toString()).slice(-20_000);
      if (echo) process.stderr.write(d);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    const timer = setTimeout(() => {
      timedOut = true;
      // npx runs artillery in its own process group: end the whole group we started
      if (child.pid) process.kill(-child.pid, "SIGTERM");
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out, timedOut });
    });
  });
}

const ARTILLERY = ["--yes", "artillery@2"];

async function artilleryAvailable(env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string | undefined> {
  log(`checking Artillery (npx ${ARTILLERY.join(" ")}; installs on first use, up to ${timeoutMs / 1000} s)...`);
  const r = await run("npx", [...ARTILLERY, "--version"], env, timeoutMs, false);
  if (r.code === 0) return undefined;
  const why = r.timedOut
    ? `install/start took over ${timeoutMs / 1000} s`
    : r.out.trim().split("\n").slice(-3).join(" | ");
  return why.slice(0, 300);
}

interface Accepted {
  sessionId: string;
  token: string;
}

async function runArtillery(
  yml: string,
  target: string,
  env: NodeJS.ProcessEnv,
  workDir: string,
  totalSec: number,
): Promise<Omit<Report, "sessions" | "engine" | "target" | "profile"> & { accepted: number; sessions: Accepted[] }> {
  const output = path.join(workDir, "artillery.json");
  const sessionsFile = path.join(workDir, "sessions.ndjson");
  const t0 = performance.now();
  const r = await run(
    "npx",
    [...ARTILLERY, "run", "--target", target, "--output", output, yml],
    { ...env, LOAD_SESSIONS_FILE: sessionsFile },
    (totalSec + 300) * 1000,
    true,
  );
  const durationSec = (performance.now() - t0) / 1000;
  if (!existsSync(output)) throw new Error(`artillery wrote no report (exit ${r.code})`);
  const rep = JSON.parse(readFileSync(output, "utf8")) as {
    aggregate: {
      counters: Record<string, number>;
      summaries?: Record<string, { p50: number; p95: number; p99: number }>;
      firstCounterAt?: number;
      lastCounterAt?: number;
    };
  };
  const c = rep.aggregate.counters;
  const requests = c["http.requests"] ?? 0;
  const accepted = c["http.codes.202"] ?? 0;
  const errorKinds: Record<string, number> = {};
  for (const [k, v] of Object.entries(c)) {
    if (k.startsWith("errors.")) errorKinds[k.slice(7)] = v;
    else if (/^http\.codes\.\d+$/.test(k) && k !== "http.codes.202") errorKinds[`HTTP ${k.slice(11)}`] = v;
  }
  const rt = rep.aggregate.summaries?.["http.response_time"];
  const sessions = existsSync(sessionsFile)
    ? readFileSync(sessionsFile, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Accepted)
    : [];
  const span =
    rep.aggregate.firstCounterAt && rep.aggregate.lastCounterAt
      ? (rep.aggregate.lastCounterAt - rep.aggregate.firstCounterAt) / 1000
      : durationSec;
  return {
    requests,
    accepted,
    errors:
      Object.values(errorKinds).reduce((a, b) => a + b, 0) + (c["vusers.failed"] && !requests ? c["vusers.failed"] : 0),
    errorKinds,
    durationSec: span,
    requestsPerSec: requests / Math.max(span, 1e-9),
    postLatencyMs: { p50: rt?.p50 ?? Number.NaN, p95: rt?.p95 ?? Number.NaN, p99: rt?.p99 ?? Number.NaN },
    sessions,
  };
}

/** Built-in generator: the same phases, one virtual user per arrival (POST + its progress stream). */
async function runBuiltin(phases: Phase[], target: string, imageUrl: string, key: string, sessionTimeoutMs = 300_000) {
  const outcomes: Promise<SessionOutcome>[] = [];
  const t0 = performance.now();
  let offset = 0;
  let seq = 0;
  for (const p of phases) {
    const n = p.duration * p.arrivalRate;
    for (let i = 0; i < n; i++) {
      const at = offset + (i / p.arrivalRate) * 1000;
      const wait = at - (performance.now() - t0);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const token = processor.mintToken(`load-builtin-${++seq}`, key);
      const id = Math.random().toString(36).slice(2, 12);
      outcomes.push(
        runSession(target, token, [{ id, url: imageUrl, name: "test.jpg" }], "resize to 800px", sessionTimeoutMs),
      );
    }
    offset += p.duration * 1000;
    log(`  phase "${p.name}" sent (${n} arrivals)`);
  }
  const sentSec = (performance.now() - t0) / 1000;
  const all = await Promise.all(outcomes);
  const drainSec = (performance.now() - t0) / 1000 - sentSec;
  const errorKinds: Record<string, number> = {};
  for (const o of all)
    if (o.status !== 202) {
      const k = o.status ? `HTTP ${o.status}` : (o.error ?? "error").split(":")[0];
      errorKinds[k] = (errorKinds[k] ?? 0) + 1;
    }
  const post = all.filter((o) => o.status === 202 && o.acceptedMs !== undefined).map((o) => o.acceptedMs as number);
  const e2e = all.filter((o) => o.completeMs !== undefined).map((o) => o.completeMs as number);
  const finished = all.filter((o) => o.completeMs !== undefined);
  return {
    outcomes: all,
    requests: all.length,
    accepted: post.length,
    errors: all.length - post.length,
    errorKinds,
    durationSec: sentSec,
    drainSec,
    spanSec: sentSec + drainSec,
    requestsPerSec: all.length / sentSec,
    postLatencyMs: { p50: percentile(post, 50), p95: percentile(post, 95), p99: percentile(post, 99) },
    endToEndMs: { p50: percentile(e2e, 50), p95: percentile(e2e, 95), p99: percentile(e2e, 99) },
    sessions: {
      total: post.length,
      finished: finished.length,
      unfinished: post.length - finished.length,
      imagesDone: finished.reduce((n, o) => n + o.completed, 0),
      imagesFailed: all.filter((o) => o.status === 202).reduce((n, o) => n + o.failed, 0),
    },
  };
}

/** After Artillery: poll every accepted session until it is finished (or the deadline passes). */
async function waitForSessions(target: string, accepted: Accepted[], deadlineMs: number) {
  const res = { total: accepted.length, finished: 0, unfinished: 0, imagesDone: 0, imagesFailed: 0 };
  const took: number[] = [];
  let firstCreated = Number.POSITIVE_INFINITY;
  let lastCreated = 0;
  let lastUpdated = 0;
  const pending = new Map(accepted.map((a) => [a.sessionId, a]));
  const end = Date.now() + deadlineMs;
  while (pending.size && Date.now() < end) {
    const batch = [...pending.values()].slice(0, 50);
    await Promise.all(
      batch.map(async (a) => {
        const r = await fetch(new URL(`/image-edit/sessions/${a.sessionId}`, target), {
          headers: { authorization: `Bearer ${a.token}` },
        }).catch(() => undefined);
        if (!r?.ok) return;
        const s = (await r.json()) as {
          status: string;
          images: { status: string }[];
          createdAt?: number | string;
          updatedAt?: number | string;
        };
        if (!["completed", "partial", "failed"].includes(s.status)) return;
        pending.delete(a.sessionId);
        // server-side time from creation to the last update (the session's end)
        const created = new Date(s.createdAt ?? Number.NaN).getTime();
        const updated = new Date(s.updatedAt ?? Number.NaN).getTime();
        if (Number.isFinite(created) && Number.isFinite(updated)) {
          took.push(updated - created);
          firstCreated = Math.min(firstCreated, created);
          lastCreated = Math.max(lastCreated, created);
          lastUpdated = Math.max(lastUpdated, updated);
        }
        res.finished++;
        res.imagesDone += s.images.filter((i) => i.status === "done").length;
        res.imagesFailed += s.images.filter((i) => i.status === "failed").length;
      }),
    );
    if (pending.size) await new Promise((r) => setTimeout(r, 500));
  }
  res.unfinished = pending.size;
  const endToEndMs = took.length
    ? { p50: percentile(took, 50), p95: percentile(took, 95), p99: percentile(took, 99) }
    : undefined;
  // from the server's own timestamps: the last session created to the last one finished
  const known = took.length > 0;
  return {
    sessions: res,
    endToEndMs,
    drainSec: known ? (lastUpdated - lastCreated) / 1000 : undefined,
    spanSec: known ? (lastUpdated - firstCreated) / 1000 : undefined,
  };
}

function render(r: Report, verdict?: string): string {
  const ms = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? "-" : `${Math.round(n)} ms`);
  const kinds = Object.entries(r.errorKinds)
    .map(([k, v]) => `${k} x${v}`)
    .join(", ");
  return [
    `load test (${r.profile} profile) against ${r.target} — engine: ${r.engine}`,
    r.note ? `  note: ${r.note}` : "",
    `  requests:     ${r.requests} in ${r.durationSec.toFixed(1)} s (${r.requestsPerSec.toFixed(2)}/s), accepted (202): ${r.accepted}`,
    `  errors:       ${r.errors}${kinds ? ` (${kinds})` : ""}`,
    `  POST latency: p50 ${ms(r.postLatencyMs.p50)}, p95 ${ms(r.postLatencyMs.p95)}, p99 ${ms(r.postLatencyMs.p99)}`,
    r.endToEndMs
      ? `  end to end (${r.engine.startsWith("built-in") ? "POST to complete event" : "session created to finished"}): p50 ${ms(r.endToEndMs.p50)}, p95 ${ms(r.endToEndMs.p95)}, p99 ${ms(r.endToEndMs.p99)}`
      : "",
    `  sessions:     ${r.sessions.finished}/${r.sessions.total} finished, ${r.sessions.unfinished} unfinished; images done ${r.sessions.imagesDone}, failed ${r.sessions.imagesFailed}${r.drainSec !== undefined ? `; the last finished ${r.drainSec.toFixed(2)} s after the last arrival` : ""}`,
    r.spanSec
      ? `  processed:    ${(r.sessions.imagesDone / r.spanSec).toFixed(2)} images/s from the first arrival to the last session finished`
      : "",
    `  result:       ${verdict ?? (r.errors === 0 && r.sessions.imagesFailed === 0 && r.sessions.unfinished === 0 ? "PASS (zero errors)" : "FAIL")}`,
  ]
    .filter(Boolean)
    .join("\n");
}

/** The phases scaled to `totalSec` in all (each at least 1 s), keeping their shape and rates. */
export function scalePhases(phases: Phase[], totalSec?: number): Phase[] {
  if (totalSec === undefined) return phases;
  if (!(totalSec > 0)) throw new Error("--duration must be a positive number of seconds");
  const total = phases.reduce((s, p) => s + p.duration, 0);
  return phases.map((p) => ({ ...p, duration: Math.max(1, Math.round((p.duration * totalSec) / total)) }));
}

/** Sessions in the clean batch that must complete after the faulty run. */
const CLEAN_BATCH = 5;

/**
 * --faults: the profile against an in-process server while one fault of ROTATION is armed every
 * `everySec` seconds; then the errors against the faults that hit, a store audit of every accepted
 * session, and a clean batch on the same server. Exit code 0 only if nothing was lost.
 */
async function runWithFaults(phases: Phase[], profile: string, everySec: number): Promise<number> {
  const workDir = await mkdtemp(path.join(os.tmpdir(), "imgedit-load-faults-"));
  const totalSec = phases.reduce((s, p) => s + p.duration, 0);
  const srv = await startFaultyLoadServer({
    dataDir: path.join(workDir, "data"),
    imageFile: process.env.LOAD_IMAGE ?? processor.DEFAULT_IMAGE,
  });
  try {
    log(
      `faults: one of ${ROTATION.join(", ")} every ${everySec} s, in turn; ` +
        `running ${phases.map((p) => `${p.name}: ${p.arrivalRate}/s for ${p.duration} s`).join(", ")}...`,
    );
    const armed: string[] = [];
    const ticker = setInterval(() => armed.push(srv.arm()), everySec * 1000);
    const stopArming = setTimeout(() => clearInterval(ticker), totalSec * 1000);
    // Bounded: a session not finished 30 s after the arrivals end counts as lost.
    const { outcomes, ...b } = await runBuiltin(phases, srv.target, srv.imageUrl, srv.secret, totalSec * 1000 + 30_000);
    clearInterval(ticker);
    clearTimeout(stopArming);
    srv.disarm(); // armed but never hit: not carried into the clean batch
    const report: Report = {
      ...b,
      engine: "built-in Node generator (in-process server, faults)",
      target: srv.target,
      profile,
    };
    const { hit, bound } = failureBound(srv.faults);
    const accepted = outcomes.filter((o) => o.status === 202 && o.sessionId).map((o) => o.sessionId as string);
    log(`arrivals and drain done in ${b.spanSec.toFixed(1)} s; auditing ${accepted.length} sessions in the stores...`);
    const problems = await srv.audit(accepted);
    log(`audit done; a clean batch of ${CLEAN_BATCH} sessions...`);
    const clean = await Promise.all(
      Array.from({ length: CLEAN_BATCH }, (_, i) =>
        runSession(
          srv.target,
          processor.mintToken(`load-clean-${i}`, srv.secret),
          [{ id: `clean${i}`, url: srv.imageUrl, name: "test.jpg" }],
          "resize to 800px",
          30_000,
        ),
      ),
    );
    const result = {
      armed: armed.length,
      hit,
      injected: srv.faults.injected,
      requests: b.requests,
      errors: b.errors,
      accepted: accepted.length,
      sessionsLost: b.sessions.unfinished,
      imagesDone: b.sessions.imagesDone,
      imagesFailed: b.sessions.imagesFailed,
      failureBound: bound,
      auditProblems: problems,
      cleanBatch: { sessions: CLEAN_BATCH, completed: clean.filter((o) => o.ok).length },
    };
    const ok =
      result.errors === 0 &&
      result.sessionsLost === 0 &&
      result.imagesFailed <= bound &&
      problems.length === 0 &&
      result.cleanBatch.completed === CLEAN_BATCH;
    process.stdout.write(`${render(report, ok ? "PASS (failures within the faults that hit, nothing lost)" : "FAIL")}
`);
    process.stdout.write(
      [
        `  faults:       ${armed.length} armed (every ${everySec} s), ${hit} hit: ${Object.entries(srv.faults.injected)
          .map(([k, v]) => `${k} x${v}`)
          .join(", ")}`,
        `  vs. errors:   ${result.errors} refused requests; ${result.imagesFailed} images failed, bound ${bound} (a killed busy thread fails its image; a retryable fault fails one only by hitting all 3 attempts)`,
        `  stores:       ${accepted.length} sessions audited, ${problems.length} problems${problems.length ? `: ${problems.slice(0, 5).join("; ")}` : ""}`,
        `  recovery:     clean batch ${result.cleanBatch.completed}/${CLEAN_BATCH} completed on the same server (no restart)`,
        `faults-result: ${JSON.stringify(result)}`,
      ].join("\n") + "\n",
    );
    return ok ? 0 : 1;
  } finally {
    await srv.close();
    await rm(workDir, { recursive: true, force: true });
  }
}

async function main(argv: string[]): Promise<number> {
  const full = argv.includes("--full");
  const engineIdx = argv.indexOf("--engine");
  const engineWanted = engineIdx >= 0 ? argv[engineIdx + 1] : (process.env.LOAD_ENGINE ?? "auto");
  if (!["auto", "artillery", "builtin"].includes(engineWanted ?? ""))
    throw new Error("--engine must be auto, artillery or builtin");
  const yml = path.join(here, full ? "image-processing.yml" : "image-processing.short.yml");
  const durationIdx = argv.indexOf("--duration");
  const phases = scalePhases(
    readPhases(readFileSync(yml, "utf8")),
    durationIdx >= 0 ? Number(argv[durationIdx + 1]) : undefined,
  );
  if (argv.includes("--faults")) {
    if (process.env.TARGET) throw new Error("--faults runs its own server in this process; unset TARGET");
    const everyIdx = argv.indexOf("--fault-every");
    const everySec = everyIdx >= 0 ? Number(argv[everyIdx + 1]) : 3;
    if (!(everySec > 0)) throw new Error("--fault-every must be a positive number of seconds");
    return runWithFaults(phases, full ? "full (guide)" : "short", everySec);
  }
  const totalSec = phases.reduce((s, p) => s + p.duration, 0);
  const workDir = await mkdtemp(path.join(os.tmpdir(), "imgedit-load-"));
  const env: NodeJS.ProcessEnv = { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: "1" };
  delete env.VIPSHOME;
  let server: ServerProcess | undefined;
  try {
    let target = process.env.TARGET;
    if (!process.env.IMAGE_URL) env.LOAD_IMAGE_PORT = process.env.LOAD_IMAGE_PORT ?? String(await freePort());
    if (!target) {
      env.DATA_DIR = path.join(workDir, "data");
      log("starting the local server...");
      // the server's own defaults, except: where it keeps data, its log level, and the image host allowed
      server = await startServerProcess({
        PORT: "0",
        HOST: "127.0.0.1",
        DATA_DIR: env.DATA_DIR,
        LOG_LEVEL: "warn",
        FETCH_ALLOW_HOSTS: `127.0.0.1:${env.LOAD_IMAGE_PORT}`,
        ...(process.env.JWT_SECRET ? { JWT_SECRET: process.env.JWT_SECRET } : {}),
      });
      target = server.url;
    }
    // the processor reads the secret from JWT_SECRET or DATA_DIR, as the server does
    for (const k of ["DATA_DIR", "LOAD_IMAGE_PORT"] as const) if (env[k] !== undefined) process.env[k] = env[k];
    const key = processor.secret();

    let engine = engineWanted === "builtin" ? "builtin" : "artillery";
    let note: string | undefined;
    if (engine === "artillery") {
      const why = await artilleryAvailable(env, Number(process.env.LOAD_ARTILLERY_TIMEOUT_MS ?? 300_000));
      if (why) {
        if (engineWanted === "artillery") throw new Error(`Artillery is not available: ${why}`);
        note = `Artillery could not run here (${why}); used the built-in generator with the same phases`;
        log(note);
        engine = "builtin";
      }
    }
    log(
      `running ${phases.map((p) => `${p.name}: ${p.arrivalRate}/s for ${p.duration} s`).join(", ")} with ${engine}...`,
    );
    let report: Report;
    const profile = full ? "full (guide)" : "short";
    if (engine === "artillery") {
      const a = await runArtillery(yml, target, env, workDir, totalSec);
      log(`waiting for ${a.sessions.length} sessions to finish...`);
      const w = await waitForSessions(target, a.sessions, 300_000);
      const { sessions: _ignored, ...rest } = a;
      report = {
        ...rest,
        engine: "Artillery 2 (npx)",
        target,
        profile,
        sessions: w.sessions,
        endToEndMs: w.endToEndMs,
        drainSec: w.drainSec,
        spanSec: w.spanSec,
        note,
      };
    } else {
      const imageUrl = await processor.ensureImageServer();
      const { outcomes: _o, ...b } = await runBuiltin(phases, target, imageUrl, key);
      report = { ...b, engine: "built-in Node generator (fetch, arrival-rate scheduler)", target, profile, note };
    }
    process.stdout.write(`${render(report)}\n`);
    const serverRss = server?.peakRssMB();
    if (serverRss) process.stdout.write(`  server peak RSS: ${serverRss.toFixed(0)} MB\n`);
    const ok = report.errors === 0 && report.sessions.imagesFailed === 0 && report.sessions.unfinished === 0;
    return ok ? 0 : 1;
  } finally {
    await server?.close();
    await rm(workDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exit(code);
    },
    (e: unknown) => {
      process.stderr.write(`load: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
