// `imgedit edit` writes each output whole or not at all: a failed write (here a full disk,
// simulated by failing the write half-way) leaves no partial file, and an input written over in
// place (-o in.jpg --overwrite) is untouched when the write fails.
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { tempName } from "../../src/cli/commands/edit.js";
import { makeImage } from "../helpers/images.js";
import { imgedit, scratch } from "./in-process.js";

const disk = vi.hoisted(() => ({
  full: false,
  /** A write that waits, to be caught in flight: reached() is called, then release awaited. */
  hold: undefined as { reached: () => void; release: Promise<void> } | undefined,
}));

// Every file the CLI opens for writing in the scratch directory gets half its bytes, then ENOSPC
// (or, with disk.hold, waits before writing).
vi.mock("node:fs/promises", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs/promises")>();
  const open = (async (...args: Parameters<typeof real.open>) => {
    const handle = await real.open(...args);
    if ((!disk.full && !disk.hold) || !String(args[1] ?? "r").match(/[wa]/)) return handle;
    return new Proxy(handle, {
      get(target, prop) {
        const hold = disk.hold;
        if (prop === "writeFile" && hold)
          return async (data: Uint8Array) => {
            hold.reached();
            await hold.release;
            return target.writeFile(data);
          };
        if (prop === "writeFile")
          return async (data: Uint8Array) => {
            await target.write(data.subarray(0, Math.floor(data.length / 2)));
            throw Object.assign(new Error("ENOSPC: no space left on device, write"), {
              code: "ENOSPC",
              errno: -28,
              syscall: "write",
            });
          };
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  }) as typeof real.open;
  const writeFile = (async (...args: Parameters<typeof real.writeFile>) => {
    if (disk.full) {
      await real.writeFile(args[0], "half", args[2]);
      throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", syscall: "write" });
    }
    return real.writeFile(...args);
  }) as typeof real.writeFile;
  return { ...real, open, writeFile, default: { ...real, open, writeFile } };
});

let dir: string;
let photo: Buffer;
beforeAll(async () => {
  dir = await scratch();
  photo = await makeImage({ width: 64, height: 32, format: "jpeg" });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  disk.full = false;
});

async function fresh(name: string): Promise<string> {
  const d = path.join(dir, name);
  await mkdir(d, { recursive: true });
  await writeFile(path.join(d, "in.jpg"), photo);
  return d;
}

const FLIP = ["--ops", '[{"op":"rotate","angle":90}]'];

describe("imgedit edit writes atomically", () => {
  it("in place with --overwrite: a full disk leaves the input as it was, and nothing else", async () => {
    const d = await fresh("in-place");
    const input = path.join(d, "in.jpg");
    disk.full = true;
    const r = await imgedit(["edit", input, ...FLIP, "-o", input, "--overwrite"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAILED WRITE_FAILED: cannot write .*in\.jpg: no space left on device/);
    expect(await readFile(input)).toEqual(photo);
    expect(await readdir(d)).toEqual(["in.jpg"]);
  });

  it("in place with --overwrite, when the disk has room: replaced, same permissions, no temporary file", async () => {
    const d = await fresh("in-place-ok");
    const input = path.join(d, "in.jpg");
    const { chmod } = await import("node:fs/promises");
    await chmod(input, 0o640);
    const r = await imgedit(["edit", input, ...FLIP, "-o", input, "--overwrite"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await sharp(input).metadata()).toMatchObject({ width: 32, height: 64, format: "jpeg" });
    expect((await stat(input)).mode & 0o777).toBe(0o640);
    expect(await readdir(d)).toEqual(["in.jpg"]);
  });

  it("a failed write leaves no partial output, so running again succeeds (no EXISTS)", async () => {
    const d = await fresh("new-output");
    const out = path.join(d, "out.png");
    disk.full = true;
    const first = await imgedit(["edit", path.join(d, "in.jpg"), ...FLIP, "-o", out]);
    expect(first.code).toBe(1);
    expect(first.stdout).toContain("WRITE_FAILED");
    expect(await readdir(d)).toEqual(["in.jpg"]);
    disk.full = false;
    const again = await imgedit(["edit", path.join(d, "in.jpg"), ...FLIP, "-o", out]);
    expect(again.code, again.stdout).toBe(0);
    expect((await readdir(d)).sort()).toEqual(["in.jpg", "out.png"]);
  });

  it("a failed write removes the directories the run created for it, deepest first; ones that existed stay", async () => {
    const d = await fresh("made-dirs");
    await mkdir(path.join(d, "old"));
    disk.full = true;
    const file = await imgedit(["edit", path.join(d, "in.jpg"), ...FLIP, "-o", path.join(d, "old/new/deeper/out.png")]);
    expect(file.code).toBe(1);
    expect(file.stdout).toContain("WRITE_FAILED");
    expect(await readdir(path.join(d, "old"))).toEqual([]);
    const directory = await imgedit(["edit", path.join(d, "in.jpg"), ...FLIP, "-o", `${path.join(d, "made/sub")}/`]);
    expect(directory.code).toBe(1);
    // an empty directory that was there before the run is never removed
    const existing = await imgedit(["edit", path.join(d, "in.jpg"), ...FLIP, "-o", `${path.join(d, "old")}/`]);
    expect(existing.code).toBe(1);
    expect((await readdir(d)).sort()).toEqual(["in.jpg", "old"]);
    expect(await readdir(path.join(d, "old"))).toEqual([]);
  });

  it("a directory the run created stays when an output was written into it, even if another image failed", async () => {
    const d = await fresh("made-kept");
    const r = await imgedit([
      "edit",
      path.join(d, "in.jpg"),
      path.join(d, "nope.jpg"),
      ...FLIP,
      "-o",
      path.join(d, "out"),
    ]);
    expect(r.code).toBe(1);
    expect(await readdir(path.join(d, "out"))).toEqual(["in.jpg"]);
  });

  it("without --overwrite an existing output is kept as it was, with no temporary file left", async () => {
    const d = await fresh("exists");
    const out = path.join(d, "out.png");
    await writeFile(out, "precious");
    const r = await imgedit(["edit", path.join(d, "in.jpg"), ...FLIP, "-o", out]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAILED EXISTS: .*out\.png exists \(use --overwrite\)/);
    expect(await readFile(out, "utf8")).toBe("precious");
    expect((await readdir(d)).sort()).toEqual(["in.jpg", "out.png"]);
  });

  it("a rename that fails (the name is a non-empty directory) leaves no temporary file", async () => {
    const d = await fresh("rename");
    await mkdir(path.join(d, "coll/in.jpg"), { recursive: true });
    await writeFile(path.join(d, "coll/in.jpg/keep"), "x");
    const r = await imgedit(["edit", path.join(d, "in.jpg"), ...FLIP, "-o", path.join(d, "coll"), "--overwrite"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAILED WRITE_FAILED: cannot write .*coll\/in\.jpg: /);
    expect(await readdir(path.join(d, "coll"))).toEqual(["in.jpg"]);
    expect(await readdir(path.join(d, "coll/in.jpg"))).toEqual(["keep"]);
  });

  it("an output name of 249 bytes (legal) is written: the temporary file's name stays within 255", async () => {
    const d = await fresh("long-name");
    const name = `${"a".repeat(245)}.png`;
    const r = await imgedit(["edit", path.join(d, "in.jpg"), ...FLIP, "-o", path.join(d, name)]);
    expect(r.code, r.stdout).toBe(0);
    expect((await readdir(d)).sort()).toEqual([name, "in.jpg"].sort());
    // cut at a character, never inside one; two temporary names of one output still differ
    const wide = `${"é".repeat(120)}.webp`;
    const temp = tempName(wide);
    expect(Buffer.byteLength(temp)).toBeLessThanOrEqual(255);
    expect(temp).toMatch(/^\.é+~[0-9a-f]{8}\.\d+-[0-9a-f]{8}\.tmp$/);
    expect(tempName(wide)).not.toBe(temp);
    expect(tempName("x.png")).toMatch(/^\.x\.png\.\d+-[0-9a-f]{8}\.tmp$/);
  });

  it("Ctrl-C (or SIGTERM) during a write removes the temporary file, then raises the signal again", async () => {
    const d = await fresh("signal");
    const out = path.join(d, "out");
    let reached = () => {};
    const atWrite = new Promise<void>((resolve) => {
      reached = resolve;
    });
    let release = () => {};
    disk.hold = { reached, release: new Promise<void>((resolve) => (release = resolve)) };
    const before = new Set(process.listeners("SIGINT"));
    const beforeTerm = new Set(process.listeners("SIGTERM"));
    const run = imgedit(["edit", path.join(d, "in.jpg"), ...FLIP, "-o", `${out}/`]);
    // The signal itself cannot be sent here (it would end the test runner): the handler the run
    // added is called as the signal would call it, with process.kill stubbed.
    const kill = vi.spyOn(process, "kill").mockImplementation(() => true);
    try {
      await atWrite;
      expect((await readdir(out)).filter((n) => n.endsWith(".tmp"))).toHaveLength(1);
      const added = process.listeners("SIGINT").filter((l) => !before.has(l));
      expect(added).toHaveLength(1);
      (added[0] as (signal: NodeJS.Signals) => void)("SIGINT");
      // the temporary file is gone, and with it the directory the run made for it
      expect(existsSync(out)).toBe(false);
      expect(await readdir(d)).toEqual(["in.jpg"]);
      // the default action is back, and the same signal ends the process (exit status 130)
      expect(process.listeners("SIGINT")).not.toContain(added[0]);
      expect(kill).toHaveBeenCalledWith(process.pid, "SIGINT");
    } finally {
      kill.mockRestore();
      disk.hold = undefined;
      release();
      await run;
    }
    // after a run, no handler is left behind
    expect(process.listeners("SIGINT").filter((l) => !before.has(l))).toEqual([]);
    expect(process.listeners("SIGTERM").filter((l) => !beforeTerm.has(l))).toEqual([]);
  });
});
