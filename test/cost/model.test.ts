import { describe, expect, it } from "vitest";
import {
  estimateCost,
  GUIDE_PRINTED,
  guideWorkload,
  lambdaSeconds,
  measuredFromBench,
  measuredSeconds,
  measuredWorkload,
} from "../../src/cost/model.js";
import { PRICES, type PriceTable } from "../../src/cost/prices.js";

const line = (e: ReturnType<typeof estimateCost>, key: string) => {
  const l = e.lines.find((x) => x.key === key);
  if (!l) throw new Error(`no line ${key}`);
  return l;
};

describe("cost model arithmetic", () => {
  const guide = estimateCost(guideWorkload(1000), PRICES);

  it("recomputes the guide's processor row: 30,000 x 10 s x 2 GB = 600,000 GB-s = $10.00 + requests", () => {
    const p = line(guide, "processor");
    expect(p.usage).toContain("600,000 GB-s");
    expect(p.usage).toContain("30,000 invocations");
    // 600,000 x 0.0000166667 = 10.00002; 30,000 requests x $0.20/M = 0.006
    expect(p.cost).toBeCloseTo(10.00002 + 0.006, 6);
    expect(p.cost).not.toBeCloseTo(GUIDE_PRINTED.lines.processor, 1);
  });

  it("recomputes the orchestration row: 30,000 x 1 s x 256 MB = 7,500 GB-s", () => {
    const a = line(guide, "api");
    expect(a.usage).toContain("7,500 GB-s");
    expect(a.cost).toBeCloseTo(7500 * 0.0000166667 + 0.006, 6);
  });

  it("prices DynamoDB, S3 and transfer per the table", () => {
    expect(line(guide, "dynamodb").cost).toBeCloseTo(0.09 * 0.625 + 0.09 * 0.125, 9);
    expect(line(guide, "s3Storage").cost).toBeCloseTo(2.3, 9);
    expect(line(guide, "s3Requests").cost).toBeCloseTo(30 * 0.005 + 60 * 0.0004, 9);
    expect(line(guide, "transfer").cost).toBeCloseTo(4.5, 9);
  });

  it("the guide's rows that are right match the printed table to the cent", () => {
    for (const key of ["s3Storage", "s3Requests", "transfer"] as const)
      expect(line(guide, key).cost).toBeCloseTo(GUIDE_PRINTED.lines[key], 2);
  });

  it("totals add up and the per-image figure divides by 30 days of images", () => {
    const sum = guide.lines.reduce((s, l) => s + l.cost, 0);
    expect(guide.total).toBeCloseTo(sum, 12);
    expect(guide.imagesPerMonth).toBe(30_000);
    expect(guide.perImage).toBeCloseTo(sum / 30_000, 12);
    // the printed lines do sum to the printed total: the error is in the rows, not the addition
    const printed = Object.values(GUIDE_PRINTED.lines).reduce((s, v) => s + v, 0);
    expect(printed).toBeCloseTo(GUIDE_PRINTED.total, 2);
    expect(guide.total).toBeLessThan(GUIDE_PRINTED.total);
  });

  it("scales linearly with volume and with the price table", () => {
    const ten = estimateCost(guideWorkload(10_000), PRICES);
    expect(ten.total).toBeCloseTo(guide.total * 10, 6);
    expect(ten.perImage).toBeCloseTo(guide.perImage, 9);
    const doubled: PriceTable = {
      ...PRICES,
      lambda: { ...PRICES.lambda, perGbSecond: PRICES.lambda.perGbSecond * 2 },
    };
    const p2 = line(estimateCost(guideWorkload(1000), doubled), "processor").cost;
    expect(p2 - 0.006).toBeCloseTo((line(guide, "processor").cost - 0.006) * 2, 6);
  });

  it("memory size changes GB-seconds in the guide's column (time fixed at its 10 s)", () => {
    const oneGb = estimateCost(guideWorkload(1000, 1024), PRICES);
    expect(line(oneGb, "processor").usage).toContain("300,000 GB-s");
  });
});

describe("measured workload", () => {
  const bench = {
    machine: { date: "2026-11-25T01:00:00Z", cpuModel: "Xeon", cores: 2 },
    pipeline: [
      {
        id: "jpeg",
        tools: [
          { tool: "imgedit", status: "ok", medianMs: 50, outBytes: 125_000 },
          { tool: "sharp", status: "ok", medianMs: 48, outBytes: 125_000 },
        ],
      },
    ],
    service: { status: "ok", levels: [{ concurrency: 1, p50Ms: 80 }], writesPerImage: 6 },
  };

  it("reads the bench's figures", () => {
    const m = measuredFromBench(bench, "latest.json");
    expect(m.pipelineSeconds).toBeCloseTo(0.05, 9);
    expect(m.serviceSeconds).toBeCloseTo(0.08, 9);
    expect(m.outputBytes).toBe(125_000);
    expect(m.writesPerImage).toBe(6);
  });

  it("uses the measured time, scaled by Lambda's CPU share below 1769 MB", () => {
    expect(lambdaSeconds(1, 2048)).toBe(1);
    expect(lambdaSeconds(1, 1769)).toBe(1);
    expect(lambdaSeconds(1, 884.5)).toBeCloseTo(2, 9);
    const m = measuredFromBench(bench, "latest.json");
    const w = measuredWorkload(m, { imagesPerDay: 1000, processorMemoryMB: 2048 });
    expect(w.processor.secondsPerImage).toBeCloseTo(0.08, 9);
    const e = estimateCost(w, PRICES);
    // 30,000 x 0.08 s x 2 GB = 4,800 GB-s
    expect(line(e, "processor").cost).toBeCloseTo(4800 * 0.0000166667 + 0.006, 6);
    // the 6 session writes the bench counted, and the edit's shared rate count
    expect(w.dynamodb.writesPerImage).toBe(7);
    // 1000/day kept 30 days x 125,000 bytes
    expect(w.s3.storageGB).toBeCloseTo((1000 * 30 * 125_000) / 1024 ** 3, 9);
    expect(w.transferOutGB).toBeCloseTo((30_000 * 2 * 125_000) / 1024 ** 3, 9);
    const small = measuredWorkload(m, { imagesPerDay: 1000, processorMemoryMB: 512 });
    expect(small.processor.secondsPerImage).toBeCloseTo(0.08 * (1769 / 512), 9);
  });

  it("takes the larger of the service's and the pipeline's time, so the estimate errs high", () => {
    expect(measuredSeconds({ source: "x", pipelineSeconds: 0.06, serviceSeconds: 0.04 })).toBe(0.06);
    expect(measuredSeconds({ source: "x", serviceSeconds: 0.04 })).toBe(0.04);
    expect(measuredSeconds({ source: "x" })).toBeUndefined();
  });

  it("--seconds overrides the measurement; no time at all is an error", () => {
    const w = measuredWorkload({ source: "x" }, { imagesPerDay: 100, processorMemoryMB: 2048, seconds: 2 });
    expect(w.processor.secondsPerImage).toBe(2);
    // no measured size: the guide's storage and transfer stand
    expect(w.s3.storageGB).toBeCloseTo(10, 9);
    expect(() => measuredWorkload({ source: "x" }, { imagesPerDay: 100, processorMemoryMB: 2048 })).toThrow(/bench/);
  });
});
