// `npx tsx test/core/write-ops-table.ts`: regenerate the operations table of
// docs/readme/operations.md from the catalog (then `npm run docs:readme` for README.md).
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { withOperationsTable } from "../../src/core/ops/reference.js";

export const OPERATIONS_DOC = fileURLToPath(new URL("../../docs/readme/operations.md", import.meta.url));

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(OPERATIONS_DOC, withOperationsTable(readFileSync(OPERATIONS_DOC, "utf8")));
  process.stdout.write(`wrote ${OPERATIONS_DOC}\n`);
}
