// Fault-injecting decorators for the service's ports, shared by the fault suite
// (test/hardening/faults/service.ts), the Lambda fault tests and `npm run load -- --faults`:
// an object store that refuses or times out on writes, a session store that refuses writes, a
// processor that throws, and a kill of the worker thread running an image. Each counter in
// `Faults` is consumed one fault per call, and `injected` counts what actually happened.
import type { WorkerPool } from "../../../src/adapters/local/worker-pool.js";
import type { Plan } from "../../../src/core/operations.js";
import type { ProcessOptions, ProcessResult } from "../../../src/core/pipeline.js";
import type { ObjectStore, SessionStore } from "../../../src/ports.js";

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

export type Processor = (input: Buffer, plan: Plan, opts: ProcessOptions) => Promise<ProcessResult>;

export function newFaults(): Faults {
  return {
    putErrors: 0,
    putTimeouts: 0,
    putTimeoutMs: 200,
    sessionWriteErrors: 0,
    processThrows: 0,
    workerKills: 0,
    injected: {},
  };
}

export const note = (f: Faults, kind: string) => {
  f.injected[kind] = (f.injected[kind] ?? 0) + 1;
};

/** Faults injected so far ("-busy" entries only confirm that a kill landed on a busy thread). */
export const injectedCount = (f: Faults) =>
  Object.entries(f.injected)
    .filter(([k]) => !k.endsWith("-busy"))
    .reduce((a, [, n]) => a + n, 0);

export function faultyObjects(inner: ObjectStore, f: Faults): ObjectStore {
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

export function faultySessions(inner: SessionStore, f: Faults): SessionStore {
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

/** A processor that throws, or (given the worker pool) has the thread running the image killed. */
export const faultyProcess =
  (f: Faults) =>
  (process: Processor, pool?: WorkerPool): Processor =>
  async (input, plan, opts) => {
    if (f.processThrows > 0) {
      f.processThrows--;
      note(f, "process-throw");
      throw new TypeError("Cannot read properties of undefined (reading 'width') (injected)");
    }
    if (f.workerKills > 0 && pool) {
      f.workerKills--;
      note(f, "worker-kill");
      const running = process(input, plan, opts);
      // Kill the thread that took this image: pool.process hands the task to a free thread at once.
      const slots = (pool as unknown as { slots: { worker: { terminate(): Promise<number> }; task?: unknown }[] })
        .slots;
      for (const s of slots)
        if (s.task) {
          note(f, "worker-terminated-busy");
          void s.worker.terminate();
        }
      return running;
    }
    return process(input, plan, opts);
  };
