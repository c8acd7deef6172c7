// The local service assembled from its real parts (SQLite sessions, filesystem objects, worker
// threads, the job runner, the Hono app on a loopback port), the way src/server.ts assembles it,
// but with the ports wrapped in fault-injecting decorators: an object store that refuses or times
// out on writes, a session store that refuses writes, a processor that throws, and a handle on the
// worker pool to kill a thread mid-image. startLocalServer has no seams for these, so the wiring is
// repeated here (test-only). The same wiring runs on the AWS stores (DynamoDB on dynalite, S3 on
// s3rver) with the local job runner in place of Lambda.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { serve } from "@hono/node-server";
import { DynamoSessionStore, dynamoDocumentClient, S3ObjectStore, s3Client } from "../../../src/adapters/aws/index.js";
import { FsObjectStore } from "../../../src/adapters/local/fs-objects.js";
import { LocalJobRunner } from "../../../src/adapters/local/job-runner.js";
import { PromMetrics } from "../../../src/adapters/local/prom-metrics.js";
import { SqliteSessionStore } from "../../../src/adapters/local/sqlite-sessions.js";
import { WorkerPool } from "../../../src/adapters/local/worker-pool.js";
import { limitsFromConfig } from "../../../src/core/limits.js";
import type { Plan } from "../../../src/core/operations.js";
import { type ProcessOptions, type ProcessResult, probeImage } from "../../../src/core/pipeline.js";
import { fetchPolicyFromConfig, sniffImageType } from "../../../src/fetch/index.js";
import { createApp } from "../../../src/http/app.js";
import { createAuth } from "../../../src/http/auth.js";
import { silentLogger } from "../../../src/logger.js";
import type { Job, ObjectStore, SessionStore } from "../../../src/ports.js";
import { type JobDeps, runJob } from "../../../src/service/run-job.js";
import { makeFetchSource } from "../../../src/service/source.js";
import { withChangeNotifications } from "../../../src/service/watch.js";
import { tempDir, testConfig } from "../../http/harness.js";

/** What to break next; each counter is consumed one fault per call. */
export interface Faults {
  /** Object store put() calls that throw (like a full disk or a refused S3 PUT). */
  putErrors: number;
  /** Object store put() calls that wait this long and then fail with a timeout. */
  putTimeouts: number;
  putTimeoutMs: number;
  /** Session store updateImage() calls that throw. */
  sessionWriteErrors: number;
  /** Only fail session writes that set this status (e.g. "done"); any status when unset. */
  sessionWriteStatus?: string;
  /** Processor calls that throw an untyped Error (a bug or crash inside processing). */
  processThrows: number;
  /** Processor calls during which the worker thread running the image is terminated. */
  workerKills: number;
  /** Faults actually injected, by kind. */
  injected: Record<string, number>;
}

export interface FaultyService {
  base: string;
  faults: Faults;
  objects: ObjectStore;
  sessions: SessionStore;
  token(user?: string): Promise<string>;
  api(pathname: string, init?: RequestInit & { user?: string }): Promise<Response>;
  idle(): Promise<void>;
  /** Deliver jobs again (a queue's at-least-once delivery). */
  redeliver(jobs: Job[]): Promise<void>;
  close(): Promise<void>;
}

const note = (f: Faults, kind: string) => {
  f.injected[kind] = (f.injected[kind] ?? 0) + 1;
};

function faultyObjects(inner: ObjectStore, f: Faults): ObjectStore {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "put")
        return async (key: string, body: Buffer, contentType: string) => {
          if (f.putErrors > 0) {
            f.putErrors--;
            note(f, "put-error");
            throw Object.assign(new Error("EIO: i/o error, write (injected)"), { code: "EIO" });
          }
          if (f.putTimeouts > 0) {
            f.putTimeouts--;
            note(f, "put-timeout");
            await new Promise((r) => setTimeout(r, f.putTimeoutMs));
            throw Object.assign(new Error("write timed out (injected)"), { name: "TimeoutError" });
          }
          return target.put(key, body, contentType);
        };
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

function faultySessions(inner: SessionStore, f: Faults): SessionStore {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "updateImage")
        return async (sessionId: string, imageId: string, patch: { status?: string }) => {
          const matches = f.sessionWriteStatus === undefined || patch.status === f.sessionWriteStatus;
          if (f.sessionWriteErrors > 0 && matches) {
            f.sessionWriteErrors--;
            note(f, "session-write-error");
            throw Object.assign(new Error("SQLITE_BUSY: database is locked (injected)"), { code: "SQLITE_BUSY" });
          }
          return target.updateImage(sessionId, imageId, patch as never);
        };
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** The stores under test: local (SQLite + files, the default) or AWS (DynamoDB + S3 on loopback). */
export type Backend =
  | { kind: "local" }
  | { kind: "aws"; dynamoEndpoint: string; s3Endpoint: string; table: string; bucket: string };

