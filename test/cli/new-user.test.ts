// What a new user runs into with only the README and `--help`: options given twice (the first was
// dropped without a word), a mistyped option, "-h" after "--", outputs that could not be found
// on a terminal, limits without units, a token minted against the wrong DATA_DIR, `imgedit cost`
// run outside the repository, and mistakes that were only reported after every image's work.
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_BENCH_FILE, loadMeasured } from "../../src/cli/commands/cost.js";
import { makeImage } from "../helpers/images.js";
import { imgedit, scratch } from "./in-process.js";

let dir: string;
const at = (...p: string[]) => path.join(dir, ...p);

beforeAll(async () => {
  dir = await scratch("imgedit-new-user-");
  await mkdir(at("a"));
  await mkdir(at("b"));
  await writeFile(at("photo.jpg"), await makeImage({ width: 200, height: 150, gradient: true, format: "jpeg" }));
  await writeFile(at("a/x.jpg"), await makeImage({ width: 10, height: 10, format: "jpeg" }));
  await writeFile(at("b/x.png"), await makeImage({ width: 20, height: 20 }));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("an option given twice is refused, not half-ignored", () => {
  it("edit -c twice: exit 2 naming both values, nothing written", async () => {
    const out = at("twice.jpg");
    const r = await imgedit(["edit", at("photo.jpg"), "-c", "grayscale", "-c", "rotate 90", "-o", out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('-c/--command is given twice ("grayscale" and "rotate 90"): give it once');
    expect(existsSync(out)).toBe(false);
  });

  it("edit -f, -o and --ops twice, in any spelling", async () => {
    const cases: [string[], string][] = [
      [["-f", "png", "--format", "webp", "-o", at("t1/")], "-f/--format is given twice"],
      [["-f", "png", "-o", at("t2/"), "--output", at("t3/")], "-o/--output is given twice"],
      [["--ops", '[{"op":"flip"}]', "--ops=[]", "-o", at("t4/")], "--ops is given twice"],
    ];
    for (const [args, message] of cases) {
      const r = await imgedit(["edit", at("photo.jpg"), ...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toContain(message);
    }
    expect(await readdir(dir)).not.toContain("t1");
  });

  it("a repeated switch (--json, --overwrite) is harmless and still works", async () => {
    const r = await imgedit(["edit", at("photo.jpg"), "-f", "png", "-o", at("sw/"), "--json", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)[0].status).toBe("ok");
  });

  it("token --user, serve --port and cost --memory-mb twice", async () => {
    const env = { DATA_DIR: at("tok-data"), JWT_SECRET: "s".repeat(40) };
    const token = await imgedit(["token", "--user", "a", "--user", "b"], env);
    expect(token.code).toBe(2);
    expect(token.stdout).toBe("");
    expect(token.stderr).toContain('-u/--user is given twice ("a" and "b")');
    const serve = await imgedit(["serve", "--port", "0", "-p", "0"], env);
    expect(serve.code).toBe(2);
    expect(serve.stderr).toContain("-p/--port is given twice");
    const cost = await imgedit(["cost", "--memory-mb", "1024", "--memory-mb", "512"]);
    expect(cost.code).toBe(2);
    expect(cost.stderr).toBe("imgedit cost: --memory-mb is given twice: give it once\n");
  });
});

describe("options and --", () => {
  it("a mistyped option names the one meant", async () => {
    const r = await imgedit(["edit", at("photo.jpg"), "-f", "png", "--ouput", at("o/")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown option --ouput (did you mean --output?)");
    const info = await imgedit(["info", "--jsno", at("photo.jpg")]);
    expect(info.code).toBe(2);
    expect(info.stderr).toBe("imgedit info: unknown option --jsno (did you mean --json?)\n");
  });

  it("imgedit help <command> shows that command's help", async () => {
    const r = await imgedit(["help", "edit"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: imgedit edit /);
  });

  it('"-h" after "--" is a file name, not a request for help', async () => {
    await writeFile(at("-h"), await makeImage({ width: 12, height: 8 }));
    const r = await imgedit(["info", "--json", "--", at("-h"), "-h"]);
    expect(r.stdout).not.toContain("Usage:");
    const rows = JSON.parse(r.stdout);
    expect(rows[0]).toMatchObject({ width: 12, height: 8, limits: "ok" });
    expect(rows[1].error.code).toBe("NOT_FOUND");
    expect(r.code).toBe(1);
    // before "--" it still is help
    const help = await imgedit(["info", "-h", "--", "x"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: imgedit info");
  });
});

describe("edit: where the results went", () => {
  it("the summary table names each output file, also a renamed one", async () => {
    const out = at("where");
    const r = await imgedit(["edit", at("a/x.jpg"), at("b/x.png"), at("nope.jpg"), "-f", "webp", "-o", out]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^name\s+output\s+in\s+out\s+dims\s+format\s+ms\s+status$/);
    const row = (name: string) => lines.find((l) => l.startsWith(`${name} `)) ?? "";
    expect(row("x.jpg")).toContain(path.join(out, "x.webp"));
    expect(row("x.png")).toContain(path.join(out, "x-2.webp"));
    expect(row("nope.jpg")).toMatch(/^nope\.jpg\s+-\s/);
    expect((await sharp(path.join(out, "x-2.webp")).metadata()).width).toBe(20);
  });

  it("a glob or directory that gives no image is a failed row, not silently nothing", async () => {
    await mkdir(at("x"));
    const out = at("empty-out");
    const r = await imgedit(["edit", at("x"), path.join(dir, "a", "*.JPG"), at("a/x.jpg"), "-f", "png", "-o", out]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`no images in ${at("x")}`);
    expect(r.stdout).toContain(`no file matches ${path.join(dir, "a", "*.JPG")}`);
    expect(r.stdout).toContain("1 of 3 written, 2 failed");
    // the empty directory "x" took no name from the image x.jpg
    expect(await readdir(out)).toEqual(["x.png"]);
    // beside one image, an output file is still that image's file
    const one = await imgedit(["edit", at("x"), at("a/x.jpg"), "-f", "png", "-o", at("one.png")]);
    expect(one.code).toBe(1);
    expect((await sharp(at("one.png")).metadata()).width).toBe(10);
    // nothing but empty inputs: bad usage, as before
    const none = await imgedit(["edit", at("x"), "-f", "png", "-o", at("none/")]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(`no images found in ${at("x")}`);
  });

  it("an animation's frames are counted in words", async () => {
    await writeFile(at("anim.gif"), await makeImage({ width: 8, height: 8, format: "gif", pages: 3 }));
    const r = await imgedit(["edit", at("anim.gif"), "--ops", '[{"op":"flip"}]', "-o", at("anim-out.gif")]);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/ 8x8, 3 frames /);
  });
});

describe("edit: mistakes caught before any image is edited", () => {
  it("--output under a file (photo.jpg/ or photo.jpg/sub/x.png) says which part is a file", async () => {
    for (const output of [`${at("photo.jpg")}/`, at("photo.jpg", "sub", "x.png")]) {
      const r = await imgedit(["edit", at("a/x.jpg"), "-f", "png", "-o", output]);
      expect(r.code, output).toBe(2);
      expect(r.stderr).toContain(`--output ${output}: ${at("photo.jpg")} is a file, not a directory`);
      expect(r.stdout).toBe("");
    }
  });

  it("--quality with a PNG or GIF output is refused (it would be ignored); with JPEG it applies", async () => {
    for (const args of [
      ["-q", "50", "-f", "png", "-o", at("q/")],
      ["-q", "50", "-f", "png", "-o", at("q.png")],
      ["-q", "50", "--ops", '[{"op":"format","format":"gif"}]', "-o", at("q/")],
    ]) {
      const r = await imgedit(["edit", at("photo.jpg"), ...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(/--quality does nothing for (png|gif) output/);
    }
    expect(await readdir(dir)).not.toContain("q");
    const low = await imgedit(["edit", at("photo.jpg"), "-q", "5", "-f", "jpeg", "-o", at("q5.jpg")]);
    const high = await imgedit(["edit", at("photo.jpg"), "-q", "100", "-f", "jpeg", "-o", at("q100.jpg")]);
    expect([low.code, high.code]).toEqual([0, 0]);
    expect((await readFile(at("q5.jpg"))).length).toBeLessThan((await readFile(at("q100.jpg"))).length);
  });

  it('"-" is not standard input or output: no directory called "-", no table in a redirected file', async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const out = await imgedit(["edit", "photo.jpg", "-f", "png", "-o", "-"]);
      expect(out.code).toBe(2);
      expect(out.stdout).toBe("");
      expect(out.stderr).toContain("--output -: results are written to files, not to standard output");
      const input = await imgedit(["edit", "-", "-f", "png", "-o", "from-stdin/"]);
      expect(input.code).toBe(2);
      expect(input.stderr).toContain("-: images are read from files, not from standard input");
      expect(existsSync(at("-"))).toBe(false);
      expect(existsSync(at("from-stdin"))).toBe(false);
      // a directory that is really called "-" is still a directory
      await mkdir(at("-"));
      const dash = await imgedit(["edit", "photo.jpg", "-f", "png", "-o", "-"]);
      expect(dash.code, dash.stderr).toBe(0);
      expect(await readdir(at("-"))).toEqual(["photo.png"]);
    } finally {
      process.chdir(cwd);
    }
  });

  it("a wildcard in a directory part is named, not reported as a missing file", async () => {
    const r = await imgedit(["edit", path.join(dir, "*", "x.jpg"), "-f", "png", "-o", at("w/")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("wildcards work only in the last part of a path");
  });

  it("a watermark given as a plain path is answered with its file: URL", async () => {
    const r = await imgedit([
      "edit",
      at("photo.jpg"),
      "--ops",
      '[{"op":"watermark","url":"logo.png"}]',
      "-o",
      at("w.png"),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`(a local file is a file: URL: file://${path.resolve("logo.png")})`);
  });

  it("no edit at all: the message shows the --format that would do it", async () => {
    const r = await imgedit(["edit", at("photo.jpg"), "-q", "60", "-o", at("n.jpg")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("or --format (e.g. --format jpeg --quality 60)");
  });
});

describe("a plan over MAX_OPERATIONS from plain English", () => {
  const forty = Array.from({ length: 40 }, () => "grayscale").join(" and ");

  it("edit: exit 2 with the limit, not an internal error with a stack trace", async () => {
    const r = await imgedit(["edit", at("photo.jpg"), "-c", forty, "-o", at("forty.png")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("imgedit edit: --command: the plan has 40 operations; the limit is 30\n");
    expect(r.stderr).not.toContain("internal error");
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it("parse: refused as a run would be (exit 2, JSON with the code), allowed under a higher limit", async () => {
    const text = await imgedit(["parse", forty]);
    expect(text.code).toBe(2);
    expect(text.stdout).toBe("");
    expect(text.stderr).toBe("imgedit parse: the plan has 40 operations; the limit is 30\n");
    const json = await imgedit(["parse", forty, "--json", "--grammar-only"]);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { code: "TOO_MANY_OPERATIONS" } });
    const allowed = await imgedit(["parse", forty, "--json"], { MAX_OPERATIONS: "40" });
    expect(allowed.code).toBe(0);
    expect(JSON.parse(allowed.stdout).plan).toHaveLength(40);
  });
});

describe("sizes have units", () => {
  it("info's limits line and edit's row say how big, in units, and which setting", async () => {
    const bytes = (await readFile(at("photo.jpg"))).length;
    const info = await imgedit(["info", at("photo.jpg")], { MAX_IMAGE_SIZE: "100" });
    expect(info.stdout).toContain(
      `limits       IMAGE_TOO_LARGE: image is ${(bytes / 1024).toFixed(1)} KB (${bytes.toLocaleString("en-US")} bytes); the limit is 100 B (MAX_IMAGE_SIZE)`,
    );
    const edit = await imgedit(["edit", at("photo.jpg"), "-f", "png", "-o", at("lim/"), "--json"], {
      MAX_IMAGE_SIZE: "100",
    });
    expect(edit.code).toBe(1);
    expect(JSON.parse(edit.stdout)[0].error.message).toBe(
      `image is ${(bytes / 1024).toFixed(1)} KB (${bytes.toLocaleString("en-US")} bytes); the limit is 100 B (MAX_IMAGE_SIZE)`,
    );
  });
});

describe("serve and token", () => {
  it("serve --port 99999 is named as --port, not as PORT", async () => {
    const r = await imgedit(["serve", "--port", "99999"], { DATA_DIR: at("serve-data") });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("imgedit serve: --port 99999: give a port number 0-65535\n");
  });

  it("token in a DATA_DIR no server has used: prints the token and says a new secret was made", async () => {
    const data = at("fresh", "data");
    const first = await imgedit(["token", "--user", "alice"], { DATA_DIR: data });
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(first.stderr).toContain(`a new one was made (${path.resolve(data, "jwt-secret")})`);
    expect(first.stderr).toContain("refuses this token (401)");
    // the secret is kept: the next token is signed with it, without the note
    const again = await imgedit(["token", "--user", "alice"], { DATA_DIR: data });
    expect(again.code).toBe(0);
    expect(again.stderr).toBe("");
    // JWT_SECRET set: no file is involved, no note
    const secret = await imgedit(["token", "--user", "alice"], { DATA_DIR: at("other"), JWT_SECRET: "k".repeat(40) });
    expect(secret.stderr).toBe("");
  });
});

describe("cost outside the repository", () => {
  it("the default benchmark file is the repository's, wherever the command runs", async () => {
    const root = path.resolve(import.meta.dirname, "../..");
    expect(DEFAULT_BENCH_FILE).toBe(path.join(root, "bench", "results", "latest.json"));
    const elsewhere = await scratch("imgedit-cost-cwd-");
    const bench = {
      machine: { date: "2026-11-25T01:00:00Z", cpuModel: "Xeon", cores: 2 },
      pipeline: [{ id: "jpeg", tools: [{ tool: "imgedit", status: "ok", medianMs: 100, outBytes: 100_000 }] }],
    };
    const file = path.join(dir, "repo-latest.json");
    await writeFile(file, JSON.stringify(bench));
    // run from another directory: the default file is found, and shown by its full path
    const found = loadMeasured({ requireBench: false }, elsewhere, file);
    expect(found.measured?.source).toBe(file);
    // --from-bench FILE stays relative to where the user is
    await writeFile(path.join(elsewhere, "mine.json"), JSON.stringify(bench));
    const mine = loadMeasured({ requireBench: true, benchFile: "mine.json" }, elsewhere, file);
    expect(mine.measured?.source).toBe("mine.json");
    expect(() => loadMeasured({ requireBench: true, benchFile: "none.json" }, elsewhere)).toThrow(
      path.join(elsewhere, "none.json"),
    );
    await rm(elsewhere, { recursive: true, force: true });
    expect(os.tmpdir()).not.toBe(root);
  });
});
