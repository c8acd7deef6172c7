import { describe, expect, it } from "vitest";
import { readNumberWords } from "../../src/core/command/numbers.js";
import { tokenize } from "../../src/core/command/tokenize.js";
import { lex } from "../../src/core/command/vocabulary.js";

const kinds = (text: string) => tokenize(text).map((t) => [t.kind, t.text]);

describe("tokenize", () => {
  it("reads thousands groups where the number can only be a size, and keeps pairs elsewhere", () => {
    const read = (text: string) => tokenize(text).map((t) => [t.kind, t.text, t.value, t.value2, t.unit]);
    expect(read("1,200px 1,920x1,080 2,000 wide")).toEqual([
      ["number", "1,200px", 1200, undefined, "px"],
      ["dims", "1,920x1,080", 1920, 1080, undefined],
      ["number", "2,000", 2000, undefined, undefined],
      ["word", "wide", undefined, undefined, undefined],
    ]);
    expect(read("width 1,200")[1]).toEqual(["number", "1,200", 1200, undefined, undefined]);
    // offsets stay those of the written text
    expect(tokenize("to 1,920 x 1,080 px").map((t) => [t.start, t.end])).toEqual([
      [0, 2],
      [3, 19],
    ]);
    // a pair, two numbers or a list: never one number
    expect(kinds("at 100,200")[1]).toEqual(["pair", "100,200"]);
    expect(kinds("resize to 800,600")[2]).toEqual(["pair", "800,600"]);
    expect(kinds("1,2 wide")[0]).toEqual(["pair", "1,2"]);
    expect(kinds("to 1, 200").slice(1)).toEqual([
      ["number", "1"],
      ["sep", ","],
      ["number", "200"],
    ]);
    expect(kinds("1,2000px")[0]).toEqual(["pair", "1,2000"]);
  });

  it("reads numbers of two thousands groups or more as one number after a size word", () => {
    expect(tokenize("resize to 1,000,000").map((t) => [t.kind, t.text, t.value])[2]).toEqual([
      "number",
      "1,000,000",
      1000000,
    ]);
  });

  it("reads a dash standing apart after a word, right before a number, as its minus sign", () => {
    const read = (text: string) => tokenize(text).map((t) => [t.kind, t.text, t.value]);
    expect(read("rotate - 90")[1]).toEqual(["number", "- 90", -90]);
    expect(read("rotate -- 90")[1]).toEqual(["number", "-- 90", -90]);
    expect(read("brightness – 20")[1]).toEqual(["number", "– 20", -20]);
    expect(read("rotate —90°")[1]).toEqual(["number", "—90°", -90]);
    // between numbers, before a word, or as a bullet: a dash stays a dash
    expect(kinds("800 - 600")).toEqual([
      ["number", "800"],
      ["punct", "-"],
      ["number", "600"],
    ]);
    expect(kinds("800 - then")[1]).toEqual(["punct", "-"]);
    expect(kinds("- 90 degrees")[0]).toEqual(["punct", "-"]);
  });

  it("keeps numbers with their units, sizes, ratios and pairs whole", () => {
    expect(tokenize("800px 50% 90° 90deg 2x -5 +20%").map((t) => [t.value, t.unit])).toEqual([
      [800, "px"],
      [50, "%"],
      [90, "deg"],
      [90, "deg"],
      [2, "x"],
      [-5, undefined],
      [20, "%"],
    ]);
    expect(kinds("800x600, 800 x 600 px, 1.5:1, 10,20 (3, 4)")).toEqual([
      ["dims", "800x600"],
      ["sep", ","],
      ["dims", "800 x 600 px"],
      ["sep", ","],
      ["ratio", "1.5:1"],
      ["sep", ","],
      ["pair", "10,20"],
      ["pair", "(3, 4)"],
    ]);
  });

  it("reads ImageMagick geometry with one side open: 1920x, x1080", () => {
    const numbers = tokenize("1920x, 1920 x, 1920×, 2×").filter((t) => t.kind !== "sep");
    expect(numbers.map((t) => [t.kind, t.value, t.unit])).toEqual([
      ["number", 1920, "x"],
      ["number", 1920, "x"],
      ["number", 1920, "x"],
      ["number", 2, "x"],
    ]);
    expect(tokenize("x1080 ×1080px X1080").map((t) => [t.kind, t.value, t.value2, t.unit])).toEqual([
      ["dims", undefined, 1080, undefined],
      ["dims", undefined, 1080, "px"],
      ["dims", undefined, 1080, undefined],
    ]);
    // a crop offset keeps its space: "x 10" is a word and a number
    expect(kinds("x 10 x10y")).toEqual([
      ["word", "x"],
      ["number", "10"],
      ["word", "x10y"],
    ]);
  });

  it("ends a sentence after a size, but not inside a decimal", () => {
    expect(kinds("resize to 100x100.")).toEqual([
      ["word", "resize"],
      ["word", "to"],
      ["dims", "100x100"],
      ["sep", "."],
    ]);
    expect(tokenize("scale 0.5.")[1]).toMatchObject({ kind: "number", value: 0.5 });
  });

  it("reads quotes, apostrophes, urls, hex colours and .png", () => {
    expect(kinds(`put 'Bob's Cafe' and "x, y" at https://a.example/l.png #ff8800 it's .png`)).toEqual([
      ["word", "put"],
      ["quote", "'Bob's Cafe'"],
      ["word", "and"],
      ["quote", '"x, y"'],
      ["word", "at"],
      ["url", "https://a.example/l.png"],
      ["hex", "#ff8800"],
      ["word", "it's"],
      ["word", ".png"],
    ]);
  });

  it("gives every token its exact source offsets", () => {
    const text = "  Rotate 90°,  then ADD 'hi' 🎉 ";
    for (const t of tokenize(text)) expect(text.slice(t.start, t.end)).toBe(t.text);
  });
});

