// What the CLI says when something is wrong: one line naming the real problem and a non-zero exit,
// never a Node stack trace; and runs that used to do the wrong thing quietly (clashing output
// names, a JPEG in out.bmp, a directory called two.png, a full benchmark for a typo).
import { symlink as makeSymlink, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { decodeJwt } from "jose";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CASES as BENCH_CASES } from "../../bench/baselines.js";
import { SECTIONS as BENCH_SECTIONS, parseOptions } from "../../bench/options.js";
import { benchArgs, CASES, SECTIONS } from "../../src/cli/commands/bench.js";
import { uniqueStems } from "../../src/cli/commands/edit.js";
import { loadConfig } from "../../src/config.js";
import { createAuth } from "../../src/http/auth.js";
import { makeImage } from "../helpers/images.js";
import { imgedit, isRoot, scratch } from "./in-process.js";

// Nothing here may start the benchmark harness (a full run takes many minutes and rewrites
// bench/results/latest.json): `imgedit bench` must refuse its flags before spawning anything.
vi.mock("node:child_process", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:child_process")>();
  const spawn = () => {
    throw new Error("test: the benchmark harness must not be started");
  };
  return { ...real, spawn, default: { ...real, spawn } };
});

let dir: string;
const at = (...p: string[]) => path.join(dir, ...p);

