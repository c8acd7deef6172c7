// The service on one machine: SQLite sessions, filesystem objects, an in-process job queue with
// CPU work in worker threads, prom-client metrics, the Hono app on @hono/node-server.
import fs from "node:fs";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { getRequestListener } from "@hono/node-server";
import { clientErrorListener, expectationListener, requestErrorHandler } from "./adapters/local/client-error.js";
import { CoalescingResponse } from "./adapters/local/coalescing-response.js";
import { lockDataDir } from "./adapters/local/data-lock.js";
import { FsObjectStore } from "./adapters/local/fs-objects.js";
import { LocalJobRunner } from "./adapters/local/job-runner.js";
import { PromMetrics } from "./adapters/local/prom-metrics.js";
import { loadOrCreateSecret } from "./adapters/local/secret.js";
import { SqliteSessionStore } from "./adapters/local/sqlite-sessions.js";
import { staticFiles } from "./adapters/local/static-files.js";
import { removeTempFiles, startSweeper, sweep } from "./adapters/local/sweeper.js";
import { WorkerPool } from "./adapters/local/worker-pool.js";
import type { Config } from "./config.js";
import { limitsFromConfig } from "./core/limits.js";
import { probeImage } from "./core/pipeline.js";
import { fetchPolicyFromConfig, sniffImageType } from "./fetch/index.js";
import { createApp } from "./http/app.js";
import { type Auth, createAuth } from "./http/auth.js";
import { createLogger, type Logger } from "./logger.js";
import type { Clock, Job, JobRunner, ObjectStore, SessionStore } from "./ports.js";
import { resumeUnfinished } from "./service/recover.js";
import { type JobDeps, runJob } from "./service/run-job.js";
import { makeFetchSource } from "./service/source.js";
import { withChangeNotifications } from "./service/watch.js";

export interface LocalServerOptions {
  logger?: Logger;
  clock?: Clock;
  /** SSE heartbeat interval (default 15 s). */
  heartbeatMs?: number;
  /** Sweeper interval (default 10 min); 0 turns the timer off (sweepNow still works). */
  sweepIntervalMs?: number;
  /** Orphan-file grace period for the sweeper (default 1 h). */
  sweepGraceMs?: number;
  /** First retry delay of a job (default 500 ms). */
  retryBaseMs?: number;
  /** Directory of the built page (default web/dist of this package). */
  webRoot?: string;
  /** Stores in place of SQLite and the filesystem (tests run the service on DynamoDB/S3 emulators). */
  stores?: { sessions: SessionStore; objects: ObjectStore };
  /** Wrappers around the ports the service uses (fault injection in tests); production sets none. */
  wrap?: {
    sessions?(store: SessionStore): SessionStore;
    objects?(store: ObjectStore): ObjectStore;
    /** Gets the worker pool's processor and the pool itself (a test may kill a busy thread). */
    process?(process: JobDeps["process"], pool: WorkerPool): JobDeps["process"];
    /** The job queue the HTTP app hands edits to. */
    jobs?(runner: JobRunner): JobRunner;
  };
}

export interface LocalServer {
  url: string;
  port: number;
  auth: Auth;
  /** Mint a local token (local mode). */
  token(user: string, ttlSec?: number): Promise<string>;
  /** Run the sweeper once. */
  sweepNow(): ReturnType<typeof sweep>;
  /** Resolves when no job is queued or running. */
  idle(): Promise<void>;
  /** Hand jobs to the runner (again: tests deliver at least once, like a queue). */
  enqueue(jobs: Job[]): Promise<void>;
  /**
   * Stop: refuse new connections, let running jobs finish for up to graceMs (default 10 s), then
   * abort them (their images resume on the next start), close streams, workers and the database.
   */
  close(opts?: { graceMs?: number }): Promise<void>;
}

const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export async function startLocalServer(config: Config, opts: LocalServerOptions = {}): Promise<LocalServer> {
  const logger = opts.logger ?? createLogger(config);
  const clock = opts.clock ?? { now: () => Date.now() };
  fs.mkdirSync(config.DATA_DIR, { recursive: true });
  const unlock = opts.stores ? () => undefined : lockDataDir(config.DATA_DIR);
  // What a start that fails part-way (a port in use) must release, latest first: the lock above
  // all, or a retry from this same process would find DATA_DIR "in use" by itself.
  const undo: (() => unknown)[] = [unlock];
  try {
    return await startLocked(config, opts, logger, clock, unlock, undo);
  } catch (e) {
    for (const step of undo.reverse())
      await Promise.resolve()
        .then(step)
        .catch(() => undefined);
    throw e;
  }
}

