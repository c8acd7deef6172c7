// `-c sessionTtlDays=N`: one lifetime for sessions (the functions' SESSION_TTL_DAYS, the table's
// ttl) and their files (the bucket's lifecycle rule), and a value that cannot work refused at
// synth, before anything is deployed.
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { ImgeditStack } from "../../infra/stack.js";
import { loadConfig } from "../../src/config.js";

// biome-ignore lint/suspicious/noExplicitAny: synthesised templates are read loosely
type Json = Record<string, any>;

const synth = (sessionTtlDays?: number) =>
  Template.fromStack(new ImgeditStack(new App(), "TtlStack", { code: "placeholder", sessionTtlDays })).toJSON()
    .Resources as Record<string, Json>;

describe("session lifetime", () => {
  it("gives the bucket's lifecycle rule and every function the same number of days", () => {
    const r = Object.values(synth(7));
    const bucket = r.find((x) => x.Type === "AWS::S3::Bucket")!;
    expect(bucket.Properties.LifecycleConfiguration.Rules[0].ExpirationInDays).toBe(7);
    const fns = r.filter((x) => x.Type === "AWS::Lambda::Function" && x.Properties.Environment);
    expect(fns.length).toBeGreaterThanOrEqual(3);
    for (const f of fns) expect(f.Properties.Environment.Variables.SESSION_TTL_DAYS).toBe("7");
  });

  it.each([0, -1, 1.5, Number.NaN])("refuses %s days at synth, naming the setting", (days) => {
    // 0 would synthesise a rule S3 refuses mid-deploy and a SESSION_TTL_DAYS the functions'
    // configuration refuses at start-up (every invocation would fail).
    expect(() => loadConfig({ SESSION_TTL_DAYS: String(days) })).toThrow(/SESSION_TTL_DAYS/);
    expect(() => synth(days)).toThrow(/sessionTtlDays must be a whole number of days from 1 up/);
  });
});