beforeAll(async () => {
  dir = await scratch();
  await mkdir(at("a"));
  await mkdir(at("b"));
  await writeFile(at("a/x.jpg"), await makeImage({ width: 10, height: 10, format: "jpeg" }));
  await writeFile(at("b/x.png"), await makeImage({ width: 20, height: 20 }));
  await writeFile(at("a/x-2.png"), await makeImage({ width: 30, height: 30 }));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** No stack trace: no "    at fn (file:line)" lines anywhere. */
function noStack(text: string): void {
  expect(text).not.toMatch(/^\s+at .*\(?.*:\d+:\d+\)?$/m);
}

describe("edit: output names", () => {
  it("numbered names never land on another input's own name (x, x-2 and x-2)", async () => {
    const out = at("coll");
    const r = await imgedit(
      ["edit", at("a/x.jpg"), at("b/x.png"), at("a/x-2.png"), "-f", "webp", "-o", `${out}/`, "--overwrite"],
      {},
    );
    expect(r.code, r.stdout).toBe(0);
    expect((await readdir(out)).sort()).toEqual(["x-2.webp", "x-3.webp", "x.webp"]);
    // each input kept its own name where it could: x-2 is the 30 px one
    expect((await sharp(at("coll/x-2.webp")).metadata()).width).toBe(30);
    expect((await sharp(at("coll/x-3.webp")).metadata()).width).toBe(20);
  });

  it("uniqueStems reserves every name first and ignores case", () => {
    expect(uniqueStems([{ path: "a/x.jpg" }, { path: "b/x.png" }, { path: "c/x-2.png" }])).toEqual(["x", "x-3", "x-2"]);
    expect(uniqueStems([{ path: "a/X.jpg" }, { path: "b/x.png" }, { path: "c/x-2.png" }, { path: "d/x.gif" }])).toEqual(
      ["X", "x-3", "x-2", "x-4"],
    );
  });
});

describe("edit: the output path", () => {
  it("several inputs and an output that looks like a file: refused, nothing created", async () => {
    const r = await imgedit(["edit", at("a/x.jpg"), at("b/x.png"), "-f", "png", "-o", at("two.png")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--output .*two\.png looks like a file name, but 2 inputs need a directory/);
    expect(await readdir(dir)).not.toContain("two.png");
    // a trailing slash says "directory"
    const ok = await imgedit(["edit", at("a/x.jpg"), at("b/x.png"), "-f", "png", "-o", `${at("dir.png")}/`]);
    expect(ok.code, ok.stdout).toBe(0);
    expect((await readdir(at("dir.png"))).sort()).toEqual(["x-2.png", "x.png"]);
  });

  it("an output extension imgedit does not write is refused, not filled with JPEG bytes", async () => {
    const r = await imgedit(["edit", at("a/x.jpg"), "--ops", '[{"op":"flip"}]', "-o", at("out.bmp")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--output .*out\.bmp: \.bmp is not a format imgedit writes; end the name in \.jpg, \.png/);
    expect(await readdir(dir)).not.toContain("out.bmp");
  });

  it("--format or the plan's format must agree with the output file's extension", async () => {
    const a = await imgedit(["edit", at("a/x.jpg"), "-f", "png", "-o", at("out.jpg")]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/out\.jpg names a jpeg file, but --format is png: name it out\.png/);
    const b = await imgedit(["edit", at("a/x.jpg"), "--ops", '[{"op":"format","format":"webp"}]', "-o", at("p.jpg")]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/p\.jpg names a jpeg file, but the plan converts to webp: name it p\.webp/);
    const c = await imgedit(["edit", at("a/x.jpg"), "-f", "jpg", "-o", at("same.jpeg")]);
    expect(c.code, c.stderr).toBe(0);
    expect((await sharp(at("same.jpeg")).metadata()).format).toBe("jpeg");
  });
});

describe("edit and info: inputs that cannot be read", () => {
  it("a directory with a broken symlink: the good images are done, the broken one fails on its own row", async () => {
    await mkdir(at("links"));
    await writeFile(at("links/good.png"), await makeImage({ width: 8, height: 8 }));
    await makeSymlink(at("links/gone.jpg"), at("links/broken.jpg"));
    const r = await imgedit(["edit", at("links"), "-f", "png", "-o", at("links-out")]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/broken\.jpg .*FAILED NOT_FOUND: .*broken\.jpg is a broken symbolic link/);
    expect(r.stdout).toContain("1 of 2 written, 1 failed");
    expect(await readdir(at("links-out"))).toEqual(["good.png"]);
    noStack(r.stdout + r.stderr);
  });

  it("info on a directory says it is a directory", async () => {
    const r = await imgedit(["info", `${at("a")}/`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/NOT_A_FILE: .*a\/ is a directory/);
    expect(r.stdout).not.toContain("no such file");
  });

  it.skipIf(isRoot)("a file without read permission: PERMISSION_DENIED for info and edit", async () => {
    const { chmod } = await import("node:fs/promises");
    await writeFile(at("locked.jpg"), await makeImage({ format: "jpeg" }));
    await chmod(at("locked.jpg"), 0o000);
    const info = await imgedit(["info", at("locked.jpg")]);
    expect(info.code).toBe(1);
    expect(info.stdout).toMatch(/PERMISSION_DENIED: permission denied: .*locked\.jpg/);
    const edit = await imgedit(["edit", at("locked.jpg"), at("a/x.jpg"), "-f", "png", "-o", at("locked-out")]);
    expect(edit.code).toBe(1);
    expect(edit.stdout).toMatch(/locked\.jpg .*FAILED PERMISSION_DENIED: permission denied/);
    expect(await readdir(at("locked-out"))).toEqual(["x.png"]);
  });

  it.skipIf(isRoot)("a directory without read permission, given as is or in a glob: says so", async () => {
    const { chmod } = await import("node:fs/promises");
    await mkdir(at("closed"));
    await writeFile(at("closed/in.jpg"), await makeImage({ format: "jpeg" }));
    await chmod(at("closed"), 0o000);
    try {
      const whole = await imgedit(["edit", at("closed"), at("a/x.jpg"), "-f", "png", "-o", at("closed-out")]);
      expect(whole.code).toBe(1);
      expect(whole.stdout).toMatch(/FAILED PERMISSION_DENIED: cannot list .*closed: permission denied/);
      expect(await readdir(at("closed-out"))).toEqual(["x.png"]);
      const glob = await imgedit(["edit", at("closed/*.jpg"), "-f", "png", "-o", at("closed-out2")]);
      expect(glob.code).toBe(1);
      expect(glob.stdout).toMatch(/cannot list .*closed: permission denied/);
      expect(glob.stdout + glob.stderr).not.toContain("no such directory");
      noStack(whole.stdout + whole.stderr + glob.stdout + glob.stderr);
    } finally {
      await chmod(at("closed"), 0o755);
    }
  });
});

describe("serve: start-up problems in one line", () => {
  it("--port abc and PORT=abc", async () => {
    const flag = await imgedit(["serve", "--port", "abc"], { DATA_DIR: at("data") });
    expect(flag.code).toBe(2);
    expect(flag.stderr).toBe("imgedit serve: --port abc: give a port number 0-65535\n");
    const env = await imgedit(["serve"], { PORT: "abc", DATA_DIR: at("data") });
    expect(env.code).toBe(2);
    expect(env.stderr).toBe("imgedit serve: invalid configuration: PORT: must be a whole number from 0 to 65535\n");
  });

  it("a port in use", async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const r = await imgedit(["serve", "--port", String(port)], { DATA_DIR: at("data-busy") });
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        `imgedit serve: port ${port} is in use on 127.0.0.1 (another imgedit serve?); choose another with --port or PORT\n`,
      );
    } finally {
      busy.close();
    }
  });

  it("an address this machine does not have", async () => {
    // 192.0.2.1 is TEST-NET-1; skip where the kernel lets any address be bound.
    const probe = net.createServer();
    const code = await new Promise<string | undefined>((resolve) => {
      probe.once("error", (e: NodeJS.ErrnoException) => resolve(e.code));
      probe.listen(0, "192.0.2.1", () => probe.close(() => resolve(undefined)));
    });
    if (code !== "EADDRNOTAVAIL") return;
    const r = await imgedit(["serve", "--host", "192.0.2.1", "--port", "0"], { DATA_DIR: at("data-addr") });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^imgedit serve: this machine has no address 192\.0\.2\.1 \(--host or HOST\)/);
  });

  it("a DATA_DIR that cannot be created", async () => {
    await writeFile(at("plain-file"), "x");
    const r = await imgedit(["serve", "--port", "0"], { DATA_DIR: at("plain-file/data") });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^imgedit serve: cannot use DATA_DIR .*plain-file\/data: a part of the path is not a directory/,
    );
    expect(r.stderr.split("\n")).toHaveLength(2);
  });

  it.skipIf(isRoot)("a DATA_DIR without write permission", async () => {
    const { chmod } = await import("node:fs/promises");
    await mkdir(at("ro"));
    await chmod(at("ro"), 0o555);
    const r = await imgedit(["serve", "--port", "0"], { DATA_DIR: at("ro/data") });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^imgedit serve: cannot use DATA_DIR .*ro\/data: permission denied \(mkdir /);
  });
});

