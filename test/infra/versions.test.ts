// The API and the processor run through their `production` aliases, which point at published
// versions, and a version keeps the code, layers and environment it was published with. So every
// deploy that changes what a function runs with must publish a new version for the alias, or the
// change lands on $LATEST only and silently never goes live: a sharp layer upgrade (the layer is
// not in CDK's version hash by default), or new JWT settings (stack parameters: their values are
// not in the template CDK hashes, so nothing tells CloudFormation the version is stale).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { zipSync } from "fflate";
import { afterAll, describe, expect, it } from "vitest";
import { ImgeditStack } from "../../infra/stack.js";

// biome-ignore lint/suspicious/noExplicitAny: synthesised templates are read loosely
type Json = Record<string, any>;
const dirs: string[] = [];

/** A build directory as `npm run build:lambda` leaves it, with the given layer content. */
function buildDir(layerText: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "imgedit-layer-"));
  dirs.push(dir);
  mkdirSync(dir, { recursive: true });
  // A fixed time stamp: equal content, equal zip (the asset hash is the zip's).
  const zip = (files: Record<string, string>) =>
    Buffer.from(
      zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, new TextEncoder().encode(v)])), {
        mtime: new Date("2026-01-01T00:00:00Z"),
      }),
    );
  writeFileSync(path.join(dir, "api.zip"), zip({ "index.mjs": "export const handler = () => 'api';\n" }));
  writeFileSync(path.join(dir, "processor.zip"), zip({ "index.mjs": "export const handler = () => 'job';\n" }));
  writeFileSync(path.join(dir, "sharp-layer-x64.zip"), zip({ "nodejs/node_modules/sharp/package.json": layerText }));
  return dir;
}

function resourcesOf(dir: string): Record<string, Json> {
  const stack = new ImgeditStack(new App(), "LayerStack", { code: "build", buildDir: dir });
  return Template.fromStack(stack).toJSON().Resources as Record<string, Json>;
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("function versions behind the production aliases", () => {
  it("publishes new versions of every aliased function when only the layer changed", () => {
    const before = resourcesOf(buildDir('{"name":"sharp","version":"0.35.4"}'));
    const after = resourcesOf(buildDir('{"name":"sharp","version":"0.35.5"}'));
    const layerKey = (r: Record<string, Json>) =>
      JSON.stringify(Object.values(r).find((x) => x.Type === "AWS::Lambda::LayerVersion")!.Properties.Content);
    // The layer itself is new ...
    expect(layerKey(after)).not.toBe(layerKey(before));
    const versions = (r: Record<string, Json>) =>
      Object.entries(r)
        .filter(([, x]) => x.Type === "AWS::Lambda::Version")
        .map(([id]) => id)
        .sort();
    expect(versions(before)).toHaveLength(3); // processor, failure recorder, API
    // ... so each alias must get a version published with it: a new Version resource (the old
    // one is retained for rollback), which the alias then points at.
    for (const id of versions(after)) expect(versions(before)).not.toContain(id);
    for (const [, alias] of Object.entries(after).filter(([, x]) => x.Type === "AWS::Lambda::Alias")) {
      const target = alias.Properties.FunctionVersion["Fn::GetAtt"][0];
      expect(versions(after)).toContain(target);
      // Lambda publishes a version only from a function whose code or configuration changed since
      // the last one (else CloudFormation fails: "A version for this Lambda function exists"), so
      // a new version identity comes with a change to the function itself, also on the first
      // deploy after the identity rule changed with the code untouched.
      const fnId = after[target].Properties.FunctionName.Ref;
      expect(JSON.stringify(after[fnId].Properties)).not.toBe(JSON.stringify(before[fnId].Properties));
    }
  });

  it("publishes a new version of a function whose environment takes a stack parameter when its value changes", () => {
    // e.g. `make deploy JWKS_URL=...` after a first deploy without an OIDC issuer: only the
    // parameters change. CloudFormation replaces a Version only when one of its own properties
    // changes, so each parameter the function's environment reads must be one of them.
    const app = new App();
    const t = Template.fromStack(new ImgeditStack(app, "ParamStack", { code: "placeholder" })).toJSON();
    const resources = t.Resources as Record<string, Json>;
    const parameters = Object.keys(t.Parameters as Json).filter((p) => !p.startsWith("BootstrapVersion"));
    let checked = 0;
    for (const [, alias] of Object.entries(resources).filter(([, r]) => r.Type === "AWS::Lambda::Alias")) {
      const version = resources[alias.Properties.FunctionVersion["Fn::GetAtt"][0]];
      const fn = resources[version.Properties.FunctionName.Ref];
      const envText = JSON.stringify(fn.Properties.Environment?.Variables ?? {});
      const versionText = JSON.stringify(version.Properties);
      for (const p of parameters) {
        if (!envText.includes(JSON.stringify({ Ref: p }))) continue;
        checked++;
        expect(versionText, `${fn.Properties.FunctionName}'s version ignores parameter ${p}`).toContain(
          JSON.stringify({ Ref: p }),
        );
      }
    }
    // JwksUrl, JwtIssuer and JwtAudience reach the API's environment.
    expect(checked).toBe(3);
  });

  it("keeps the versions when nothing changed (no needless publish on every deploy)", () => {
    const ids = (dir: string) =>
      Object.entries(resourcesOf(dir))
        .filter(([, x]) => x.Type === "AWS::Lambda::Version")
        .map(([id]) => id)
        .sort();
    expect(ids(buildDir("same"))).toEqual(ids(buildDir("same")));
  });
});
