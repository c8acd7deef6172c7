// CDK app: `npx --yes aws-cdk@2 deploy` (see the Makefile). Names, region and architecture come
// from context (-c name=value or cdk.json); JWT settings are stack parameters (--parameters).
import { existsSync } from "node:fs";
import path from "node:path";
import { App } from "aws-cdk-lib";
import { ImgeditStack } from "./stack.js";

const app = new App();
const ctx = (name: string): string | undefined => {
  const v = app.node.tryGetContext(name);
  return v === undefined || v === "" ? undefined : String(v);
};
/** A setting with a few possible values: any other is refused, never replaced by the default. */
function oneOf<const T extends string>(name: string, allowed: readonly T[], fallback: T): T {
  const v = ctx(name);
  if (v === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(v)) {
    throw new Error(`imgedit infra: -c ${name}=${v} is not supported; use one of ${allowed.join(", ")}`);
  }
  return v as T;
}
const buildDir = path.resolve(ctx("buildDir") ?? "build/lambda");
const architecture = oneOf("architecture", ["x86_64", "arm64"], "x86_64");
// The bundles and the sharp layer are built and tested for these (the layer's compatible runtimes).
const runtime = oneOf("runtime", ["nodejs20.x", "nodejs22.x"], "nodejs20.x");
const built = ["api.zip", "processor.zip", `sharp-layer-${architecture === "arm64" ? "arm64" : "x64"}.zip`].every((f) =>
  existsSync(path.join(buildDir, f)),
);
if (!built && ctx("requireBuild") === "true") {
  throw new Error(`${buildDir} has no bundles: run \`npm run build:lambda\` before deploying`);
}
if (!built) {
  process.stderr.write(
    `imgedit infra: ${buildDir} has no bundles: synthesising with placeholder code (run \`npm run build:lambda\` before deploying)\n`,
  );
}

new ImgeditStack(app, ctx("stackName") ?? "ImgeditStack", {
  env: {
    // CDK's own convention: the CLI sets these from the profile; -c region overrides.
    account: process.env.CDK_DEFAULT_ACCOUNT,
    region: ctx("region") ?? process.env.CDK_DEFAULT_REGION,
  },
  tableName: ctx("tableName"),
  bucketName: ctx("bucketName"),
  processorFunctionName: ctx("processorFunctionName"),
  apiFunctionName: ctx("apiFunctionName"),
  failureRecorderFunctionName: ctx("failureRecorderFunctionName"),
  architecture,
  code: built ? "build" : "placeholder",
  buildDir,
  retainData: ctx("retainData") !== "false",
  runtime,
  sessionTtlDays: ctx("sessionTtlDays") ? Number(ctx("sessionTtlDays")) : undefined,
});