describe("token", () => {
  const env = () => ({ DATA_DIR: at("token-data"), JWT_SECRET: "s".repeat(40) });

  it("PORT=abc is a one-line configuration error", async () => {
    const r = await imgedit(["token", "--user", "alice"], { ...env(), PORT: "abc" });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("imgedit token: invalid configuration: PORT: must be a whole number from 0 to 65535\n");
  });

  it("--ttl from 1 s to 365 d", async () => {
    for (const ttl of ["0", "0s", "366d", "999999999999999999999999d"]) {
      const r = await imgedit(["token", "--user", "alice", "--ttl", ttl], env());
      expect(r.code, ttl).toBe(2);
      expect(r.stderr).toBe(`imgedit token: --ttl ${ttl}: a token must live from 1 s to 365 d\n`);
    }
    for (const [ttl, seconds] of [
      ["1", 1],
      ["365d", 365 * 86_400],
    ] as const) {
      const r = await imgedit(["token", "--user", "alice", "--ttl", ttl], env());
      expect(r.code, r.stderr).toBe(0);
      const claims = decodeJwt(r.stdout.trim());
      expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(seconds);
    }
  });

  it("--user says what a user name may be, and agrees with what the service accepts", async () => {
    const r = await imgedit(["token", "--user", "bob smith"], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'imgedit token: --user "bob smith": a user name is 1-128 letters, digits and ._@|:+=- starting with a letter or digit\n',
    );
    const auth = createAuth({ config: loadConfig(env()), secret: new TextEncoder().encode(env().JWT_SECRET) });
    const names = ["alice", "a.b@c|d:e+f=g-h_i", "9", "x".repeat(128), "x".repeat(129), "-x", ".x", "a/b", "a b", "é"];
    for (const name of names) {
      const service = await auth.mint(name, 60).then(
        () => true,
        () => false,
      );
      const cli = await imgedit(["token", "--user", name], env());
      expect(cli.code === 0, name).toBe(service);
    }
  });
});

