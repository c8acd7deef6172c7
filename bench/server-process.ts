// Child process: imgedit's local server (src/server.ts) configured from this process's environment.
// Prints IMGEDIT_URL=<url> once it listens; SIGTERM closes it cleanly (sessions, pool, database).
import { loadConfig } from "../src/config.js";

const serverModule = "../src/server.js"; // a variable: compiles before src/server.ts exists
const { startLocalServer } = (await import(serverModule)) as {
  startLocalServer: (config: ReturnType<typeof loadConfig>) => Promise<{ url: string; close(): Promise<void> }>;
};
const server = await startLocalServer(loadConfig(process.env));
process.stdout.write(`IMGEDIT_URL=${server.url}\n`);
const stop = () => {
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
