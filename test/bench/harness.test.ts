// Smoke test of the bench harness: one tiny run prints its tables and ratios and writes its JSON.
// No timed assertions: only that the figures exist, sit beside their baseline, and outputs check out.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { evaluateTargets, render } from "../../bench/run.js";
import { median, percentile, table } from "../../bench/stats.js";
import { readPhases } from "../../tests/load/run.js";

const fixtures = path.resolve(import.meta.dirname, "../../../shared/fixtures");
const photo = path.join(fixtures, "2569067123_aca715a2ee_o.jpg");

describe("bench stats", () => {
  it("takes nearest-rank percentiles", () => {
    const v = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(v, 50)).toBe(50);
    expect(percentile(v, 99)).toBe(99);
    expect(percentile(v, 100)).toBe(100);
    expect(median([3, 1, 2])).toBe(2);
    expect(Number.isNaN(percentile([], 50))).toBe(true);
  });

  it("aligns tables", () => {
    const t = table([
      ["tool", "images/s"],
      ["sharp", "12.50"],
      ["imgedit", "9.00"],
    ]).split("\n");
    expect(t).toHaveLength(4);
    expect(t[2].indexOf("12.50") + 5).toBe(t[3].indexOf("9.00") + 4);
  });
});

describe("load profiles", () => {
  it("keeps the guide's phases and a 60 s short profile of the same shape", () => {
    const dir = path.resolve(import.meta.dirname, "../../tests/load");
    const full = readPhases(readFileSync(path.join(dir, "image-processing.yml"), "utf8"));
    expect(full).toEqual([
      { duration: 60, arrivalRate: 5, name: "Warm up" },
      { duration: 300, arrivalRate: 20, name: "Sustained load" },
    ]);
    const short = readPhases(readFileSync(path.join(dir, "image-processing.short.yml"), "utf8"));
    expect(short.reduce((s, p) => s + p.duration, 0)).toBe(60);
    expect(short.map((p) => p.arrivalRate)).toEqual([5, 20]);
    expect(short[1].duration / short[0].duration).toBe(300 / 60);
  });
});

describe.runIf(existsSync(photo))("bench harness", () => {
  it("runs one tiny iteration per tool and prints imgedit / sharp beside each other", () => {
    const out = path.join(mkdtempSync(path.join(os.tmpdir(), "bench-smoke-")), "r.json");
    const r = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "bench/run.ts",
        "--quick",
        "--only",
        "pipeline,planner",
        "--cases",
        "jpeg",
        "--no-install",
        "--out",
        out,
      ],
      { cwd: path.resolve(import.meta.dirname, "../.."), encoding: "utf8", timeout: 180_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("JPEG 2725x2225 -> 800 px wide JPEG q90");
    expect(r.stdout).toMatch(/bare sharp\s+\d+\.\d\d/);
    expect(r.stdout).toMatch(/imgedit \/ bare sharp: (\d+\.\d\dx|-)/);
    expect(r.stdout).toContain("targets");
    const json = JSON.parse(readFileSync(out, "utf8"));
    expect(json.machine.cores).toBeGreaterThan(0);
    expect(json.machine.libvips).toMatch(/^\d+\.\d+/);
    const jpeg = json.pipeline.find((c: { id: string }) => c.id === "jpeg");
    const sharp = jpeg.tools.find((t: { tool: string }) => t.tool === "sharp");
    expect(sharp.status).toBe("ok");
    expect(sharp.check).toBe("ok");
    expect(sharp.iterations).toBeGreaterThanOrEqual(2);
    const imgedit = jpeg.tools.find((t: { tool: string }) => t.tool === "imgedit");
    if (imgedit.status === "ok") {
      expect(imgedit.check).toBe("ok");
      expect(jpeg.imgeditVsSharp).toBeGreaterThan(0);
    }
    // render and targets work from the saved JSON alone
    expect(render(json)).toContain("imgedit / bare sharp");
    expect(evaluateTargets(json).map((t) => t.name)).toContain("pipeline vs bare sharp");
  }, 200_000);

  it("drives the real server and the bare one at every level, beside the pipeline", () => {
    const out = path.join(mkdtempSync(path.join(os.tmpdir(), "bench-smoke-")), "r.json");
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", "bench/run.ts", "--quick", "--only", "service", "--no-install", "--out", out],
      { cwd: path.resolve(import.meta.dirname, "../.."), encoding: "utf8", timeout: 180_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const json = JSON.parse(readFileSync(out, "utf8"));
    // first, so a failed run says why (its note) rather than only that the table is missing
    expect(json.service.status, json.service.note).toBe("ok");
    expect(r.stdout).toMatch(/service \/ bare/);
    expect(json.service.bareNote).toBeUndefined();
    expect(json.service.levels.map((l: { concurrency: number }) => l.concurrency)).toEqual([1, 2, 4, 8]);
    for (const l of json.service.levels) {
      expect(l.failed, l.firstError).toBe(0);
      expect(l.imagesPerSec).toBeGreaterThan(0);
      expect(l.pipelineImagesPerSec).toBeGreaterThan(0);
      expect(l.bareImagesPerSec).toBeGreaterThan(0);
      expect(l.vsBare).toBeCloseTo(l.imagesPerSec / l.bareImagesPerSec, 6); // one round: the ratio itself
      expect(l.vsPipelineRounds).toHaveLength(1);
    }
    // a one-image edit is written three times: created, fetching, done
    expect(json.service.writesPerImage).toBe(3);
    expect(evaluateTargets(json).map((t) => t.name)).toContain("service overhead at concurrency 4");
  }, 200_000);
});
