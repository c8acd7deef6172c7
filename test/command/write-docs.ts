// `npm run docs:commands`: regenerate docs/COMMANDS.md from the catalog and the example table.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { renderCommandsDoc } from "../../src/core/command/docs.js";

export const COMMANDS_DOC = fileURLToPath(new URL("../../docs/COMMANDS.md", import.meta.url));

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(COMMANDS_DOC, renderCommandsDoc());
  process.stdout.write(`wrote ${COMMANDS_DOC}\n`);
}
