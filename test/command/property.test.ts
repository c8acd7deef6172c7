import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EXAMPLES } from "../../src/core/command/examples.js";
import { MAX_COMMAND_LENGTH, parseCommand } from "../../src/core/command/index.js";
import { TRIGGERS } from "../../src/core/command/vocabulary.js";
import { PlanSchema } from "../../src/core/operations.js";

/** The planner's invariants for any input: no throw, a valid plan or a located explanation. */
function checkInvariants(text: string): void {
  const r = parseCommand(text);
  if (r.ok) {
    expect(PlanSchema.safeParse(r.plan).success).toBe(true);
    expect(r.plan.length).toBeGreaterThan(0);
    expect(r.steps).toHaveLength(r.plan.length);
  } else {
    expect(r.error.code).toBe("COMMAND_NOT_UNDERSTOOD");
    expect(typeof r.error.message).toBe("string");
    for (const u of r.error.unknown) {
      expect(u.start).toBeGreaterThanOrEqual(0);
      expect(u.end).toBeLessThanOrEqual(text.length);
      expect(text.slice(u.start, u.end)).toBe(u.word);
    }
  }
}

const vocabulary = [
  ...TRIGGERS.keys(),
  ...["and", "then", ",", ".", "&", "+", "to", "by", "the", "it", "a", "little", "lot", "very", "slightly"],
  ...["800px", "50%", "90°", "90 degrees", "800x600", "16:9", "10,20", "#ff8800", "red", "top left", "half"],
  ...["'hello'", '"(c) 2026"', "https://example.com/logo.png", "ninety", "two hundred", "a third", "-5", "+20%"],
];

describe("planner properties", () => {
  it("never throws on arbitrary strings, and every plan validates", () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), checkInvariants), { numRuns: 2000 });
  });

  it("never throws on arbitrary unicode (emoji, combining marks, RTL, NUL)", () => {
    fc.assert(fc.property(fc.string({ unit: "grapheme", maxLength: 200 }), checkInvariants), { numRuns: 1000 });
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 200 }), checkInvariants), { numRuns: 1000 });
  });

  it("never throws on sentences built from its own vocabulary", () => {
    const sentence = fc.array(fc.constantFrom(...vocabulary), { minLength: 1, maxLength: 25 }).map((w) => w.join(" "));
    fc.assert(fc.property(sentence, checkInvariants), { numRuns: 3000 });
  });

  it("keeps working when example commands are mutated or concatenated", () => {
    const examples = Object.values(EXAMPLES).flat();
    const mutated = fc
      .tuple(fc.constantFrom(...examples), fc.constantFrom(...examples), fc.string({ maxLength: 5 }), fc.nat())
      .map(([a, b, junk, n]) => {
        const s = `${a} ${junk} ${b}`;
        const i = n % (s.length + 1);
        return s.slice(0, i) + junk + s.slice(i);
      });
    fc.assert(fc.property(mutated, checkInvariants), { numRuns: 2000 });
  });

  it("rejects anything longer than the cap with a clear error, at any length", () => {
    fc.assert(
      fc.property(fc.integer({ min: MAX_COMMAND_LENGTH + 1, max: 200_000 }), (n) => {
        const r = parseCommand("a".repeat(n));
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.error.message).toContain("too long");
      }),
      { numRuns: 50 },
    );
  });

  it("does not throw on inputs that are not strings", () => {
    for (const bad of [undefined, null, 42, {}, [], Symbol.iterator]) {
      const r = parseCommand(bad as unknown as string);
      expect(r.ok).toBe(false);
    }
  });
});
