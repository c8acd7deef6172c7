// `imgedit token --user NAME [--ttl 1h]`: mint a local HS256 token with the service's secret
// (JWT_SECRET, or the one kept in DATA_DIR), for curl and scripts.
import { parseArgs } from "node:util";
import { loadOrCreateSecret } from "../../adapters/local/secret.js";
import { loadConfig } from "../../config.js";
import { createAuth, parseTtl } from "../../http/auth.js";
import type { CliCommand } from "../main.js";

const command: CliCommand = {
  summary: "mint a local API token (local mode)",
  usage: `
Usage: imgedit token --user NAME [--ttl 1h]

Prints a Bearer token for NAME signed with JWT_SECRET or the secret kept in DATA_DIR
(the same one \`imgedit serve\` uses). --ttl accepts 30m, 12h, 7d or seconds (default 1h).
Not available when JWKS_URL is set: tokens then come from your identity provider.`,
  async run(argv, io) {
    let values: { user?: string; ttl?: string };
    try {
      ({ values } = parseArgs({
        args: argv,
        options: { user: { type: "string", short: "u" }, ttl: { type: "string" } },
      }));
    } catch (e) {
      io.stderr.write(`imgedit token: ${(e as Error).message}\n`);
      return 2;
    }
    if (!values.user) {
      io.stderr.write("imgedit token: --user NAME is required\n");
      return 2;
    }
    const config = loadConfig(io.env);
    if (config.JWKS_URL) {
      io.stderr.write("imgedit token: JWKS_URL is set; tokens come from your identity provider\n");
      return 2;
    }
    try {
      const auth = createAuth({ config, secret: loadOrCreateSecret(config) });
      const ttl = parseTtl(values.ttl ?? "1h");
      io.stdout.write(`${await auth.mint(values.user, ttl)}\n`);
      return 0;
    } catch (e) {
      io.stderr.write(`imgedit token: ${(e as Error).message}\n`);
      return 2;
    }
  },
};

export default command;