describe("cost: inputs within sense", () => {
  it("refuses absurd volumes, memory and times; the largest accepted still give numbers", async () => {
    const cases: [string[], RegExp][] = [
      [["--images-per-day", "1".padEnd(301, "0")], /--images-per-day 10{300}: at most 1,000,000,000/],
      // plain decimals only: an exponent is not read as a number at all
      [["--images-per-day", "1e300"], /--images-per-day needs a positive whole number, got 1e300/],
      [["--memory-mb", "99999"], /--memory-mb 99999: at most 10,240 \(Lambda's range is 128-10240 MB\)/],
      [["--memory-mb", "64"], /--memory-mb must be 128-10240/],
      [["--seconds", "1000000000"], /--seconds 1000000000: at most 900/],
    ];
    for (const [args, message] of cases) {
      const r = await imgedit(["cost", ...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    const max = await imgedit([
      "cost",
      "--images-per-day",
      "1000000000",
      "--memory-mb",
      "10240",
      "--seconds",
      "900",
      "--json",
    ]);
    expect(max.code).toBe(0);
    expect(max.stdout).not.toMatch(/null|Infinity|NaN/);
  });
});

describe("bench: flags checked before anything runs", () => {
  it("an unknown or mistyped flag, or an unknown section, exits 2 naming it", async () => {
    const typo = await imgedit(["bench", "--quik"]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toBe("imgedit bench: unknown option --quik (see imgedit bench --help)\n");
    const section = await imgedit(["bench", "--only", "planer"]);
    expect(section.code).toBe(2);
    expect(section.stderr).toMatch(/^imgedit bench: --only: unknown section "planer" \(use pipeline, service/);
    noStack(section.stderr);
    const cases = await imgedit(["bench", "--cases", "jpg"]);
    expect(cases.code).toBe(2);
    expect(cases.stderr).toMatch(/--cases: unknown case "jpg"/);
  });

  it("--out is relative to the current directory (the harness runs in the repository)", () => {
    expect(benchArgs(["--quick", "--out", "mybench.json"], "/home/me/work")).toEqual([
      "--quick",
      "--out",
      "/home/me/work/mybench.json",
    ]);
    expect(benchArgs(["--only=planner", "--out=/tmp/b.json"], "/x")).toEqual([
      "--only",
      "planner",
      "--out",
      "/tmp/b.json",
    ]);
    expect(() => benchArgs(["--out"], "/x")).toThrow(/--out needs a value/);
  });

  it("knows the harness's sections and cases, and the harness refuses unknown flags too", () => {
    expect(SECTIONS).toEqual([...BENCH_SECTIONS]);
    expect(CASES).toEqual(BENCH_CASES.map((c) => c.id));
    expect(() => parseOptions(["--quik"], {})).toThrow(/unknown option --quik/);
    expect(parseOptions(["--quick", "--only", "planner", "--out", "x.json"], {}).sections).toEqual(["planner"]);
  });
});

describe("main", () => {
  it("`imgedit help nosuch` is `imgedit nosuch`: unknown command, exit 2", async () => {
    const plain = await imgedit(["nosuch"]);
    const help = await imgedit(["help", "nosuch"]);
    expect(help).toEqual(plain);
    expect(help.code).toBe(2);
    expect(help.stderr).toMatch(/^imgedit: unknown command "nosuch"\. Commands: edit, /);
    expect(help.stdout).toBe("");
  });

  it("an error no command handled is one line, not an unhandled rejection", async () => {
    // DATA_DIR under a file: the secret cannot be created
    await writeFile(at("file2"), "x");
    const r = await imgedit(["token", "--user", "alice"], { DATA_DIR: at("file2/data") });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^imgedit token: cannot read the secret in DATA_DIR .*: a part of the path is not a directory\n$/,
    );
  });
});