describe("numbers as words", () => {
  const read = (s: string) => readNumberWords(s.split(" "), 0);
  it.each([
    ["ninety", 90],
    ["two hundred", 200],
    ["two hundred and fifty", 250],
    ["one thousand five hundred", 1500],
    ["forty five", 45],
    ["one and a half", 1.5],
    ["half", 0.5],
    ["a third", 1 / 3],
    ["a quarter", 0.25],
    ["three quarters", 0.75],
    ["two thirds", 2 / 3],
    ["double", 2],
    ["twice", 2],
    ["triple", 3],
    ["a hundred", 100],
  ] as const)("%s = %d", (words, value) => {
    expect(read(words)?.value).toBeCloseTo(value, 6);
  });

  it("leaves 'and' alone when no number follows", () => {
    expect(lex("rotate two hundred and flip").map((i) => i.key)).toEqual(["rotate", "#num", "#sepword", "flip"]);
  });
});

describe("lex", () => {
  it("joins phrases, attaches units and corrects one-edit typos", () => {
    const items = lex("make it blak and white, rotaet ninety degres to the botom-right");
    expect(items.map((i) => i.key)).toEqual([
      "make",
      "it",
      "black and white",
      "#sep",
      "rotate",
      "#num",
      "to",
      "the",
      "bottom-right",
    ]);
    expect(items[5]).toMatchObject({ num: { value: 90, unit: "deg" }, text: "ninety degres" });
    expect(items[4].typo).toBe("rotaet");
  });
});

describe("tokenize: forms people paste or type", () => {
  it("reads a/b as a fraction when it is below one and as a ratio otherwise", () => {
    expect(tokenize("1/2 16/9").map((t) => [t.kind, t.value, t.value2 ?? t.unit])).toEqual([
      ["number", 0.5, "frac"],
      ["ratio", 16, 9],
    ]);
    // a date is neither
    expect(kinds("1/2/2024")[0]).toEqual(["number", "1"]);
  });

  it("reads rgb() colours and arrows as one token each", () => {
    expect(kinds("rgb(255, 0, 0) png -> jpg → webp")).toEqual([
      ["hex", "rgb(255, 0, 0)"],
      ["word", "png"],
      ["punct", "->"],
      ["word", "jpg"],
      ["punct", "→"],
      ["word", "webp"],
    ]);
  });

  it("reads full-width digits and zero-width spaces as plain ones, keeping offsets and quoted text as written", () => {
    const text = "resize to ８００px\u200b add text '２０２４'";
    const tokens = tokenize(text);
    expect(tokens[2]).toMatchObject({ kind: "number", value: 800, unit: "px", start: 10, end: 15 });
    expect(tokens.at(-1)).toMatchObject({ kind: "quote", inner: "２０２４" });
  });

  it("reads a number with a full stop or parenthesis at the start of a line as a list marker", () => {
    expect(kinds("1. crop\n 2) blur 2. x")).toEqual([
      ["sep", "1."],
      ["word", "crop"],
      ["sep", "2)"],
      ["word", "blur"],
      ["number", "2"],
      ["sep", "."],
      ["word", "x"],
    ]);
  });
});
