// The built web page from web/dist: index.html for "/", hashed files under /assets/.
import fs from "node:fs/promises";
import path from "node:path";
import type { StaticAsset } from "../../http/app.js";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".webmanifest": "application/manifest+json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".map": "application/json",
};

export function staticFiles(root: string): (urlPath: string) => Promise<StaticAsset | undefined> {
  const base = path.resolve(root);
  return async (urlPath) => {
    const rel = urlPath === "/" ? "index.html" : urlPath.replace(/^\/+/, "");
    let decoded: string;
    try {
      decoded = decodeURIComponent(rel);
    } catch {
      return undefined;
    }
    const file = path.resolve(base, decoded);
    if (!file.startsWith(base + path.sep)) return undefined;
    try {
      const body = await fs.readFile(file);
      return { body: new Uint8Array(body), contentType: TYPES[path.extname(file)] ?? "application/octet-stream" };
    } catch {
      return undefined;
    }
  };
}