export async function startFaultyService(
  env: Record<string, string> = {},
  backend: Backend = { kind: "local" },
): Promise<FaultyService> {
  const dataDir = tempDir("imgedit-faults-");
  const config = testConfig(dataDir, { JWT_SECRET: "h9-fault-injection-secret-0123456789abcdef", ...env });
  const clock = { now: () => Date.now() };
  const logger = silentLogger();
  const limits = limitsFromConfig(config);
  const faults: Faults = {
    putErrors: 0,
    putTimeouts: 0,
    putTimeoutMs: 200,
    sessionWriteErrors: 0,
    processThrows: 0,
    workerKills: 0,
    injected: {},
  };
  const secret = new TextEncoder().encode(config.JWT_SECRET);
  let baseSessions: SessionStore;
  let baseObjects: ObjectStore;
  let verifySignedFile: ((key: string, exp?: string, sig?: string) => boolean) | undefined;
  if (backend.kind === "local") {
    baseSessions = new SqliteSessionStore(path.join(dataDir, "sessions.db"), { clock });
    const fsObjects = new FsObjectStore(path.join(dataDir, "objects"), {
      secret,
      baseUrl: "",
      clock,
      sniff: sniffImageType,
    });
    baseObjects = fsObjects;
    verifySignedFile = (key, exp, sig) => fsObjects.verifySignedGet(key, exp, sig);
  } else {
    const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
    baseSessions = new DynamoSessionStore({
      client: dynamoDocumentClient({ endpoint: backend.dynamoEndpoint, region: "us-east-1", credentials }),
      table: backend.table,
    });
    baseObjects = new S3ObjectStore({
      client: s3Client({ endpoint: backend.s3Endpoint, region: "us-east-1", credentials }),
      bucket: backend.bucket,
    });
  }
  const { store, watcher } = withChangeNotifications(faultySessions(baseSessions, faults));
  const objects = faultyObjects(baseObjects, faults);
  const pool = new WorkerPool(config.WORKER_CONCURRENCY);
  const process = async (input: Buffer, plan: Plan, opts: ProcessOptions): Promise<ProcessResult> => {
    if (faults.processThrows > 0) {
      faults.processThrows--;
      note(faults, "process-throw");
      throw new TypeError("Cannot read properties of undefined (reading 'width') (injected)");
    }
    if (faults.workerKills > 0) {
      faults.workerKills--;
      note(faults, "worker-kill");
      const running = pool.process(input, plan, opts);
      // Kill the thread that took this image: pool.process hands the task to a free thread at once.
      const slots = (pool as unknown as { slots: { worker: { terminate(): Promise<number> }; task?: unknown }[] })
        .slots;
      for (const s of slots)
        if (s.task) {
          note(faults, "worker-terminated-busy");
          void s.worker.terminate();
        }
      return running;
    }
    return pool.process(input, plan, opts);
  };
  const metrics = new PromMetrics();
  const jobDeps: JobDeps = {
    config,
    limits,
    sessions: store,
    objects,
    metrics,
    logger,
    clock,
    process,
    fetchSource: makeFetchSource(objects, fetchPolicyFromConfig(config)),
    probe: probeImage,
    retryBaseMs: 20,
  };
  const jobs = new LocalJobRunner(
    (job, signal) => runJob(job, jobDeps, { signal }),
    config.WORKER_CONCURRENCY * 2,
    logger,
  );
  const auth = createAuth({ config, secret, clock });
  const app = createApp({
    config,
    limits,
    sessions: store,
    objects,
    jobs,
    watcher,
    metrics,
    logger,
    clock,
    auth,
    probe: probeImage,
    verifySignedFile,
    sseHeartbeatMs: 200,
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s as Server)) as Server;
    s.once("error", reject);
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const token = (user = "alice") => auth.mint(user, 3600);
  return {
    base,
    faults,
    objects: baseObjects,
    sessions: baseSessions,
    token,
    async api(pathname, init = {}) {
      const { user = "alice", ...rest } = init;
      const headers = new Headers(rest.headers);
      headers.set("authorization", `Bearer ${await token(user)}`);
      if (typeof rest.body === "string") headers.set("content-type", "application/json");
      return fetch(base + pathname, { ...rest, headers });
    },
    idle: () => jobs.idle(),
    redeliver: (again) => jobs.enqueue(again),
    async close() {
      const stopped = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections?.();
      await jobs.stop(2000);
      server.closeAllConnections?.();
      await stopped;
      await pool.close();
      await baseSessions.close?.();
    },
  };
}
