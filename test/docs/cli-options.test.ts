// What a reader of the README and `--help` types that the commands must take the same way: every
// option that takes a value also as `--name=value` (as node's parseArgs gives the other commands),
// and a mistyped option named with the nearest one.
import { describe, expect, it } from "vitest";
import { imgedit } from "../cli/in-process.js";

describe("imgedit cost reads options as the other commands do", () => {
  it("--name=value is the same as --name value", async () => {
    const spaced = await imgedit([
      "cost",
      "--images-per-day",
      "5000",
      "--memory-mb",
      "1024",
      "--seconds",
      "0.2",
      "--json",
    ]);
    const joined = await imgedit(["cost", "--images-per-day=5000", "--memory-mb=1024", "--seconds=0.2", "--json"]);
    expect(spaced.code, spaced.stderr).toBe(0);
    expect(joined.code, joined.stderr).toBe(0);
    expect(JSON.parse(joined.stdout)).toEqual(JSON.parse(spaced.stdout));
  });

  it("--from-bench=FILE names the file, as --from-bench FILE does", async () => {
    const r = await imgedit(["cost", "--from-bench=no-such-results.json"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no benchmark results at .*no-such-results\.json/);
  });

  it("a value where none is taken, or none where one is needed, is refused by name", async () => {
    const json = await imgedit(["cost", "--json=yes"]);
    expect(json.code).toBe(2);
    expect(json.stderr).toContain("--json takes no value");
    const empty = await imgedit(["cost", "--images-per-day="]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain("--images-per-day needs a positive whole number, got nothing");
  });

  it("a mistyped option is named with the nearest", async () => {
    const r = await imgedit(["cost", "--images-per-dya", "5000"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown option --images-per-dya (did you mean --images-per-day?)");
    const joined = await imgedit(["cost", "--memroy-mb=1024"]);
    expect(joined.stderr).toContain("unknown option --memroy-mb (did you mean --memory-mb?)");
  });
});
