// An alarm on a custom metric fires only if the code emits exactly that metric: same namespace,
// name and dimension set (CloudWatch matches the full set; one extra or missing dimension is
// another metric, and the alarm sits in INSUFFICIENT_DATA for good). This runs the real processor
// handler with the metrics its composition builds (EMF on stdout) and checks every alarm and
// dashboard line of the synthesised stack that reads a custom metric against what it wrote.
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ImgeditStack, MEMORY_ALARM_BYTES } from "../../infra/stack.js";
import { loadConfig } from "../../src/config.js";
import { buildLambdaDeps } from "../../src/lambda/deps.js";
import { makeProcessorHandler } from "../../src/lambda/processor.js";
import { silentLogger } from "../../src/logger.js";
import { type LoopbackAws, startLoopbackAws, TEST_CREDENTIALS } from "../aws/servers.js";

// biome-ignore lint/suspicious/noExplicitAny: synthesised templates and EMF documents are read loosely
type Json = Record<string, any>;
let aws: LoopbackAws;
let resources: Json[];
const emf: Json[] = [];

beforeAll(async () => {
  const app = new App();
  resources = Object.values(
    Template.fromStack(new ImgeditStack(app, "AlarmStack", { code: "placeholder" })).toJSON().Resources as Json,
  );
  aws = await startLoopbackAws({ table: "sessions", bucket: "results" });
  const deps = buildLambdaDeps(loadConfig({ ...aws.env, LOG_LEVEL: "silent" }), {
    functionLabel: "processor",
    credentials: TEST_CREDENTIALS,
    logger: silentLogger(),
  });
  const written: string[] = [];
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  try {
    // A job whose session is gone: skipped, and the run still reports its peak memory.
    const r = await makeProcessorHandler(() => deps)(
      { job: { sessionId: "gone", imageId: "one", userId: "u", attempt: 1 } },
      { getRemainingTimeInMillis: () => 300_000, awsRequestId: "req-1" },
    );
    expect(r).toEqual({ ok: true });
  } finally {
    spy.mockRestore();
  }
  for (const line of written.join("").split("\n")) {
    if (!line.startsWith("{")) continue;
    const doc = JSON.parse(line) as Json;
    if (doc._aws) emf.push(doc);
  }
});

afterAll(async () => {
  await aws?.close();
});

/** The EMF documents that declare metric `name` in `namespace`, with their dimension sets. */
function emitted(namespace: string, name: string) {
  return emf.flatMap((doc) =>
    (doc._aws.CloudWatchMetrics as Json[])
      .filter((d) => d.Namespace === namespace && d.Metrics.some((m: Json) => m.Name === name))
      .map((d) => ({
        doc,
        dimensionSets: d.Dimensions as string[][],
        unit: d.Metrics.find((m: Json) => m.Name === name).Unit,
      })),
  );
}

describe("alarms on metrics the code emits", () => {
  it("every custom-namespace alarm reads a metric the processor writes, with exactly its dimensions", () => {
    const custom = resources.filter(
      (r) => r.Type === "AWS::CloudWatch::Alarm" && !String(r.Properties.Namespace).startsWith("AWS/"),
    );
    expect(custom.length).toBeGreaterThan(0);
    for (const { Properties: alarm } of custom) {
      const found = emitted(alarm.Namespace, alarm.MetricName);
      expect(found.length, `${alarm.Namespace}/${alarm.MetricName} is never emitted`).toBeGreaterThan(0);
      const wanted = (alarm.Dimensions as { Name: string; Value: string }[]).map((d) => d.Name).sort();
      for (const { doc, dimensionSets, unit } of found) {
        expect(dimensionSets.map((s) => [...s].sort())).toContainEqual(wanted);
        for (const d of alarm.Dimensions) expect(doc[d.Name]).toBe(d.Value);
        if (alarm.Unit) expect(unit).toBe(alarm.Unit);
        expect(typeof doc[alarm.MetricName]).toBe("number");
      }
    }
  });

  it("the memory alarm's threshold is in the unit the processor reports (bytes)", () => {
    const [mem] = emitted("imgedit", "max_memory_used_bytes");
    expect(mem.unit).toBe("Bytes");
    const bytes = mem.doc.max_memory_used_bytes as number;
    // This test process: tens of MB, well under the 1.8 GB threshold (not KB, not MB).
    expect(bytes).toBeGreaterThan(20 * 1024 * 1024);
    expect(bytes).toBeLessThan(MEMORY_ALARM_BYTES);
  });

  it("the dashboard's custom-metric line reads the same metric", () => {
    const dash = resources.find((r) => r.Type === "AWS::CloudWatch::Dashboard")!;
    const [mem] = emitted("imgedit", "max_memory_used_bytes");
    // The widget lists [namespace, name, dim1, value1, ..., {options}] inside the JSON body.
    const body = JSON.stringify(dash.Properties.DashboardBody).replace(/\\"/g, '"');
    const m = /\["imgedit","max_memory_used_bytes",((?:"[^"]*",)*)\{/.exec(body);
    expect(m, "no memory line on the dashboard").not.toBeNull();
    const parts = JSON.parse(`[${m![1].slice(0, -1)}]`) as string[];
    const widget: Record<string, string> = {};
    for (let i = 0; i < parts.length; i += 2) widget[parts[i]] = parts[i + 1];
    const emittedDims = Object.fromEntries(mem.dimensionSets[0].map((k) => [k, mem.doc[k]]));
    expect(widget).toEqual(emittedDims);
  });
});
