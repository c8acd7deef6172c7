// `imgedit token --user NAME [--ttl 1h]`: mint a local HS256 token with the service's secret
// (JWT_SECRET, or the one kept in DATA_DIR), for curl and scripts.
import { existsSync } from "node:fs";
import path from "node:path";
import { loadOrCreateSecret, SECRET_FILE } from "../../adapters/local/secret.js";
import { loadConfig } from "../../config.js";
import { createAuth, parseTtl } from "../../http/auth.js";
import { USER_NAME } from "../../service/schemas.js";
import { parseOptions } from "../args.js";
import { isSystemError, reason } from "../fs-errors.js";
import type { CliCommand } from "../main.js";

export const MAX_TTL_SEC = 365 * 86_400;

const command: CliCommand = {
  summary: "mint a local API token (local mode)",
  usage: `
Usage: imgedit token --user NAME [--ttl 1h]

Prints a Bearer token for NAME signed with JWT_SECRET or the secret kept in DATA_DIR
(the same one \`imgedit serve\` uses). --ttl accepts 30m, 12h, 7d or seconds (default 1h),
from 1 s to 365 d. NAME: letters, digits and ._@|:+=- (starting with a letter or digit), up to
128 characters.
Not available when JWKS_URL is set: tokens then come from your identity provider.`,
  async run(argv, io) {
    let values: { user?: string; ttl?: string };
    try {
      ({ values } = parseOptions({
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
    if (!USER_NAME.test(values.user)) {
      io.stderr.write(
        `imgedit token: --user ${JSON.stringify(values.user)}: a user name is 1-128 letters, digits and ._@|:+=- starting with a letter or digit\n`,
      );
      return 2;
    }
    let ttl: number;
    try {
      ttl = parseTtl(values.ttl ?? "1h");
    } catch (e) {
      io.stderr.write(`imgedit token: --ttl: ${(e as Error).message}\n`);
      return 2;
    }
    if (ttl < 1 || ttl > MAX_TTL_SEC) {
      io.stderr.write(`imgedit token: --ttl ${values.ttl}: a token must live from 1 s to 365 d\n`);
      return 2;
    }
    // A ConfigError (PORT=abc) is printed by main as one line per bad variable, exit 2.
    const config = loadConfig(io.env);
    if (config.JWKS_URL) {
      io.stderr.write("imgedit token: JWKS_URL is set; tokens come from your identity provider\n");
      return 2;
    }
    // No secret yet: this DATA_DIR is not the server's (often: run from another directory, where
    // ./data is new). The token is still printed, but the server would answer 401 to it.
    const secretFile = path.resolve(config.DATA_DIR, SECRET_FILE);
    const newSecret = !config.JWT_SECRET && !existsSync(secretFile);
    try {
      const auth = createAuth({ config, secret: loadOrCreateSecret(config) });
      io.stdout.write(`${await auth.mint(values.user, ttl)}\n`);
      if (newSecret)
        io.stderr.write(
          `imgedit token: note: no secret was kept in DATA_DIR ${config.DATA_DIR} yet, so a new one was made (${secretFile}); a server using another DATA_DIR or JWT_SECRET refuses this token (401): run this where the server runs, with its settings\n`,
        );
      return 0;
    } catch (e) {
      if (isSystemError(e)) {
        io.stderr.write(`imgedit token: cannot read the secret in DATA_DIR ${config.DATA_DIR}: ${reason(e)}\n`);
        return 1;
      }
      io.stderr.write(`imgedit token: ${(e as Error).message}\n`);
      return 2;
    }
  },
};

export default command;
