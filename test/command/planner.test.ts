import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { isNegationOf } from "../../src/core/command/english.js";
import { EXAMPLES } from "../../src/core/command/examples.js";
import { MAX_COMMAND_LENGTH, parseCommand } from "../../src/core/command/index.js";
import { COMMON_OPERATIONS, suggestFor } from "../../src/core/command/suggest.js";
import { KNOWN_WORDS, LEXICON_KEYS, lex, TRIGGERS } from "../../src/core/command/vocabulary.js";
import { catalog, PlanSchema } from "../../src/core/operations.js";
import { REJECTED, UNDERSTOOD } from "./cases.js";

describe("the command table", () => {
  it("has at least 150 distinct understood commands", () => {
    expect(new Set(UNDERSTOOD.map(([c]) => c)).size).toBe(UNDERSTOOD.length);
    expect(UNDERSTOOD.length).toBeGreaterThanOrEqual(150);
  });

  it.each(UNDERSTOOD)("%s", (command, expected) => {
    const r = parseCommand(command);
    if (!r.ok) throw new Error(`not understood: ${r.error.message}`);
    expect(r.plan).toEqual(PlanSchema.parse(expected));
    expect(r.steps).toHaveLength(r.plan.length);
  });
});

describe("commands it must reject", () => {
  it.each(REJECTED.map((r) => [r.command, r] as const))("%j", (command, want) => {
    const r = parseCommand(command);
    if (r.ok) throw new Error(`unexpectedly understood: ${JSON.stringify(r.plan)}`);
    expect(r.error.code).toBe("COMMAND_NOT_UNDERSTOOD");
    expect(r.error.unknown.map((u) => u.word)).toEqual(want.unknown);
    for (const u of r.error.unknown) expect(command.slice(u.start, u.end)).toBe(u.word);
    for (const s of want.suggests ?? []) expect(r.error.suggestions).toContain(s);
    if (want.says) expect(r.error.message).toContain(want.says);
    expect(r.error.message.length).toBeGreaterThan(10);
  });
});

describe("vocabulary comes from the catalog", () => {
  it("every catalog operation is reachable from its documented examples", () => {
    for (const def of catalog) {
      const examples = EXAMPLES[def.name];
      expect(examples?.length, `${def.name} has no example commands`).toBeGreaterThan(0);
      const reached = examples.some((c) => {
        const r = parseCommand(c);
        return r.ok && r.plan.some((op) => op.op === def.name);
      });
      expect(reached, `no example command reaches ${def.name}`).toBe(true);
    }
  });

  it("every catalog operation is reached by some command of the table", () => {
    const used = new Set(UNDERSTOOD.flatMap(([, plan]) => plan.map((op) => op.op)));
    for (const def of catalog) expect(used.has(def.name), def.name).toBe(true);
  });

  it("every word of every catalog entry names that operation", () => {
    for (const def of catalog) {
      for (const word of def.words) {
        const items = lex(word);
        const named = items.some((it) => TRIGGERS.get(it.key)?.includes(def.name));
        expect(named, `"${word}" does not trigger ${def.name}`).toBe(true);
      }
    }
  });
});

