// The local service (startLocalServer: SQLite sessions, filesystem objects, worker threads, the job
// runner, the Hono app on a loopback port) with its ports wrapped in fault-injecting decorators: an
// object store that refuses or times out on writes, a session store that refuses writes, a
// processor that throws, and a handle on the worker pool to kill a thread mid-image. The same
// service runs on the AWS stores (DynamoDB on dynalite, S3 on s3rver) with the local job runner in
// place of Lambda.
import { DynamoSessionStore, dynamoDocumentClient, S3ObjectStore, s3Client } from "../../../src/adapters/aws/index.js";
import type { WorkerPool } from "../../../src/adapters/local/worker-pool.js";
import type { Plan } from "../../../src/core/operations.js";
import type { ProcessOptions, ProcessResult } from "../../../src/core/pipeline.js";
import { silentLogger } from "../../../src/logger.js";
import type { Job, ObjectStore, SessionStore } from "../../../src/ports.js";
import { startLocalServer } from "../../../src/server.js";
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
  const faults: Faults = {
    putErrors: 0,
    putTimeouts: 0,
    putTimeoutMs: 200,
    sessionWriteErrors: 0,
    processThrows: 0,
    workerKills: 0,
    injected: {},
  };
  let stores: { sessions: SessionStore; objects: ObjectStore } | undefined;
  if (backend.kind === "aws") {
    const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
    stores = {
      sessions: new DynamoSessionStore({
        client: dynamoDocumentClient({ endpoint: backend.dynamoEndpoint, region: "us-east-1", credentials }),
        table: backend.table,
      }),
      objects: new S3ObjectStore({
        client: s3Client({ endpoint: backend.s3Endpoint, region: "us-east-1", credentials }),
        bucket: backend.bucket,
      }),
    };
  }
  // The stores as they are, for tests to look behind the faults.
  let baseSessions = stores?.sessions as SessionStore;
  let baseObjects = stores?.objects as ObjectStore;
  const faultyProcess =
    (process: Processor, pool: WorkerPool): Processor =>
    async (input, plan, opts) => {
      if (faults.processThrows > 0) {
        faults.processThrows--;
        note(faults, "process-throw");
        throw new TypeError("Cannot read properties of undefined (reading 'width') (injected)");
      }
      if (faults.workerKills > 0) {
        faults.workerKills--;
        note(faults, "worker-kill");
        const running = process(input, plan, opts);
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
      return process(input, plan, opts);
    };
  const server = await startLocalServer(config, {
    logger: silentLogger(),
    heartbeatMs: 200,
    sweepIntervalMs: 0,
    retryBaseMs: 20,
    stores,
    wrap: {
      sessions: (s) => {
        baseSessions = s;
        return faultySessions(s, faults);
      },
      objects: (o) => {
        baseObjects = o;
        return faultyObjects(o, faults);
      },
      process: faultyProcess,
    },
  });
  const base = server.url;
  const token = (user = "alice") => server.token(user, 3600);
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
    idle: () => server.idle(),
    redeliver: (again) => server.enqueue(again),
    close: () => server.close({ graceMs: 2000 }),
  };
}

type Processor = (input: Buffer, plan: Plan, opts: ProcessOptions) => Promise<ProcessResult>;
