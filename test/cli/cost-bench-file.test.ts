// `imgedit cost --from-bench FILE` reads what it is given with care: only a regular file of a
// sensible size (not /dev/zero, not a FIFO that would wait for ever), nothing from it echoed raw,
// its JSON's shape checked, and a file without a measurement is an error, since it was asked for.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { rm, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_BENCH_BYTES } from "../../src/cli/commands/cost.js";
import { makeImage } from "../helpers/images.js";
import { imgedit, scratch } from "./in-process.js";

let dir: string;
const at = (name: string) => path.join(dir, name);
const GOOD = {
  machine: { date: "2026-11-25T01:00:00Z", cpuModel: "Xeon", cores: 2 },
  pipeline: [{ id: "jpeg", tools: [{ tool: "imgedit", status: "ok", medianMs: 100, outBytes: 100_000 }] }],
};

beforeAll(async () => {
  dir = await scratch("imgedit-cost-bench-");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `imgedit cost --from-bench <file>`: exit 2 and one line naming the file. */
async function refused(file: string, message: string | RegExp) {
  const r = await imgedit(["cost", "--from-bench", file]);
  expect(r.code, r.stdout).toBe(2);
  expect(r.stdout).toBe("");
  expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  expect(r.stderr).toMatch(message);
  return r;
}

describe("cost --from-bench FILE", () => {
  it.skipIf(!existsSync("/dev/zero"))("a device or a FIFO is refused before it is read", async () => {
    await refused("/dev/zero", "imgedit cost: /dev/zero is not a regular file, not benchmark results");
    execFileSync("mkfifo", [at("fifo.json")]);
    await refused(at("fifo.json"), `${at("fifo.json")} is not a regular file`);
    await refused(dir, `${dir} is a directory`);
  });

  it("a file larger than any results file is refused without reading it", async () => {
    await writeFile(at("huge.json"), "");
    await truncate(at("huge.json"), MAX_BENCH_BYTES + 1);
    await refused(at("huge.json"), /huge\.json is 10,485,761 bytes: too large for benchmark results/);
  });

  it("a PNG: not JSON, and none of its bytes reach the terminal raw", async () => {
    await writeFile(at("photo.png"), await makeImage({ width: 4, height: 4 }));
    const r = await refused(at("photo.png"), /could not read .*photo\.png: not JSON/);
    expect(r.stderr.slice(0, -1)).not.toMatch(/\p{Cc}/u);
  });

  it("JSON of the wrong shape says what is wrong", async () => {
    await writeFile(at("null.json"), "null");
    await refused(
      at("null.json"),
      "is not benchmark results (bench/results/latest.json): a JSON object was expected, not null",
    );
    await writeFile(at("list.json"), JSON.stringify({ pipeline: [{ id: "jpeg", tools: "many" }] }));
    await refused(at("list.json"), "pipeline[0] has no tools list");
    await writeFile(
      at("ms.json"),
      JSON.stringify({ pipeline: [{ id: "jpeg", tools: [{ tool: "imgedit", status: "ok", medianMs: "fast" }] }] }),
    );
    await refused(at("ms.json"), "pipeline[0].tools[0].medianMs is not a number");
  });

  it("a file given explicitly without a measured time is an error, unless --seconds gives the time", async () => {
    await writeFile(at("empty.json"), "{}");
    await refused(at("empty.json"), /empty\.json has no measured processing time/);
    const seconds = await imgedit(["cost", "--from-bench", at("empty.json"), "--seconds", "2"]);
    expect(seconds.code, seconds.stderr).toBe(0);
    await writeFile(at("good.json"), JSON.stringify(GOOD));
    const good = await imgedit(["cost", "--from-bench", at("good.json")]);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toContain("100 ms per image");
  });

  it("number options take plain decimals only", async () => {
    for (const [flag, value] of [
      ["--images-per-day", "0x10"],
      ["--images-per-day", "1e3"],
      ["--memory-mb", " 2048 "],
      ["--seconds", "1e1"],
    ]) {
      const r = await imgedit(["cost", flag, value]);
      expect(r.code, `${flag} ${value}`).toBe(2);
      expect(r.stderr).toContain(`${flag} needs a positive`);
    }
    const ok = await imgedit(["cost", "--seconds", "0.5", "--images-per-day", "5000"]);
    expect(ok.code, ok.stderr).toBe(0);
  });
});
