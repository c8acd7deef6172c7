// The CDK app's settings (`-c name=value`, as the Makefile passes RUNTIME and ARCH): a value it
// cannot honour is refused before anything is synthesised, never silently replaced by the
// default (`RUNTIME=nodejs24.x` deploying nodejs20.x, a runtime AWS has deprecated).
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Runs infra/app.ts as the CDK CLI does (context in CDK_CONTEXT_JSON, output to CDK_OUTDIR). */
async function synthApp(context: Record<string, string>) {
  const out = mkdtempSync(path.join(os.tmpdir(), "imgedit-app-"));
  dirs.push(out);
  const env = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? os.tmpdir(),
    CDK_OUTDIR: out,
    // No build output: the placeholder code, so the test needs no bundles.
    CDK_CONTEXT_JSON: JSON.stringify({ buildDir: path.join(out, "no-build"), ...context }),
  };
  try {
    const r = await promisify(execFile)(process.execPath, ["--import", "tsx", "infra/app.ts"], {
      cwd: root,
      env,
      encoding: "utf8",
      timeout: 120_000,
    });
    const template = JSON.parse(readFileSync(path.join(out, "ImgeditStack.template.json"), "utf8"));
    return { ok: true as const, stderr: r.stderr, template };
  } catch (e) {
    return { ok: false as const, stderr: String((e as { stderr?: string }).stderr ?? e) };
  }
}

// biome-ignore lint/suspicious/noExplicitAny: synthesised templates are read loosely
const functionsOf = (template: any) =>
  Object.values(template.Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>).filter(
    (r) => r.Type === "AWS::Lambda::Function",
  );

describe("CDK app context", () => {
  it("deploys the runtime and architecture it is given", async () => {
    const r = await synthApp({ runtime: "nodejs22.x", architecture: "arm64" });
    expect(r.ok, r.stderr).toBe(true);
    const fns = functionsOf(r.ok ? r.template : {});
    expect(fns).toHaveLength(3);
    for (const f of fns) expect(f.Properties).toMatchObject({ Runtime: "nodejs22.x", Architectures: ["arm64"] });
  }, 150_000);

  it.each([
    ["runtime", "nodejs24.x"],
    ["runtime", "nodejs18.x"],
    ["architecture", "aarch64"],
  ])(
    "refuses -c %s=%s instead of deploying the default",
    async (name, value) => {
      const r = await synthApp({ [name]: value });
      expect(r.ok).toBe(false);
      expect(r.stderr).toContain(`${name}=${value}`);
      expect(r.stderr).toMatch(/nodejs20\.x, nodejs22\.x|x86_64, arm64/);
    },
    150_000,
  );
});
