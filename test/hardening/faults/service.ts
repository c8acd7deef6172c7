// The local service (startLocalServer: SQLite sessions, filesystem objects, worker threads, the job
// runner, the Hono app on a loopback port) with its ports wrapped in fault-injecting decorators: an
// object store that refuses or times out on writes, a session store that refuses writes, a
// processor that throws, and a handle on the worker pool to kill a thread mid-image. The same
// service runs on the AWS stores (DynamoDB on dynalite, S3 on s3rver) with the local job runner in
// place of Lambda.
import { DynamoSessionStore, dynamoDocumentClient, S3ObjectStore, s3Client } from "../../../src/adapters/aws/index.js";
import { silentLogger } from "../../../src/logger.js";
import type { Job, ObjectStore, SessionStore } from "../../../src/ports.js";
import { startLocalServer } from "../../../src/server.js";
import { tempDir, testConfig } from "../../http/harness.js";
import { type Faults, faultyObjects, faultyProcess, faultySessions, newFaults } from "./inject.js";

export type { Faults } from "./inject.js";

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
  const faults = newFaults();
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
      process: faultyProcess(faults),
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
