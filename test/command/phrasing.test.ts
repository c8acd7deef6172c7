// Phrasings the command table cannot hold (its rows are also read wrapped in "Please, ... Thanks!").
import { describe, expect, it } from "vitest";
import { parseCommand } from "../../src/core/command/index.js";
import { PlanSchema } from "../../src/core/operations.js";

describe("commands written as a list", () => {
  it("reads a numbered list of steps, one per line", () => {
    const r = parseCommand("1. resize to 800\n2) convert to webp\n  3. sharpen");
    if (!r.ok) throw new Error(r.error.message);
    expect(r.plan).toEqual(
      PlanSchema.parse([
        { op: "resize", width: 800, height: 800 },
        { op: "format", format: "webp" },
        { op: "sharpen", sigma: 1 },
      ]),
    );
  });

  it("keeps a number that ends a sentence inside a line: it is no list marker", () => {
    const r = parseCommand("blur 2. rotate 90");
    if (!r.ok) throw new Error(r.error.message);
    expect(r.plan).toEqual(
      PlanSchema.parse([
        { op: "blur", sigma: 2 },
        { op: "rotate", angle: 90 },
      ]),
    );
  });
});
