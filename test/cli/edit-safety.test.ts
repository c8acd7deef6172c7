// `imgedit edit` runs that used to lose a file or do something other than asked without a word:
// a folder converted into itself, -f/-q overriding the plan, number options read as hex or
// exponents, a glob's missing directory ending the run, a glob taking hidden files, `-o .webp`
// making a hidden directory, --overwrite replacing a read-only file.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeImage } from "../helpers/images.js";
import { imgedit, scratch } from "./in-process.js";

let dir: string;
const at = (...p: string[]) => path.join(dir, ...p);
let photo: Buffer;
let swiss: Buffer;

beforeAll(async () => {
  dir = await scratch("imgedit-edit-safety-");
  photo = await makeImage({ width: 40, height: 30, format: "jpeg" });
  swiss = await makeImage({ width: 20, height: 20, color: "#ff0000" });
  await writeFile(at("in.png"), swiss);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fresh folder holding the given files. */
async function folder(name: string, files: Record<string, Buffer>): Promise<string> {
  const d = at(name);
  await mkdir(d);
  for (const [file, data] of Object.entries(files)) await writeFile(path.join(d, file), data);
  return d;
}

describe("edit: a folder converted into itself", () => {
  it("x.jpg and x.png -> png in the same folder with --overwrite: x.png is not written over by x.jpg", async () => {
    const d = await folder("clob", { "x.jpg": photo, "x.png": swiss });
    const r = await imgedit([
      "edit",
      path.join(d, "x.jpg"),
      path.join(d, "x.png"),
      "-f",
      "png",
      "-o",
      `${d}/`,
      "--overwrite",
      "-j",
      "1",
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // x.jpg was not its own output: unchanged; x.png is its own output (re-encoded, same picture)
    expect(await readFile(path.join(d, "x.jpg"))).toEqual(photo);
    expect((await sharp(path.join(d, "x.png")).metadata()).width).toBe(20);
    expect((await readdir(d)).sort()).toEqual(["x-2.png", "x.jpg", "x.png"]);
    expect((await sharp(path.join(d, "x-2.png")).metadata()).width).toBe(40);
  });

  it("the whole folder into itself (default concurrency): every input that was not its own output is unchanged", async () => {
    const files = { "a.jpg": photo, "a.png": swiss, "b.webp": await makeImage({ format: "webp" }), "b.png": swiss };
    const d = await folder("clob-all", files);
    const r = await imgedit(["edit", d, "-f", "png", "-o", `${d}/`, "--overwrite"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (const name of ["a.jpg", "b.webp"])
      expect(await readFile(path.join(d, name))).toEqual(files[name as keyof typeof files]);
    // the PNGs were each their own output: still the 20 px picture, not the other input's
    for (const name of ["a.png", "b.png"]) expect((await sharp(path.join(d, name)).metadata()).width).toBe(20);
    expect((await readdir(d)).sort()).toEqual(["a-2.png", "a.jpg", "a.png", "b-2.png", "b.png", "b.webp"]);
  });

  it("keeping each input's format: names stay unique by stem, and x.png is not written over", async () => {
    const d = await folder("same-format", { "x.jpg": photo, "x.png": swiss });
    const r = await imgedit(["edit", d, "--ops", '[{"op":"flip"}]', "-o", `${d}/`, "--overwrite"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect((await readdir(d)).sort()).toEqual(["x-2.png", "x.jpg", "x.png"]);
    expect(await readFile(path.join(d, "x.png"))).toEqual(swiss);
  });
});

describe("edit: -f and -q may not contradict the plan", () => {
  it("-f disagreeing with the plan's or the command's format step is refused, naming both", async () => {
    const ops = await imgedit([
      "edit",
      at("in.png"),
      "--ops",
      '[{"op":"format","format":"png"}]',
      "-f",
      "webp",
      "-o",
      at("e3.webp"),
    ]);
    expect(ops.code).toBe(2);
    expect(ops.stderr).toContain("--format webp disagrees with the plan, which converts to png");
    const cmd = await imgedit(["edit", at("in.png"), "-c", "convert to png", "-f", "jpeg", "-o", at("d5/")]);
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toContain("--format jpeg disagrees with the command, which converts to png");
    expect(await readdir(dir)).not.toContain("e3.webp");
    expect(await readdir(dir)).not.toContain("d5");
    // the same format twice is no contradiction
    const same = await imgedit([
      "edit",
      at("in.png"),
      "--ops",
      '[{"op":"format","format":"webp"}]',
      "-f",
      "webp",
      "-o",
      at("same.webp"),
    ]);
    expect(same.code, same.stderr).toBe(0);
  });

  it("-q disagreeing with a quality the plan states is refused, naming both; the same quality is fine", async () => {
    const plan = '[{"op":"format","format":"webp","quality":10}]';
    const r = await imgedit(["edit", at("in.png"), "--ops", plan, "-q", "95", "-o", at("q.webp")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--quality 95 disagrees with the plan, which sets quality 10");
    expect(await readdir(dir)).not.toContain("q.webp");
    const same = await imgedit(["edit", at("in.png"), "--ops", plan, "-q", "10", "-o", at("q10.webp")]);
    expect(same.code, same.stderr).toBe(0);
  });
});

describe("edit: number options", () => {
  it("-q and -j take plain decimal numbers only", async () => {
    for (const [flag, value] of [
      ["-q", "0x50"],
      ["-q", "8e1"],
      ["-q", " 80 "],
      ["-j", "1e1"],
      ["-q", "80.0"],
    ]) {
      const r = await imgedit(["edit", at("in.png"), "-f", "webp", flag, value, "-o", at("n/")]);
      expect(r.code, `${flag} ${value}`).toBe(2);
      expect(r.stderr).toContain(`${flag === "-q" ? "--quality" : "--concurrency"} ${value}: a whole number`);
    }
    expect(await readdir(dir)).not.toContain("n");
  });

  it("a value starting with '-' gets one line, not parseArgs' three", async () => {
    const r = await imgedit(["edit", at("in.png"), "-f", "webp", "-q", "-0", "-o", at("n/")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'imgedit edit: -q needs a value; one that starts with "-" is written --quality=-VALUE\nRun `imgedit edit --help` for usage.\n',
    );
  });

  it("a file named -file.png read as -f ile.png: the message says to put it after --", async () => {
    const r = await imgedit(["edit", "-o", at("dd/"), "-f", "webp", "-file.png"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('-f/--format is given twice ("webp" and "ile.png")');
    expect(r.stderr).toContain('a file whose name starts with "-" goes after "--": -- -file.png');
  });
});

describe("edit: globs", () => {
  it("a glob whose directory does not exist is a failed row; the other inputs are done (exit 1)", async () => {
    const out = at("go6");
    const r = await imgedit(["edit", at("nod/*.png"), at("in.png"), "-f", "webp", "-o", `${out}/`]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/FAILED NOT_FOUND: .*nod\/\*\.png: no such directory .*nod/);
    expect(r.stdout).toContain("1 of 2 written, 1 failed");
    expect(await readdir(out)).toEqual(["in.webp"]);
    // alone, it is bad usage that still names the missing directory
    const alone = await imgedit(["edit", at("nod/*.png"), "-f", "webp", "-o", `${out}/`]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain(`(no such directory: ${at("nod")})`);
  });

  it("* and ? do not match a leading dot, as in a shell; .* does", async () => {
    const d = await folder("g", { ".hidden.png": swiss, "seen.png": swiss });
    const r = await imgedit(["edit", path.join(d, "*"), path.join(d, "?idden.png"), "-f", "webp", "-o", at("g-out/")]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`no file matches ${path.join(d, "?idden.png")}`);
    expect(await readdir(at("g-out"))).toEqual(["seen.webp"]);
    const dot = await imgedit(["edit", path.join(d, ".*"), "-f", "webp", "-o", at("g-dot/")]);
    expect(dot.code, dot.stdout).toBe(0);
    expect(await readdir(at("g-dot"))).toEqual([".hidden.webp"]);
  });
});

describe("edit: a command not understood", () => {
  it("the words not understood are echoed without terminal escapes", async () => {
    const r = await imgedit(["edit", at("in.png"), "-c", "rotate 90 \x1b[31mfrob", "-o", at("esc/")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("not understood:");
    expect(r.stderr).not.toContain("\x1b");
  });
});

describe("edit: -o with only an extension (-o .webp)", () => {
  it("is refused in one line saying what to write instead; nothing is created", async () => {
    for (const [output, format] of [
      [at(".webp"), "webp"],
      [at(".JPG"), "jpeg"],
      [at("new", ".tiff"), "tiff"],
    ]) {
      for (const plan of [[], ["--ops", '[{"op":"flip"}]']]) {
        const r = await imgedit(["edit", at("in.png"), ...plan, "-o", output]);
        expect(r.code, output).toBe(2);
        expect(r.stderr).toBe(
          `imgedit edit: --output ${output} names a directory "${path.basename(output)}", not a format: to convert to ${format}, write -f ${format} -o <dir>/; if a directory of that name is meant, write -o ${output}/\n`,
        );
        expect(r.stdout).toBe("");
      }
    }
    for (const name of [".webp", ".JPG", "new"]) expect(existsSync(at(name)), name).toBe(false);
  });

  it("a hidden file with an extension (.cover.jpg) is still a file", async () => {
    for (const output of [at(".cover.jpg"), at("hid", ".thumb.png")]) {
      const r = await imgedit(["edit", at("in.png"), "--ops", '[{"op":"flip"}]', "-o", output]);
      expect(r.code, r.stderr).toBe(0);
      expect((await stat(output)).isFile()).toBe(true);
      expect((await sharp(output).metadata()).format).toBe(output.endsWith(".jpg") ? "jpeg" : "png");
    }
  });

  it("a relative .webp is refused too; ./.webp/ (or an existing directory .webp) is still a directory", async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const r = await imgedit(["edit", "in.png", "--ops", '[{"op":"flip"}]', "-o", ".webp"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(
        "to convert to webp, write -f webp -o <dir>/; if a directory of that name is meant, write -o ./.webp/\n",
      );
      expect(existsSync(at(".webp"))).toBe(false);
      const slash = await imgedit(["edit", "in.png", "--ops", '[{"op":"flip"}]', "-o", "./.webp/"]);
      expect(slash.code, slash.stderr).toBe(0);
      expect(await readdir(at(".webp"))).toEqual(["in.png"]);
      const again = await imgedit(["edit", "in.png", "-f", "webp", "-o", ".webp"]);
      expect(again.code, again.stderr).toBe(0);
      expect((await readdir(at(".webp"))).sort()).toEqual(["in.png", "in.webp"]);
    } finally {
      process.chdir(cwd);
    }
  });
});

/** The CLI run as `nobody` (uid 65534), as root may; undefined where that is not possible. */
function asNobody(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [fileURLToPath(new URL("../../bin/imgedit.js", import.meta.url)), ...args], {
    cwd,
    uid: 65534,
    gid: 65534,
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: cwd },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Root can run the CLI as nobody only where the checkout is readable by everyone. */
const nobodyRuns = process.getuid?.() === 0 && asNobody(["--help"], os.tmpdir()).code === 0;

describe("edit: --overwrite and a read-only output", () => {
  it.skipIf(!nobodyRuns)(
    "another user's file this user cannot write is not replaced, and one they may write (group bit) is",
    async () => {
      const shared = await folder("nobody", {
        "in.png": swiss,
        "theirs.png": Buffer.from("root's"),
        "ours.png": swiss,
      });
      await chmod(dir, 0o755);
      await chmod(shared, 0o777);
      await chmod(path.join(shared, "in.png"), 0o644);
      await chmod(path.join(shared, "theirs.png"), 0o644); // root's, not writable by nobody
      await chmod(path.join(shared, "ours.png"), 0o446); // no owner write bit, but others may write
      const flip = ["edit", "in.png", "--ops", '[{"op":"flip"}]', "--overwrite", "-o"];
      const refused = asNobody([...flip, "theirs.png"], shared);
      expect(refused.code, refused.stderr).toBe(1);
      expect(refused.stdout).toContain(
        "theirs.png is not writable by you (it belongs to another user), so it was not replaced",
      );
      expect(await readFile(path.join(shared, "theirs.png"), "utf8")).toBe("root's");
      expect((await stat(path.join(shared, "theirs.png"))).uid).toBe(0);
      const replaced = asNobody([...flip, "ours.png"], shared);
      expect(replaced.code, replaced.stderr).toBe(0);
      expect((await sharp(path.join(shared, "ours.png")).metadata()).width).toBe(20);
      // without --overwrite, the refusal says at once that --overwrite would not help
      const exists = asNobody(["edit", "in.png", "--ops", '[{"op":"flip"}]', "-o", "theirs.png"], shared);
      expect(exists.stdout).toContain("theirs.png exists and is not writable by you (it belongs to another user)");
    },
  );

  it("a read-only output is left as it was (as cp does), naming it; the other images are written", async () => {
    const inputs = await folder("ro-in", { "a.png": swiss, "b.png": swiss });
    const out = await folder("ro-out", { "a.png": Buffer.from("precious"), "b.png": Buffer.from("old") });
    const locked = path.join(out, "a.png");
    await chmod(locked, 0o444);
    const refused = `${locked} is read-only, so it was not replaced (chmod u+w ${locked} makes it writable)`;
    const r = await imgedit([
      "edit",
      path.join(inputs, "a.png"),
      path.join(inputs, "b.png"),
      "--ops",
      '[{"op":"flip"}]',
      "-o",
      `${out}/`,
      "--overwrite",
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toContain(`FAILED PERMISSION_DENIED: ${refused}`);
    expect(r.stderr).toContain(refused);
    expect(r.stdout).toContain("1 of 2 written, 1 failed");
    expect(await readFile(locked, "utf8")).toBe("precious");
    expect((await stat(locked)).mode & 0o777).toBe(0o444);
    expect((await sharp(path.join(out, "b.png")).metadata()).width).toBe(20);
    expect((await readdir(out)).sort()).toEqual(["a.png", "b.png"]);
    // one output file: the same
    const one = await imgedit([
      "edit",
      path.join(inputs, "a.png"),
      "--ops",
      '[{"op":"flip"}]',
      "-o",
      locked,
      "--overwrite",
    ]);
    expect(one.code).toBe(1);
    expect(one.stdout).toContain(refused);
    expect(await readFile(locked, "utf8")).toBe("precious");
    expect((await stat(locked)).mode & 0o777).toBe(0o444);
  });
});
