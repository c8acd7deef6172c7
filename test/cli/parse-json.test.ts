// `imgedit parse --json`: stdout carries only the JSON and stderr stays empty, also when the command
// is not understood (exit 2); without --json the explanation with the underlined words is unchanged.
import { describe, expect, it } from "vitest";
import { markUnknown } from "../../src/cli/commands/parse.js";
import { imgedit } from "./in-process.js";

describe("imgedit parse --json on a command that is not understood", () => {
  it("writes only the JSON to stdout, nothing to stderr, and exits 2", async () => {
    const r = await imgedit(["parse", "rotate 90 and frobnicate", "--json", "--grammar-only"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("");
    const json = JSON.parse(r.stdout);
    expect(json.ok).toBe(false);
    expect(json.error).toMatchObject({
      code: "COMMAND_NOT_UNDERSTOOD",
      unknown: [{ word: "frobnicate", start: 14, end: 24 }],
    });
  });

  it("keeps stderr empty when there are suggestions too (they are in the JSON)", async () => {
    const r = await imgedit(["parse", "zoom in", "--json", "--grammar-only"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("");
    const json = JSON.parse(r.stdout);
    expect(json.error.suggestions.length).toBeGreaterThan(0);
  });

  it("without --json: nothing on stdout, the message and the underlined words on stderr", async () => {
    const r = await imgedit(["parse", "zoom in", "--grammar-only"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^imgedit parse: .*"zoom"/);
    expect(r.stderr).toContain("  zoom in\n  ^^^^\n");
    expect(r.stderr).toMatch(/\n {2}did you mean: .+\n$/);
  });

  it("an understood command with --json is JSON only, as before", async () => {
    const r = await imgedit(["parse", "make it black and white", "--json"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, plan: [{ op: "grayscale" }] });
  });
});

describe("the underlined command (without --json)", () => {
  it("is echoed without terminal escapes, the marks under what the terminal shows", () => {
    // "frob" is at UTF-16 index 15; printed, ESC takes four columns ("\x1b")
    const text = "rotate 90 \x1b[31mfrob";
    expect(markUnknown(text, { unknown: [{ word: "frob", start: 15, end: 19 }] })).toBe(
      `  rotate 90 \\x1b[31mfrob\n  ${" ".repeat(18)}^^^^\n`,
    );
    // a line break is shown as \n, on the one line
    expect(markUnknown("rotate 90\nfrob", { unknown: [{ word: "frob", start: 10, end: 14 }] })).toBe(
      `  rotate 90\\nfrob\n  ${" ".repeat(11)}^^^^\n`,
    );
  });

  it("counts wide characters as two columns and a code point, not its UTF-16 units", () => {
    expect(markUnknown("回転 frob", { unknown: [{ word: "frob", start: 3, end: 7 }] })).toBe(
      `  回転 frob\n  ${" ".repeat(5)}^^^^\n`,
    );
    expect(markUnknown("😀 frob", { unknown: [{ word: "😀", start: 0, end: 2 }] })).toBe("  😀 frob\n  ^^\n");
    expect(markUnknown("é frob", { unknown: [{ word: "frob", start: 2, end: 6 }] })).toBe("  é frob\n    ^^^^\n");
    // e + a combining accent: one column
    expect(markUnknown("e\u0301 frob", { unknown: [{ word: "frob", start: 3, end: 7 }] })).toBe(
      "  e\u0301 frob\n    ^^^^\n",
    );
    expect(markUnknown("𝒳 frob", { unknown: [{ word: "frob", start: 3, end: 7 }] })).toBe("  𝒳 frob\n    ^^^^\n");
  });
});
