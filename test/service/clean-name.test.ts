// Names users give (upload file names, URL paths) as the API, pages and logs show them.
import { describe, expect, it } from "vitest";
import { cleanName, fileName } from "../../src/service/edit.js";

describe("cleanName", () => {
  it("drops bidirectional overrides, which would disguise an extension", () => {
    expect(cleanName("photo\u202Egnp.exe", "x")).toBe("photognp.exe");
    expect(cleanName("a\u2066b\u2069c", "x")).toBe("abc");
  });

  it("drops control characters and trims", () => {
    expect(cleanName(" \u0000cat\u001b[31m.png\u007f ", "x")).toBe("cat[31m.png");
  });

  it("keeps at most 255 characters, never half of a surrogate pair", () => {
    const name = `${"a".repeat(254)}😀😀`;
    const out = cleanName(name, "x");
    expect([...out]).toHaveLength(255);
    expect(out.endsWith("😀")).toBe(true);
    expect(out).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/); // no lone high surrogate
  });

  it("falls back when nothing is left", () => {
    expect(cleanName("\u202E\u0000 ", "image-1")).toBe("image-1");
    expect(fileName("/dir/", "image-2")).toBe("image-2");
  });
});
