// README.md is assembled from docs/readme/*.md (each area keeps its own section there, and some are
// generated: performance from the bench, operations from the catalog). `npm run docs:readme`
// rewrites it; test/docs/readme.test.ts fails when it is stale.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const ORDER = [
  "00-intro",
  "web",
  "service",
  "commands",
  "operations",
  "core",
  "fetch",
  "reliability",
  "aws",
  "cost",
  "performance",
  "99-development",
];

export function renderReadme(): string {
  return ORDER.map((name) => readFileSync(path.join(root, "docs/readme", `${name}.md`), "utf8").trimEnd())
    .join("\n\n")
    .concat("\n");
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  writeFileSync(path.join(root, "README.md"), renderReadme());
  process.stdout.write("wrote README.md\n");
}
