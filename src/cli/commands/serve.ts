// `imgedit serve [--port N] [--host H]`: run the whole service on this machine and print where it
// listens with a ready-to-paste curl example. SIGTERM/SIGINT stop it gracefully.
import { parseArgs } from "node:util";
import { loadConfig } from "../../config.js";
import type { CliCommand } from "../main.js";

const command: CliCommand = {
  summary: "run the HTTP service (SQLite + files + worker threads)",
  usage: `
Usage: imgedit serve [--port N] [--host H]

Runs the API and the web page. Settings come from the environment (PORT, HOST, DATA_DIR,
JWT_SECRET, WORKER_CONCURRENCY, ...; see the README). --port and --host override PORT and HOST.
Stops gracefully on SIGTERM or SIGINT: running images finish (up to 10 s) or resume on the next start.`,
  async run(argv, io) {
    let values: { port?: string; host?: string };
    try {
      ({ values } = parseArgs({
        args: argv,
        options: { port: { type: "string", short: "p" }, host: { type: "string" } },
      }));
    } catch (e) {
      io.stderr.write(`imgedit serve: ${(e as Error).message}\n`);
      return 2;
    }
    const config = loadConfig({
      ...io.env,
      ...(values.port !== undefined ? { PORT: values.port } : {}),
      ...(values.host !== undefined ? { HOST: values.host } : {}),
    });
    const { startLocalServer } = await import("../../server.js");
    const { createLogger } = await import("../../logger.js");
    const logger = createLogger(config);
    // A stray rejection is a bug to log, not a reason to drop every running edit.
    process.on("unhandledRejection", (reason) => logger.error({ err: reason }, "unhandled rejection"));
    const server = await startLocalServer(config, { logger });
    const lines = [`imgedit listening on ${server.url}  (data in ${config.DATA_DIR}, ${config.mode} mode)`];
    if (server.auth.mode === "local") {
      const token = await server.token("local", 12 * 3600);
      lines.push(
        "",
        `Open ${server.url}/ in a browser, or try the API (token valid 12 h; mint more with \`imgedit token --user NAME\`):`,
        "",
        `  TOKEN=${token}`,
        `  curl -s -X POST ${server.url}/image-edit \\`,
        `    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\`,
        `    -d '{"images":[{"url":"https://example.com/photo.jpg"}],"operation":{"type":"command","command":"resize to 800px and convert to webp"}}'`,
        `  curl -N "${server.url}/image-edit/progress/<sessionId>" -H "Authorization: Bearer $TOKEN"`,
      );
    } else {
      lines.push("Tokens are verified against JWKS_URL; send them as Authorization: Bearer <token>.");
    }
    io.stdout.write(`${lines.join("\n")}\n`);
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        io.stderr.write(`\nimgedit: ${signal}: stopping (running images finish or resume on the next start)...\n`);
        server.close().then(resolve, resolve);
      };
      process.once("SIGTERM", () => stop("SIGTERM"));
      process.once("SIGINT", () => stop("SIGINT"));
    });
    return 0;
  },
};

export default command;
