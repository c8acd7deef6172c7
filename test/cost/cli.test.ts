import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import cost from "../../src/cli/commands/cost.js";

async function run(argv: string[]) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (d) => (out += d));
  stderr.on("data", (d) => (err += d));
  const code = await cost.run(argv, { stdout, stderr, env: {} });
  return { code, out, err };
}

describe("imgedit cost", () => {
  it("prints the guide's table, its printed figures and the recomputation", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "cost-"));
    const r = await run(["--from-bench", path.join(dir, "missing.json")]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/npm run bench/);
    const g = await run(["--seconds", "0.1"]);
    expect(g.code).toBe(0);
    expect(g.out).toContain("600,000 GB-s");
    expect(g.out).toContain("$16.67");
    expect(g.out).toContain("$10.01");
    expect(g.out).toMatch(/as of \d{4}-\d{2}-\d{2}/);
    expect(g.out).toContain("measured $");
  });

  it("uses a bench results file and any volume and memory size", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "cost-"));
    const file = path.join(dir, "latest.json");
    await writeFile(
      file,
      JSON.stringify({
        machine: { date: "2026-11-25T01:00:00Z", cpuModel: "Xeon", cores: 2 },
        pipeline: [{ id: "jpeg", tools: [{ tool: "imgedit", status: "ok", medianMs: 100, outBytes: 100_000 }] }],
      }),
    );
    const r = await run(["--from-bench", file, "--images-per-day", "5000", "--memory-mb", "1024", "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.guide.imagesPerMonth).toBe(150_000);
    const proc = j.measured.lines.find((l: { key: string }) => l.key === "processor");
    // 150,000 x (0.1 s x 1769/1024) x 1 GB
    expect(proc.cost).toBeCloseTo(150_000 * 0.1 * (1769 / 1024) * 0.0000166667 + 0.03, 6);
  });

  it("rejects bad numbers with a clear message", async () => {
    const r = await run(["--images-per-day", "-3"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--images-per-day needs a positive whole number/);
    const m = await run(["--memory-mb", "99999"]);
    expect(m.err).toMatch(/128-10240/);
  });
});