describe("reading", () => {
  it("reports offsets of words not understood so they can be highlighted", () => {
    const text = "resize to 800px and wibble the image then flarp";
    const r = parseCommand(text);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.unknown).toEqual([
      { word: "wibble", start: text.indexOf("wibble"), end: text.indexOf("wibble") + 6 },
      { word: "flarp", start: text.indexOf("flarp"), end: text.length },
    ]);
  });

  it("never drops a meaningful word: one unknown word sinks the whole command", () => {
    for (const [command] of UNDERSTOOD) {
      const r = parseCommand(`${command} and zorble`);
      expect(r.ok, command).toBe(false);
      if (!r.ok) expect(r.error.unknown.map((u) => u.word)).toContain("zorble");
    }
  });

  it("ignores letter case (outside quotes and URLs)", () => {
    for (const [command, expected] of UNDERSTOOD) {
      if (/['"“‘]|https?:/u.test(command)) continue;
      const r = parseCommand(command.toUpperCase());
      if (!r.ok) throw new Error(`${command.toUpperCase()}: ${r.error.message}`);
      expect(r.plan, command).toEqual(PlanSchema.parse(expected));
    }
  });

  it("ignores politeness around any understood command", () => {
    for (const [command, expected] of UNDERSTOOD) {
      const r = parseCommand(`Please, ${command.replace(/[.!?]+$/u, "")}. Thanks!`);
      if (!r.ok) throw new Error(`${command}: ${r.error.message}`);
      expect(r.plan, command).toEqual(PlanSchema.parse(expected));
    }
  });

  it("corrects typos within one edit of words of four letters or more, not beyond", () => {
    const ok = (c: string) => parseCommand(c).ok;
    expect(ok("rotaet 90")).toBe(true); // transposition
    expect(ok("rotat 90")).toBe(true); // deletion
    expect(ok("rottate 90")).toBe(true); // insertion
    expect(ok("rotute 90")).toBe(true); // substitution
    expect(ok("rtaet 90")).toBe(false); // two edits
    expect(ok("flpi")).toBe(true); // 4 letters: "flip" swapped
    expect(ok("blr")).toBe(false); // 3 letters: no correction
  });

  it("caps the command length with a clear error", () => {
    const r = parseCommand(`${"rotate 90 and ".repeat(100)}flip`);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toContain(`at most ${MAX_COMMAND_LENGTH}`);
  });

  it("reads the same command the same way every time", () => {
    const a = parseCommand("make it half the size and black and white");
    const b = parseCommand("make it half the size and black and white");
    expect(a).toEqual(b);
  });
});

describe("suggestions", () => {
  it.each([
    ["make it lossy", "lossless"],
    ["convert to webp lossy", "lossless"],
    ["decompress it", "compress"],
    ["uncompressed", "compressed"],
    ["uncrop", "crop"],
    ["unsharpen", "sharpen"],
    ["unsaturate", "saturate"],
  ])("never offer a word's opposite: %s", (command, opposite) => {
    const r = parseCommand(command);
    if (r.ok) throw new Error(`unexpectedly understood: ${JSON.stringify(r.plan)}`);
    expect(r.error.suggestions).not.toContain(opposite);
  });

  it("tells a word from its negation, and not from a word that merely looks alike", () => {
    for (const [a, b] of [
      ["lossy", "lossless"],
      ["lossless", "lossy"],
      ["decompress", "compress"],
      ["uncompressed", "compress"],
      ["desaturate", "saturation"],
      ["anticlockwise", "clockwise"],
      ["colourless", "colourful"],
    ])
      expect(isNegationOf(a, b), `${a} / ${b}`).toBe(true);
    for (const [a, b] of [
      ["unsaturate", "desaturate"],
      ["sharpn", "sharpen"],
      ["detail", "tilt"],
      ["lossless", "losslessly"],
    ])
      expect(isNegationOf(a, b), `${a} / ${b}`).toBe(false);
  });

  it("puts a common operation word before a rare synonym at the same distance: blorp is blur, then flop", () => {
    const r = parseCommand("make it blorp");
    if (r.ok) throw new Error("unexpectedly understood");
    expect(r.error.suggestions).toEqual(["blur", "flop"]);
    expect(r.error.message).toContain("Did you mean blur, flop?");
    expect(suggestFor("flp")).toEqual(["flip", "flop"]);
  });

  it("ranks every catalog operation by how common it is, once", () => {
    expect([...COMMON_OPERATIONS].sort()).toEqual(catalog.map((d) => d.name).sort());
  });
});

describe("refusals are worded by the planner", () => {
  it("no rejected command answers with zod's wording", () => {
    for (const { command } of REJECTED) {
      const r = parseCommand(command);
      if (r.ok) continue;
      expect(r.error.message, command).not.toMatch(/Too (big|small)|expected (number|int|string)|Invalid input/);
    }
  });
});

describe("the grammar's own words", () => {
  it("every keyword a parser reads is a known word, so typo correction never rewrites it", () => {
    const src = readFileSync(fileURLToPath(new URL("../../src/core/command/grammar.ts", import.meta.url)), "utf8");
    const missing: string[] = [];
    for (const call of src.matchAll(/\.take(?:Key|All)\(([^)]*)\)/gs))
      for (const [, word] of call[1].matchAll(/"([^"]+)"/g))
        if (!KNOWN_WORDS.has(word) && !TRIGGERS.has(word) && !LEXICON_KEYS.has(word) && !/[:#\- ]/.test(word))
          missing.push(word);
    expect(missing).toEqual([]);
  });
});
