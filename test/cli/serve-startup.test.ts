// `imgedit serve` refusing to start: a bad setting, or a setting this machine cannot honour, is one
// line `imgedit serve: <message>` and exit 2, never "internal error" and a stack trace.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { imgedit, scratch } from "./in-process.js";

let dir: string;
const at = (...p: string[]) => path.join(dir, ...p);

beforeAll(async () => {
  dir = await scratch("imgedit-serve-");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** One line, no "internal error", no stack. */
function oneLine(stderr: string): void {
  expect(stderr.split("\n")).toHaveLength(2);
  expect(stderr.endsWith("\n")).toBe(true);
  expect(stderr).not.toContain("internal error");
  expect(stderr).not.toMatch(/^\s+at /m);
}

describe("serve: a DATA_DIR another server holds", () => {
  let other: ChildProcess | undefined;
  afterAll(() => {
    if (other?.exitCode === null) other.kill();
  });

  it("is refused on one line with exit 2, naming the other server's pid", async () => {
    // A live process that holds the lock, as a first `imgedit serve` would.
    other = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
    const data = at("held");
    await mkdir(data);
    await writeFile(path.join(data, "server.lock"), `${other.pid}\n`);
    const r = await imgedit(["serve", "--port", "0"], { DATA_DIR: data });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `imgedit serve: DATA_DIR ${data} is in use by another imgedit server (pid ${other.pid}); stop it or use another DATA_DIR\n`,
    );
    expect(r.stdout).toBe("");
  });
});

describe("serve: settings refused before anything starts", () => {
  it.each([
    ["http://foo/", 'allow-list entry "http://foo/" is not a host or host:port (write foo, not a URL)'],
    ["host:99999", 'allow-list entry "host:99999" has a bad port (give 1-65535)'],
  ])("FETCH_ALLOW_HOSTS=%s: one line naming the variable and the entry, exit 2", async (entry, message) => {
    const r = await imgedit(["serve", "--port", "0"], { DATA_DIR: at("allow"), FETCH_ALLOW_HOSTS: entry });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`imgedit serve: invalid configuration: FETCH_ALLOW_HOSTS: ${message}\n`);
    oneLine(r.stderr);
  });

  it.each(["JWKS_URL", "PUBLIC_URL", "LLM_BASE_URL"])("%s=notaurl: one line, exit 2", async (name) => {
    const r = await imgedit(["serve", "--port", "0"], { DATA_DIR: at("urls"), [name]: "notaurl" });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `imgedit serve: invalid configuration: ${name}: "notaurl" is not a URL (give an http:// or https:// URL)\n`,
    );
  });

  it("several bad settings: every one named, on one line", async () => {
    const r = await imgedit(["serve"], {
      DATA_DIR: at("several"),
      PORT: "abc",
      JWKS_URL: "notaurl",
      FETCH_ALLOW_HOSTS: "http://foo/",
    });
    expect(r.code).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/^imgedit serve: invalid configuration: PORT: .*; JWKS_URL: .*; FETCH_ALLOW_HOSTS: /);
  });

  it("nothing was created: the settings are checked before DATA_DIR is touched", async () => {
    const r = await imgedit(["serve", "--port", "0"], { DATA_DIR: at("untouched"), JWKS_URL: "notaurl" });
    expect(r.code).toBe(2);
    expect(await readdir(dir)).not.toContain("untouched");
  });

  it("--host with nothing in it is refused; HOST= (empty) means the default", async () => {
    const r = await imgedit(["serve", "--host", "", "--port", "0"], { DATA_DIR: at("host") });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("imgedit serve: --host needs an address or a host name (127.0.0.1, 0.0.0.0, ...)\n");
  });

  it("the same settings are refused the same way by the other commands", async () => {
    const env = { DATA_DIR: at("token"), JWT_SECRET: "s".repeat(40), FETCH_ALLOW_HOSTS: "http://foo/" };
    const r = await imgedit(["token", "--user", "alice"], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^imgedit token: invalid configuration: FETCH_ALLOW_HOSTS: allow-list entry "http:\/\/foo\/"/,
    );
    oneLine(r.stderr);
  });
});

describe("serve: a DATA_DIR that cannot be used", () => {
  it("a file where DATA_DIR should be", async () => {
    await writeFile(at("a-file"), "x");
    const r = await imgedit(["serve", "--port", "0"], { DATA_DIR: at("a-file") });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `imgedit serve: cannot use DATA_DIR ${at("a-file")}: not a directory (mkdir ${at("a-file")})\n`,
    );
  });

  it("a directory where its secret file should be (the error names no file)", async () => {
    await mkdir(at("secret-dir", "jwt-secret"), { recursive: true });
    const r = await imgedit(["serve", "--port", "0"], { DATA_DIR: at("secret-dir") });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`imgedit serve: cannot use DATA_DIR ${at("secret-dir")}: is a directory (read)\n`);
  });

  it("a directory where its database should be", async () => {
    await mkdir(at("db-dir", "sessions.db"), { recursive: true });
    const r = await imgedit(["serve", "--port", "0"], { DATA_DIR: at("db-dir") });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^imgedit serve: cannot open the database in DATA_DIR .*db-dir: .*\(SQLITE_CANTOPEN\)\n$/);
  });

  it("a file where its objects directory should be", async () => {
    await mkdir(at("objects-file"), { recursive: true });
    await writeFile(at("objects-file", "objects"), "not a directory");
    const r = await imgedit(["serve", "--port", "0"], { DATA_DIR: at("objects-file") });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^imgedit serve: cannot use DATA_DIR .*objects-file: not a directory \(mkdir .*objects\)\n$/,
    );
  });
});
