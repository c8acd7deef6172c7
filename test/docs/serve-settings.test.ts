// `imgedit serve` keeps sessions in SQLite and files in DATA_DIR: that is the whole of its
// storage. The S3 and DynamoDB settings (README, "Running on AWS") belong to the Lambda functions.
// Given them, the server used to start anyway, print "aws mode" and answer /healthz with
// {"mode":"aws"}, while every result went to DATA_DIR on this machine.
import { spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../http/harness.js";

const root = path.resolve(import.meta.dirname, "../..");

/** `imgedit serve --port 0` as a child: its exit code and output, or "started" (then stopped). */
function serve(env: Record<string, string>): Promise<{ code: number | null; out: string; started: boolean }> {
  const child = spawn(
    path.join(root, "node_modules/.bin/tsx"),
    [path.join(root, "src/cli/main.ts"), "serve", "--port", "0"],
    {
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", LOG_LEVEL: "silent", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  let started = false;
  return new Promise((resolve) => {
    const read = (c: Buffer) => {
      out += c.toString();
      if (!started && out.includes("imgedit listening")) {
        started = true;
        child.kill("SIGTERM"); // only the process this test started
      }
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.on("exit", (code) => resolve({ code, out, started }));
  });
}

describe("imgedit serve with the AWS storage settings", () => {
  const cases: Record<string, string>[] = [
    { S3_BUCKET: "my-results", DYNAMODB_TABLE: "image-edit-sessions" },
    { GENERATED_IMAGES_BUCKET: "my-results" },
    { IMAGE_EDIT_SESSIONS_TABLE: "image-edit-sessions" },
  ];
  for (const env of cases) {
    it(`refuses to start on local storage instead (${Object.keys(env).join(", ")})`, async () => {
      const parent = tempDir("imgedit-doc-serve-");
      const data = path.join(parent, "data");
      const r = await serve({ DATA_DIR: data, ...env });
      expect(r.started, r.out).toBe(false);
      expect(r.code).toBe(2);
      const lines = r.out.trim().split("\n");
      expect(lines).toHaveLength(1);
      for (const name of Object.keys(env)) expect(lines[0]).toContain(name);
      expect(lines[0]).toMatch(/^imgedit serve: .*DATA_DIR/);
      expect(existsSync(data), "nothing made in DATA_DIR").toBe(false);
      rmSync(parent, { recursive: true, force: true });
    }, 30_000);
  }
});
