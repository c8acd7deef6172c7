// Names the editor page gives saved results and zip entries (web/src/format.ts, pure logic): image
// names come from users and URLs, and must never become paths when a zip is unpacked.
import { describe, expect, it } from "vitest";
import { nameFromUrl, resultFileName, safeFileName } from "../../web/src/format.js";

const unsafe = (name: string) => /[/\\:\p{Cc}]/u.test(name) || /^\.\.?(?:$|[^.])/.test(name);

describe("editor page: result and zip entry names", () => {
  it.each([
    ["../../../tmp/evil.jpg", "_.._.._tmp_evil.jpg"],
    ["C:\\Windows\\evil.jpg", "C__Windows_evil.jpg"],
    ["..", "image"],
    [".hidden.png", "hidden.png"],
    ["bell\u0007\nname.png", "bell__name.png"],
    ["holiday.jpg", "holiday.jpg"],
  ])("safeFileName(%j) is %j", (name, safe) => {
    expect(safeFileName(name)).toBe(safe);
    expect(unsafe(safeFileName(name))).toBe(false);
  });

  it("keeps zip entry names flat and unique", () => {
    const taken = new Set<string>();
    const names = ["../a.jpg", "..\\a.jpg", "/a.jpg", "a.jpg", "../../etc/passwd"].map((n) =>
      resultFileName(n, "webp", taken),
    );
    expect(names).toEqual(["_a.webp", "_a-2.webp", "_a-3.webp", "a.webp", "_.._etc_passwd.webp"]);
    for (const n of names) expect(unsafe(n)).toBe(false);
  });

  it("names a pasted URL by its last segment after decoding", () => {
    expect(nameFromUrl("https://example.com/x%2F..%2F..%2Fevil.jpg")).toBe("evil.jpg");
    expect(nameFromUrl("https://example.com/a%5C..%5Cevil.png")).toBe("evil.png");
    expect(nameFromUrl("https://example.com/pics/cat%20one.jpg")).toBe("cat one.jpg");
    expect(nameFromUrl("https://example.com/..%2F..")).toBe("example.com");
  });
});
