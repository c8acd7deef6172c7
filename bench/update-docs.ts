// Refreshes the "Latest results" block of docs/readme/performance.md from bench/results/latest.json
// (and an optional load-test report file): `npx tsx bench/update-docs.ts [load-report.txt]`.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { repoRoot } from "./options.js";
import type { BenchResults } from "./report.js";
import { render } from "./run.js";

const doc = path.join(repoRoot, "docs/readme/performance.md");
const results = JSON.parse(readFileSync(path.join(repoRoot, "bench/results/latest.json"), "utf8")) as BenchResults;
const block = (name: string, body: string) =>
  `<!-- ${name}:start -->\n\`\`\`text\n${body.trim()}\n\`\`\`\n<!-- ${name}:end -->`;
const replace = (text: string, name: string, body: string) => {
  const re = new RegExp(`<!-- ${name}:start -->[\\s\\S]*?<!-- ${name}:end -->|${name.toUpperCase()}_PLACEHOLDER`);
  return text.replace(re, block(name, body));
};
let text = readFileSync(doc, "utf8");
const commands = (results.pipeline ?? [])
  .map((c) =>
    [`${c.label}:`, ...Object.entries(c.commands ?? {}).map(([t, cmd]) => `  ${t.padEnd(13)} ${cmd}`)].join("\n"),
  )
  .join("\n\n");
text = replace(text, "results", render(results));
text = replace(text, "commands", commands);
const loadFile = process.argv[2];
if (loadFile) text = replace(text, "load", readFileSync(loadFile, "utf8"));
writeFileSync(doc, text);
process.stdout.write(`updated ${path.relative(process.cwd(), doc)}\n`);