async function startLocked(
  config: Config,
  opts: LocalServerOptions,
  logger: Logger,
  clock: Clock,
  unlock: () => void,
  undo: (() => unknown)[],
): Promise<LocalServer> {
  const secret = loadOrCreateSecret(config);
  const limits = limitsFromConfig(config);
  const metrics = new PromMetrics();
  const fsObjects = opts.stores
    ? undefined
    : new FsObjectStore(path.join(config.DATA_DIR, "objects"), { secret, baseUrl: "", clock, sniff: sniffImageType });
  // Made now, so a file in its place stops the start with a clear message, not every image later.
  if (fsObjects) {
    fs.mkdirSync(fsObjects.root, { recursive: true });
    await removeTempFiles(fsObjects, logger);
  }
  const baseSessions =
    opts.stores?.sessions ?? new SqliteSessionStore(path.join(config.DATA_DIR, "sessions.db"), { clock });
  if (!opts.stores) undo.push(() => baseSessions.close?.());
  const baseObjects = opts.stores?.objects ?? (fsObjects as ObjectStore);
  const wrap = opts.wrap ?? {};
  const { store: sessions, watcher } = withChangeNotifications(wrap.sessions?.(baseSessions) ?? baseSessions);
  const objects = wrap.objects?.(baseObjects) ?? baseObjects;
  const pool = new WorkerPool(config.WORKER_CONCURRENCY, { threads: config.WORKER_THREADS });
  undo.push(() => pool.close());
  const policy = fetchPolicyFromConfig(config);
  const jobDeps: JobDeps = {
    config,
    limits,
    sessions,
    objects,
    metrics,
    logger,
    clock,
    // runJob never reads an input again once it is processing (a retry fetches it afresh).
    process: wrap.process?.(pool.processOwned, pool) ?? pool.processOwned,
    fetchSource: makeFetchSource(objects, policy),
    retryBaseMs: opts.retryBaseMs,
  };
  // Twice as many jobs as images processed at once: while one image downloads, another's pixels
  // keep a core busy.
  const jobs = new LocalJobRunner(
    (job, signal) => runJob(job, jobDeps, { signal }),
    config.WORKER_CONCURRENCY * 2,
    logger,
    (depth) => metrics.gauge("queue_depth", depth),
    opts.retryBaseMs !== undefined ? opts.retryBaseMs * 2 : undefined,
  );
  const auth = createAuth({ config, secret, clock });
  let ready = true;
  const webRoot = opts.webRoot ?? path.join(PACKAGE_ROOT, "web", "dist");
  const app = createApp({
    config,
    limits,
    sessions,
    objects,
    jobs: wrap.jobs?.(jobs) ?? jobs,
    watcher,
    metrics,
    logger,
    clock,
    auth,
    probe: probeImage,
    // Other stores serve their files themselves (S3 presigned URLs).
    verifySignedFile: fsObjects ? (key, exp, sig) => fsObjects.verifySignedGet(key, exp, sig) : undefined,
    assets: staticFiles(webRoot),
    sseHeartbeatMs: opts.heartbeatMs,
    isReady: () => ready,
    healthProblem: baseSessions instanceof SqliteSessionStore ? () => baseSessions.fileProblem() : undefined,
  });

  const server = await new Promise<Server>((resolve, reject) => {
    // No default host for the adapter and none required by Node: a request without a Host header
    // reaches the error handler and gets the API's JSON 400 rather than Node's empty one.
    const s = createServer(
      { ServerResponse: CoalescingResponse as unknown as typeof ServerResponse, requireHostHeader: false },
      getRequestListener(app.fetch, { errorHandler: requestErrorHandler({ metrics, logger }) }),
    );
    s.listen(config.PORT, config.HOST, () => resolve(s));
    s.once("error", reject);
    s.on("clientError", clientErrorListener({ metrics, logger }));
    s.on("checkExpectation", expectationListener({ metrics, logger }));
  });
  undo.push(() => new Promise((r) => server.close(r)));
  const addr = server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  const url = `http://${host === "0.0.0.0" || host === "[::]" ? "127.0.0.1" : host}:${addr.port}`;

  // The sweeper walks the object directory: only with the filesystem store.
  const sweepOpts = fsObjects && {
    sessions,
    objects: fsObjects,
    clock,
    logger,
    graceMs: opts.sweepGraceMs ?? 3_600_000,
    uploadTtlMs: config.SESSION_TTL_DAYS * 86_400_000,
  };
  const stopSweeper =
    opts.sweepIntervalMs === 0 || !sweepOpts
      ? () => {}
      : startSweeper({ ...sweepOpts, intervalMs: opts.sweepIntervalMs ?? 600_000 });
  undo.push(stopSweeper, () => jobs.stop(0));

  await resumeUnfinished({ config, sessions, jobs, logger, metrics });
  logger.info({ url, dataDir: path.resolve(config.DATA_DIR), workers: config.WORKER_CONCURRENCY }, "imgedit listening");

  let closing: Promise<void> | undefined;
  return {
    url,
    port: addr.port,
    auth,
    token: (user, ttlSec) => auth.mint(user, ttlSec),
    sweepNow: () =>
      sweepOpts ? sweep(sweepOpts) : Promise.reject(new Error("no sweeper: the objects are not on the filesystem")),
    idle: () => jobs.idle(),
    enqueue: (again) => jobs.enqueue(again),
    close(closeOpts = {}) {
      closing ??= (async () => {
        ready = false;
        stopSweeper();
        const stopped = new Promise<void>((r) => server.close(() => r()));
        server.closeIdleConnections?.();
        await jobs.stop(closeOpts.graceMs ?? 10_000);
        // Progress streams never end on their own while a client listens.
        server.closeAllConnections?.();
        await stopped;
        await pool.close();
        await sessions.close?.();
        unlock();
        logger.info("imgedit stopped");
      })();
      return closing;
    },
  };
}
