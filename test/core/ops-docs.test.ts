// The operations page documents every operation in the catalog and each of its parameters; its
// table is what src/core/ops/reference.ts generates (`npx tsx test/core/write-ops-table.ts`).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { catalog, operationJsonSchema } from "../../src/core/operations.js";
import { numberRange, parameterCell, withOperationsTable } from "../../src/core/ops/reference.js";
import { OPERATIONS_DOC } from "./write-ops-table.js";

const doc = readFileSync(OPERATIONS_DOC, "utf8");
const rowOf = (name: string) => doc.split("\n").find((line) => line.startsWith(`| \`${name}\` |`));

describe("docs/readme/operations.md", () => {
  it.each(catalog.map((d) => d.name))("has a row for %s listing its parameters", (name) => {
    const row = rowOf(name);
    expect(row, `no table row for ${name}`).toBeDefined();
    const schema = operationJsonSchema(name) as { properties?: Record<string, unknown> };
    for (const param of Object.keys(schema.properties ?? {}).filter((k) => k !== "op")) {
      expect(row, `${name} row lacks ${param}`).toContain(`\`${param}\``);
    }
  });

  it("has the table the catalog generates (run `npx tsx test/core/write-ops-table.ts` after changes)", () => {
    expect(doc).toBe(withOperationsTable(doc));
  });

  it("shows scale's bounds, the lower one exclusive", () => {
    expect(rowOf("scale")).toContain("`factor` (number, 0 < factor ≤ 20)");
  });

  it("shows no bound zod adds by itself to integers", () => {
    expect(doc).not.toContain(String(Number.MAX_SAFE_INTEGER));
    expect(rowOf("crop")).toContain("`left`? (integer ≥ 0)");
  });

  it("spells out a nested parameter's fields (crop's inset)", () => {
    expect(rowOf("crop")).toContain("`inset`? (object: `top`? (number 0–100000, default 0), ");
    expect(rowOf("crop")).toContain('`unit`? (`px` / `%`, default "px"))');
  });

  it("says which formats quality and lossless apply to", () => {
    expect(rowOf("format")).toContain("`quality`? (integer 1–100, only for jpeg, webp, avif and tiff)");
    expect(rowOf("format")).toContain("`lossless`? (boolean, only for webp and avif)");
  });
});

describe("parameter ranges", () => {
  it.each([
    [{ minimum: 0, maximum: 255 }, "0–255"],
    [{ exclusiveMinimum: 0, maximum: 20 }, "0 < x ≤ 20"],
    [{ minimum: 1, exclusiveMaximum: 3 }, "1 ≤ x < 3"],
    [{ exclusiveMinimum: 0, exclusiveMaximum: 1 }, "0 < x < 1"],
    [{ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }, "≥ 0"],
    [{ exclusiveMinimum: 0 }, "> 0"],
    [{ maximum: 10 }, "≤ 10"],
    [{ exclusiveMaximum: 10 }, "< 10"],
    [{ minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER }, undefined],
  ])("%j is %s", (bounds, text) => {
    expect(numberRange("x", bounds)).toBe(text);
  });

  it("reads as one phrase when inclusive, set apart with symbols", () => {
    expect(parameterCell("size", { type: "integer", minimum: 3, maximum: 15, default: 3 }, false)).toBe(
      "`size`? (integer 3–15, default 3)",
    );
    expect(parameterCell("factor", { type: "number", exclusiveMinimum: 0, maximum: 20 }, true)).toBe(
      "`factor` (number, 0 < factor ≤ 20)",
    );
  });
});
