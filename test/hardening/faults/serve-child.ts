// A real imgedit server in its own process, for the SIGKILL test: argv[2] is a JSON object of
// environment settings (DATA_DIR, FETCH_ALLOW_HOSTS, ...). Prints one JSON line {url, token}.
import { silentLogger } from "../../../src/logger.js";
import { startLocalServer } from "../../../src/server.js";
import { testConfig } from "../../http/harness.js";

const env = JSON.parse(process.argv[2] ?? "{}") as Record<string, string>;
const server = await startLocalServer(testConfig(env.DATA_DIR, env), {
  logger: silentLogger(),
  heartbeatMs: 200,
  sweepIntervalMs: 0,
  retryBaseMs: 20,
});
process.stdout.write(`${JSON.stringify({ url: server.url, token: await server.token("alice", 3600) })}\n`);
