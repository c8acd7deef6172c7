// The local signing secret: JWT_SECRET when set, else 32 random bytes generated once and kept in
// DATA_DIR/jwt-secret (mode 0600) so tokens minted by `imgedit token` keep working across restarts.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { Config } from "../../config.js";

export const SECRET_FILE = "jwt-secret";

export function loadOrCreateSecret(config: Pick<Config, "JWT_SECRET" | "DATA_DIR">): Uint8Array {
  if (config.JWT_SECRET) return new TextEncoder().encode(config.JWT_SECRET);
  const file = path.join(config.DATA_DIR, SECRET_FILE);
  fs.mkdirSync(config.DATA_DIR, { recursive: true });
  try {
    const hex = fs.readFileSync(file, "utf8").trim();
    if (/^[0-9a-f]{64}$/.test(hex)) return new TextEncoder().encode(hex);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  const hex = randomBytes(32).toString("hex");
  try {
    // wx: if another process created it meanwhile, use theirs.
    fs.writeFileSync(file, `${hex}\n`, { mode: 0o600, flag: "wx" });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return loadOrCreateSecret(config);
    throw e;
  }
  return new TextEncoder().encode(hex);
}
