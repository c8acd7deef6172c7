// The local signing secret: JWT_SECRET when set, else 32 random bytes generated once and kept in
// DATA_DIR/jwt-secret (mode 0600) so tokens minted by `imgedit token` keep working across restarts.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { type Config, ConfigError } from "../../config.js";

export const SECRET_FILE = "jwt-secret";

export function loadOrCreateSecret(config: Pick<Config, "JWT_SECRET" | "DATA_DIR">): Uint8Array {
  if (config.JWT_SECRET) return new TextEncoder().encode(config.JWT_SECRET);
  const file = path.join(config.DATA_DIR, SECRET_FILE);
  fs.mkdirSync(config.DATA_DIR, { recursive: true });
  for (let attempt = 1; ; attempt++) {
    let text: string | undefined;
    try {
      text = fs.readFileSync(file, "utf8").trim();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    if (text !== undefined) {
      if (/^[0-9a-f]{64}$/.test(text)) return new TextEncoder().encode(text);
      // Empty: another process may have created it and not written it yet.
      if (text === "" && attempt < 80) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25);
        continue;
      }
      throw new ConfigError(
        `${file} is not a secret imgedit wrote (64 hex digits): delete it to have a new one made (tokens signed with it stop working), or set JWT_SECRET`,
      );
    }
    const hex = randomBytes(32).toString("hex");
    try {
      // wx: if another process created it meanwhile, read theirs.
      fs.writeFileSync(file, `${hex}\n`, { mode: 0o600, flag: "wx" });
      return new TextEncoder().encode(hex);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
  }
}
