// Builds the page before the browser tests when web/dist is missing or older than its sources
// (CI builds it with `npm run build`; a fresh or edited tree would otherwise test a stale page).
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

export default function setup(): void {
  const built = path.join(root, "web/dist/index.html");
  if (existsSync(built)) {
    const sources = Math.max(
      newestMtime(path.join(root, "web/src")),
      statSync(path.join(root, "web/index.html")).mtimeMs,
      statSync(path.join(root, "web/vite.config.ts")).mtimeMs,
    );
    if (statSync(built).mtimeMs >= sources) return;
  }
  execFileSync(
    process.execPath,
    [path.join(root, "node_modules/vite/bin/vite.js"), "build", "--config", "web/vite.config.ts"],
    {
      cwd: root,
      stdio: "inherit",
    },
  );
}
