// A real imgedit server in its own process, for the SIGKILL test: argv[2] is a JSON object of
// environment settings (DATA_DIR, FETCH_ALLOW_HOSTS, ...). Prints one JSON line {url, token}.
// With KILL_AFTER_PUT set, the process SIGKILLs itself the moment a stored object's key ends with
// that text: the result file is in place, its image not yet recorded done.
import { silentLogger } from "../../../src/logger.js";
import type { ObjectStore } from "../../../src/ports.js";
import { startLocalServer } from "../../../src/server.js";
import { testConfig } from "../../http/harness.js";

const env = JSON.parse(process.argv[2] ?? "{}") as Record<string, string>;
const killAfterPut = env.KILL_AFTER_PUT;
const server = await startLocalServer(testConfig(env.DATA_DIR, env), {
  logger: silentLogger(),
  heartbeatMs: 200,
  sweepIntervalMs: 0,
  retryBaseMs: 20,
  wrap: killAfterPut
    ? {
        objects: (store: ObjectStore) =>
          new Proxy(store, {
            get(target, prop, receiver) {
              if (prop === "put")
                return async (key: string, body: Buffer, contentType: string) => {
                  await target.put(key, body, contentType);
                  if (key.endsWith(killAfterPut)) process.kill(process.pid, "SIGKILL");
                };
              const v = Reflect.get(target, prop, receiver);
              return typeof v === "function" ? v.bind(target) : v;
            },
          }),
      }
    : undefined,
});
process.stdout.write(`${JSON.stringify({ url: server.url, token: await server.token("alice", 3600) })}\n`);
// SIGTERM stops gracefully, as `imgedit serve` does: running jobs finish first.
process.once("SIGTERM", () => {
  void server.close().finally(() => process.exit(0));
});
