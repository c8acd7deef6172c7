// `npm run load -- --faults`: the local service in this process (startLocalServer with the fault
// decorators of test/hardening/faults/inject.ts around its ports), an image source that can reset
// or hang a request, and a rotation that arms one fault every few seconds while the load runs.
// Afterwards: the errors are set against the faults that hit, every accepted session is checked in
// the stores (terminal; each done image has its file; no file without a done image), and a clean
// batch must complete on the same server (recovery without a restart).
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import type net from "node:net";
import { loadConfig } from "../../src/config.js";
import { silentLogger } from "../../src/logger.js";
import type { ObjectStore, SessionStore } from "../../src/ports.js";
import { type LocalServer, startLocalServer } from "../../src/server.js";
import {
  type Faults,
  faultyObjects,
  faultyProcess,
  faultySessions,
  injectedCount,
  newFaults,
  note,
} from "../../test/hardening/faults/inject.js";

/** The port faults plus the image source's: requests it drops, and requests it never answers. */
export interface LoadFaults extends Faults {
  sourceResets: number;
  sourceHangs: number;
}

/** One fault per tick, in this order: the object store, the session store, the source, a worker. */
export const ROTATION = ["put-error", "session-write-error", "source-reset", "source-hang", "worker-kill"] as const;

export interface FaultyLoadServer {
  target: string;
  imageUrl: string;
  secret: string;
  faults: LoadFaults;
  /** Arm the next fault of the rotation; returns its kind. */
  arm(): string;
  /** Disarm whatever was armed and not yet hit. */
  disarm(): void;
  /** Check every given session in the stores; returns one line per problem. */
  audit(sessionIds: string[]): Promise<string[]>;
  close(): Promise<void>;
}

/** A loopback source for one image that drops or holds a request when a fault is armed. */
async function startSource(file: string, f: LoadFaults) {
  const body = readFileSync(file);
  const server = http.createServer((req, res) => {
    if (!req.url?.startsWith("/test.jpg")) return res.writeHead(404).end();
    if (f.sourceResets > 0) {
      f.sourceResets--;
      note(f, "source-reset");
      return req.socket.destroy();
    }
    if (f.sourceHangs > 0) {
      f.sourceHangs--;
      note(f, "source-hang");
      return; // never answers: the fetch times out
    }
    res.writeHead(200, { "content-type": "image/jpeg", "content-length": body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/test.jpg`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export async function startFaultyLoadServer(opts: {
  dataDir: string;
  imageFile: string;
  /** Per fetch attempt; a hung source costs this much per hit. */
  fetchTimeoutMs?: number;
}): Promise<FaultyLoadServer> {
  const faults: LoadFaults = { ...newFaults(), sourceResets: 0, sourceHangs: 0 };
  const source = await startSource(opts.imageFile, faults);
  const secret = randomBytes(32).toString("hex");
  const config = loadConfig({
    DATA_DIR: opts.dataDir,
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "silent",
    JWT_SECRET: secret,
    FETCH_ALLOW_HOSTS: new URL(source.url).host,
    FETCH_TIMEOUT_MS: String(opts.fetchTimeoutMs ?? 2000),
    JOB_MAX_ATTEMPTS: "3",
    WORKER_THREADS: "always", // so the worker-kill fault has a thread to kill
  });
  let sessions: SessionStore | undefined;
  let objects: ObjectStore | undefined;
  const server: LocalServer = await startLocalServer(config, {
    logger: silentLogger(),
    retryBaseMs: 100,
    sweepIntervalMs: 0,
    wrap: {
      sessions: (s) => {
        sessions = s; // the store as it is, for the audit
        return faultySessions(s, faults);
      },
      objects: (o) => {
        objects = o;
        return faultyObjects(o, faults);
      },
      process: faultyProcess(faults),
    },
  });
  let next = 0;
  return {
    target: server.url,
    imageUrl: source.url,
    secret,
    faults,
    arm() {
      const kind = ROTATION[next++ % ROTATION.length];
      if (kind === "put-error") faults.putErrors++;
      else if (kind === "session-write-error") faults.sessionWriteErrors++;
      else if (kind === "source-reset") faults.sourceResets++;
      else if (kind === "source-hang") faults.sourceHangs++;
      else faults.workerKills++;
      return kind;
    },
    disarm() {
      Object.assign(faults, { putErrors: 0, sessionWriteErrors: 0, sourceResets: 0, sourceHangs: 0, workerKills: 0 });
    },
    async audit(ids) {
      const problems: string[] = [];
      // One listing of the whole store (the filesystem store walks its tree on every list()).
      const filesBySession = new Map<string, string[]>();
      for (const k of await objects!.list("")) {
        const prefix = k.split("/").slice(0, 2).join("/");
        filesBySession.set(prefix, [...(filesBySession.get(prefix) ?? []), k]);
      }
      const auditOne = async (id: string) => {
        const s = await sessions!.get(id);
        if (!s) {
          problems.push(`${id}: not in the store`);
          return;
        }
        if (!["completed", "partial", "failed"].includes(s.status)) problems.push(`${id}: still ${s.status}`);
        const done: string[] = [];
        for (const img of s.images) {
          if (img.status === "done") {
            if (!img.result?.key || !(await objects!.exists(img.result.key)))
              problems.push(`${id}/${img.id}: done without its file`);
            else done.push(img.result.key);
          } else if (img.status !== "failed") problems.push(`${id}/${img.id}: still ${img.status}`);
          else if (!img.error?.code) problems.push(`${id}/${img.id}: failed without a reason`);
        }
        const files = filesBySession.get(`${s.userId}/${id}`) ?? [];
        for (const k of files) if (!done.includes(k)) problems.push(`${k}: file without a done image`);
      };
      for (let i = 0; i < ids.length; i += 50) await Promise.all(ids.slice(i, i + 50).map(auditOne));
      return problems;
    },
    async close() {
      await server.close({ graceMs: 2000 });
      await source.close();
    },
  };
}

/**
 * Failed images the faults that hit can explain: a killed busy thread fails its image; a
 * retryable fault (refused write, reset, hang) fails an image only if it hits all 3 attempts.
 */
export function failureBound(f: Faults): { hit: number; bound: number } {
  const i = f.injected;
  const fatal = (i["worker-terminated-busy"] ?? 0) + (i["process-throw"] ?? 0);
  const retryable =
    (i["put-error"] ?? 0) +
    (i["put-timeout"] ?? 0) +
    (i["session-write-error"] ?? 0) +
    (i["source-reset"] ?? 0) +
    (i["source-hang"] ?? 0);
  return { hit: injectedCount(f), bound: fatal + Math.floor(retryable / 3) };
}
