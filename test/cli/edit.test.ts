// The `imgedit` command as a user runs it: a real process, real files in a temp directory.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeImage } from "../helpers/images.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const TSX = path.join(ROOT, "node_modules/.bin/tsx");
const MAIN = path.join(ROOT, "src/cli/main.ts");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function imgedit(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      TSX,
      [MAIN, ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "imgedit-cli-"));
  await mkdir(path.join(dir, "in"));
  await writeFile(path.join(dir, "in/a.png"), await makeImage({ width: 64, height: 48, color: "red" }));
  await writeFile(path.join(dir, "in/b.jpg"), await makeImage({ width: 80, height: 40, format: "jpeg" }));
  await writeFile(path.join(dir, "in/c.gif"), await makeImage({ width: 30, height: 30, pages: 3, format: "gif" }));
  await writeFile(path.join(dir, "in/notes.txt"), "not an image");
  await writeFile(path.join(dir, "bad.jpg"), Buffer.from("this is text pretending to be a jpeg"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("imgedit edit", () => {
  it("one input to one output file, format from the extension", async () => {
    const out = path.join(dir, "single.webp");
    const r = await imgedit(["edit", path.join(dir, "in/a.png"), "--ops", '[{"op":"resize","width":32}]', "-o", out]);
    expect(r.code, r.stderr).toBe(0);
    expect(await sharp(out).metadata()).toMatchObject({ format: "webp", width: 32, height: 24 });
    expect(r.stdout).toMatch(/a\.png .* 32x24 +webp .* ok/);
    expect(r.stdout).toContain("1 of 1 written");
  });

  it("a directory of inputs into an output directory, with --format and --quality", async () => {
    const out = path.join(dir, "batch");
    const r = await imgedit([
      "edit",
      path.join(dir, "in"),
      "--ops",
      '[{"op":"rotate","angle":90}]',
      "--format",
      "jpeg",
      "--quality",
      "70",
      "-o",
      out,
      "--concurrency",
      "2",
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect((await readdir(out)).sort()).toEqual(["a.jpg", "b.jpg", "c.jpg"]);
    expect(await sharp(path.join(out, "b.jpg")).metadata()).toMatchObject({ format: "jpeg", width: 40, height: 80 });
    const rows = JSON.parse(r.stdout) as { name: string; status: string; format: string }[];
    expect(rows.map((x) => [x.name, x.status, x.format])).toEqual([
      ["a.png", "ok", "jpeg"],
      ["b.jpg", "ok", "jpeg"],
      ["c.gif", "ok", "jpeg"],
    ]);
    // Not a terminal: one progress line per image on stderr.
    expect(r.stderr.match(/^\[\d\/3\] ok /gm)).toHaveLength(3);
  });

  it("quoted globs expand in the last path segment; animations stay animated", async () => {
    const out = path.join(dir, "glob");
    const r = await imgedit(["edit", path.join(dir, "in/*.gif"), "--ops", '[{"op":"flip"}]', "-o", out]);
    expect(r.code, r.stderr).toBe(0);
    expect(await readdir(out)).toEqual(["c.gif"]);
    expect((await sharp(path.join(out, "c.gif")).metadata()).pages).toBe(3);
  });

  it("inputs with the same name get numbered outputs", async () => {
    const out = path.join(dir, "same-name");
    await mkdir(path.join(dir, "other"), { recursive: true });
    await writeFile(path.join(dir, "other/a.jpg"), await makeImage({ width: 20, height: 20, format: "jpeg" }));
    const r = await imgedit([
      "edit",
      path.join(dir, "in/a.png"),
      path.join(dir, "other/a.jpg"),
      "--format",
      "png",
      "-o",
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect((await readdir(out)).sort()).toEqual(["a-2.png", "a.png"]);
    expect((await sharp(path.join(out, "a-2.png")).metadata()).width).toBe(20);
  });

  it("a failing image gives exit 1 while the others are still written, with the error in the table", async () => {
    const out = path.join(dir, "mixed");
    const r = await imgedit([
      "edit",
      path.join(dir, "in/a.png"),
      path.join(dir, "bad.jpg"),
      path.join(dir, "missing.png"),
      "--ops",
      '[{"op":"scale","factor":0.5}]',
      "-o",
      out,
    ]);
    expect(r.code).toBe(1);
    expect(await readdir(out)).toEqual(["a.png"]);
    expect(r.stdout).toMatch(/bad\.jpg .*FAILED UNSUPPORTED_FORMAT: the input is not an image format imgedit reads/);
    expect(r.stdout).toMatch(/missing\.png .*FAILED NOT_FOUND/);
    expect(r.stdout).toContain("1 of 3 written, 2 failed");
  });

  it("limits come from the environment (MAX_DIMENSIONS)", async () => {
    const r = await imgedit(
      ["edit", path.join(dir, "in/a.png"), "--ops", '[{"op":"resize","width":500}]', "-o", path.join(dir, "big.png")],
      { MAX_DIMENSIONS: "300" },
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      "FAILED DIMENSIONS_TOO_LARGE: operations[0] (resize) would make the image 500x375; the limit is 300 px per side",
    );
  });

  it("refuses to overwrite unless --overwrite", async () => {
    const out = path.join(dir, "twice.png");
    const args = ["edit", path.join(dir, "in/a.png"), "--ops", '[{"op":"flip"}]', "-o", out];
    expect((await imgedit(args)).code).toBe(0);
    const again = await imgedit(args);
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/FAILED EXISTS: .*twice\.png exists \(use --overwrite\)/);
    expect((await imgedit([...args, "--overwrite"])).code).toBe(0);
  });

  it("--command plans from plain English", async () => {
    const out = path.join(dir, "cmd.png");
    const r = await imgedit(["edit", path.join(dir, "in/a.png"), "--command", "resize to 16px wide", "-o", out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^Plan: /m);
    expect((await sharp(out).metadata()).width).toBe(16);
  });

  it("a command that is not understood exits 2 with the unknown words", async () => {
    const r = await imgedit([
      "edit",
      path.join(dir, "in/a.png"),
      "--command",
      "frobnicate the wibble",
      "-o",
      path.join(dir, "never.png"),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not understood: .*frobnicate/);
  });

  it("usage errors exit 2 with a message", async () => {
    const a = path.join(dir, "in/a.png");
    const cases: [string[], RegExp][] = [
      [["edit", a, "-o", path.join(dir, "x.png")], /say what to do/],
      [["edit", a, "--ops", "[{", "-o", path.join(dir, "x.png")], /--ops is not valid JSON/],
      [["edit", a, "--ops", '[{"op":"resize","width":-1}]', "-o", path.join(dir, "x.png")], /operations\[0\]\.width/],
      [["edit", a, "--ops", '[{"op":"flip"}]'], /--output is required/],
      [["edit", a, "--ops", '[{"op":"flip"}]', "-o", path.join(dir, "x.png"), "--format", "bmp"], /--format bmp/],
      [["edit", a, "--bogus"], /unknown option --bogus/],
    ];
    for (const [args, message] of cases) {
      const r = await imgedit(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it.skipIf(!existsSync("/usr/bin/script"))("draws a progress bar when stderr is a terminal", async () => {
    const out = path.join(dir, "tty");
    // util-linux `script` runs the command on a pseudo-terminal.
    const cmd = [TSX, MAIN, "edit", path.join(dir, "in"), "--format", "png", "-o", out].map((a) => `'${a}'`).join(" ");
    const r = await new Promise<Run>((resolve) =>
      execFile("/usr/bin/script", ["-qec", cmd, "/dev/null"], { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? 1 : 0, stdout, stderr }),
      ),
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("\r\x1b[2K");
    expect(r.stdout).toMatch(/█+ 3\/3/);
    expect(r.stdout).not.toMatch(/\[1\/3\] ok/);
    expect(r.stdout).toContain("3 of 3 written");
  });

  it("--help prints the usage", async () => {
    const r = await imgedit(["edit", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Usage: imgedit edit <inputs...>");
    expect(r.stdout).toContain("--concurrency");
  });
});

describe("imgedit info", () => {
  it("prints format, dimensions, frames and more; --json for machines", async () => {
    const r = await imgedit(["info", path.join(dir, "in/c.gif"), path.join(dir, "in/b.jpg"), "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const [gif, jpg] = JSON.parse(r.stdout);
    expect(gif).toMatchObject({ format: "gif", width: 30, height: 30, pages: 3, limits: "ok" });
    expect(gif.delay).toEqual([100, 100, 100]);
    expect(jpg).toMatchObject({
      format: "jpeg",
      width: 80,
      height: 40,
      pages: 1,
      channels: 3,
      space: "srgb",
      icc: false,
    });
    expect(jpg.bytes).toBeGreaterThan(100);
    const text = await imgedit(["info", path.join(dir, "in/b.jpg")]);
    expect(text.stdout).toMatch(/dimensions +80x40/);
    expect(text.stdout).toMatch(/limits +ok/);
  });

  it("exits 1 for a file that is not an image, and --help works", async () => {
    const r = await imgedit(["info", path.join(dir, "in/notes.txt")]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("UNSUPPORTED_FORMAT");
    const help = await imgedit(["info", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: imgedit info");
  });
});
