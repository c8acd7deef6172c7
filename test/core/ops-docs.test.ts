// The operations page documents every operation in the catalog and each of its parameters.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { catalog, operationJsonSchema } from "../../src/core/operations.js";

const doc = readFileSync(new URL("../../docs/readme/operations.md", import.meta.url), "utf8");

describe("docs/readme/operations.md", () => {
  it.each(catalog.map((d) => d.name))("has a row for %s listing its parameters", (name) => {
    const row = doc.split("\n").find((line) => line.startsWith(`| \`${name}\` |`));
    expect(row, `no table row for ${name}`).toBeDefined();
    const schema = operationJsonSchema(name) as { properties?: Record<string, unknown> };
    for (const param of Object.keys(schema.properties ?? {}).filter((k) => k !== "op")) {
      expect(row, `${name} row lacks ${param}`).toContain(`\`${param}\``);
    }
  });
});
