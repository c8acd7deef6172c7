// `imgedit parse`: in-process for the details, once as a real process through the dispatcher.
import { execFile } from "node:child_process";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import parse from "../../src/cli/commands/parse.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

async function run(args: string[], env: Record<string, string | undefined> = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (c) => {
    out += c;
  });
  stderr.on("data", (c) => {
    err += c;
  });
  const code = await parse.run(args, { stdout, stderr, env });
  return { code, out, err };
}

describe("imgedit parse", () => {
  it("prints the plan as JSON and a numbered list", async () => {
    const r = await run(["rotate 90 degrees clockwise then convert to webp at 80% quality"]);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out.slice(0, r.out.indexOf("\n}\n") + 2));
    expect(json.ok).toBe(true);
    expect(json.source).toBe("grammar");
    expect(json.plan).toEqual([
      { op: "rotate", angle: 90, background: "white" },
      { op: "format", format: "webp", quality: 80 },
    ]);
    expect(r.out).toContain("1. Rotate 90° clockwise");
    expect(r.out).toContain("2. Convert to WEBP, quality 80");
  });

  it("--json prints only JSON", async () => {
    const r = await run(["make it black and white", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({
      ok: true,
      plan: [{ op: "grayscale" }],
      steps: ["Convert to greyscale"],
      source: "grammar",
    });
  });

  it("joins unquoted words into one command", async () => {
    const r = await run(["resize", "to", "800px", "--json"]);
    expect(JSON.parse(r.out).plan[0]).toMatchObject({ op: "resize", width: 800, height: 800 });
  });

  it("exits 2 and marks the words it did not understand", async () => {
    const r = await run(["rotate 90 and frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err).toContain('I did not understand "frobnicate"');
    expect(r.err).toContain("  rotate 90 and frobnicate\n                ^^^^^^^^^^\n");
  });

  it("with --json, a rejection is JSON on stdout too", async () => {
    const r = await run(["zoom in", "--json"]);
    expect(r.code).toBe(2);
    const json = JSON.parse(r.out);
    expect(json.ok).toBe(false);
    expect(json.error).toMatchObject({ code: "COMMAND_NOT_UNDERSTOOD", unknown: [{ word: "zoom", start: 0, end: 4 }] });
    expect(json.error.suggestions).toContain("crop");
  });

  it("runs as `imgedit parse` from the command line", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "src/cli/main.ts", "parse", "make it half the size and black and white", "--json"],
      { cwd: ROOT, env: { PATH: process.env.PATH } },
    );
    expect(JSON.parse(stdout).plan).toEqual([{ op: "scale", factor: 0.5 }, { op: "grayscale" }]);
    const failed = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "src/cli/main.ts", "parse", "wibble"],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH },
      },
    ).catch((e: { code: number; stderr: string }) => e);
    expect((failed as { code: number }).code).toBe(2);
    expect((failed as { stderr: string }).stderr).toContain('"wibble"');
  });

  it("exits 2 without a command", async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("give the command");
  });
});
