import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { renderCommandsDoc } from "../../src/core/command/docs.js";
import { catalog } from "../../src/core/operations.js";
import { COMMANDS_DOC } from "./write-docs.js";

describe("docs/COMMANDS.md", () => {
  it("is what the catalog and the example table generate (run `npm run docs:commands` after changes)", () => {
    const committed = readFileSync(COMMANDS_DOC, "utf8");
    expect(committed).toBe(renderCommandsDoc());
  });

  it("documents every operation, and no example in it failed to parse", () => {
    const doc = renderCommandsDoc();
    for (const def of catalog) expect(doc).toContain(`### ${def.name}\n`);
    const operations = doc.slice(doc.indexOf("## Operations"));
    expect(operations).not.toContain("not understood");
  });
});
