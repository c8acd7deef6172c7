// Child process: imgedit's local server as `npm start` runs it (the compiled dist/, no TypeScript
// loader), configured from this process's environment. Prints IMGEDIT_URL=<url> once it listens;
// SIGTERM closes it cleanly (sessions, pool, database).
const { loadConfig } = await import("../dist/config.js");
const { startLocalServer } = await import("../dist/server.js");
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
