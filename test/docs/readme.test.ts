import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { renderReadme } from "../../scripts/readme.js";

const root = path.resolve(import.meta.dirname, "../..");

describe("README.md", () => {
  it("is assembled from docs/readme (run `npm run docs:readme` after editing a section)", () => {
    expect(readFileSync(path.join(root, "README.md"), "utf8")).toBe(renderReadme());
  });

  it("includes every section in docs/readme", () => {
    const readme = renderReadme();
    for (const file of readdirSync(path.join(root, "docs/readme"))) {
      const first = readFileSync(path.join(root, "docs/readme", file), "utf8").split("\n")[0];
      expect(readme, file).toContain(first);
    }
  });
});
