// Every runnable example in docs/readme/*.md (the README's sections), run for real, so an edit
// that breaks one fails here: the `imgedit` command lines (in-process, in a scratch directory with
// the files they name), the curl commands (interpreted as curl sends them, against a real server on
// loopback whose token comes from the documented `imgedit token`), the JSON answers shown after them
// (same keys; same strings where the example gives one), the example plans, the settings and error
// tables, the quoted error messages and the library snippets' imports.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, ConfigSchema, loadConfig } from "../../src/config.js";
import { parseCommand } from "../../src/core/command/index.js";
import { ERROR_STATUS } from "../../src/core/errors.js";
import { limitsFromConfig } from "../../src/core/limits.js";
import { processImage } from "../../src/core/pipeline.js";
import { validatePlan } from "../../src/core/plan.js";
import { imgedit, scratch } from "../cli/in-process.js";
import { makeImage } from "../helpers/images.js";
import { type Json, openSse, type ServiceWithSource, startServiceWithSource, tempDir } from "../http/harness.js";

const root = path.resolve(import.meta.dirname, "../..");
const docsDir = path.join(root, "docs/readme");
const docFiles = readdirSync(docsDir)
  .filter((f) => f.endsWith(".md"))
  .sort();
const docs = new Map(docFiles.map((f) => [f, readFileSync(path.join(docsDir, f), "utf8")]));
const doc = (file: string): string => {
  const text = docs.get(file);
  if (text === undefined) throw new Error(`docs/readme/${file} is missing`);
  return text;
};

// ---- Markdown and shell, read the way a person pastes them ------------------------------------

interface Block {
  file: string;
  lang: string;
  text: string;
  /** 1-based line of the opening fence. */
  line: number;
}

/** Fenced code blocks (also indented ones inside list items), in order. */
function blocksOf(file: string): Block[] {
  const out: Block[] = [];
  const lines = doc(file).split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\w*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const indent = open[1].length;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !/^\s*```\s*$/.test(lines[j])) body.push(lines[j++].slice(indent));
    out.push({ file, lang: open[2], text: body.join("\n"), line: i + 1 });
    i = j;
  }
  return out;
}
const allBlocks = docFiles.flatMap(blocksOf);

interface ShellLine {
  /** The command, continuation lines joined. */
  cmd: string;
  /** A trailing `# comment` (what the line answers, in these docs), without the `#`. */
  comment?: string;
  block: Block;
}

/**
 * Commands of a shell block: lines joined across `\` continuations and open quotes (a JSON body
 * over several lines), a trailing comment split off. A comment-only line is the `comment` of the
 * commands before it that have none (`# {"plan":…}` under a curl, one answer under two uploads).
 */
function shellLines(block: Block): ShellLine[] {
  const out: ShellLine[] = [];
  // Commands since the last comment-only line: such a line (`# {"plan":…}`) answers them.
  let pending: ShellLine[] = [];
  let buf = "";
  let quote: string | null = null;
  for (const raw of block.text.split("\n")) {
    let line = raw;
    let comment: string | undefined;
    let continued = false;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (quote) {
        if (c === quote) quote = null;
        else if (c === "\\" && quote === '"') i++;
      } else if (c === "'" || c === '"') quote = c;
      else if (c === "\\") i++;
      else if (c === "#" && (i === 0 || /\s/.test(line[i - 1]))) {
        comment = line.slice(i + 1).trim();
        line = line.slice(0, i);
        break;
      }
    }
    if (!quote && /\\\s*$/.test(line)) {
      line = line.replace(/\\\s*$/, "");
      continued = true;
    }
    buf += (buf ? (quote || continued ? "\n" : " ") : "") + line;
    if (quote || continued) continue;
    const cmd = buf.trim();
    buf = "";
    if (cmd) {
      const entry = { cmd, comment, block };
      out.push(entry);
      pending.push(entry);
    } else if (comment !== undefined) {
      for (const p of pending) p.comment ??= comment;
      pending = [];
    }
  }
  return out;
}

interface Word {
  text: string;
  /** Had an unquoted * or ?: the shell would expand it. */
  glob: boolean;
}

/** Shell words: quotes, backslashes and $VAR / ${VAR} / "$VAR" as sh does them (no $(…)). */
function shellWords(cmd: string, vars: Record<string, string>): Word[] {
  const words: Word[] = [];
  let cur = "";
  let started = false;
  let glob = false;
  const expand = (at: number): [string, number] => {
    const m = /^\$(?:\{(\w+)\}|(\w+))/.exec(cmd.slice(at));
    if (!m) return ["$", at + 1];
    const name = m[1] ?? m[2];
    if (!(name in vars)) throw new Error(`the example uses $${name}, which the test does not know: ${cmd}`);
    return [vars[name], at + m[0].length];
  };
  for (let i = 0; i < cmd.length; ) {
    const c = cmd[i];
    if (/\s/.test(c)) {
      if (started) words.push({ text: cur, glob });
      cur = "";
      started = false;
      glob = false;
      i++;
    } else if (c === "'") {
      const end = cmd.indexOf("'", i + 1);
      cur += cmd.slice(i + 1, end);
      started = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      while (cmd[i] !== '"') {
        if (cmd[i] === "\\" && /["\\$`]/.test(cmd[i + 1])) {
          cur += cmd[i + 1];
          i += 2;
        } else if (cmd[i] === "$") {
          const [v, next] = expand(i);
          cur += v;
          i = next;
        } else cur += cmd[i++];
      }
      started = true;
      i++;
    } else if (c === "\\") {
      cur += cmd[i + 1];
      started = true;
      i += 2;
    } else if (c === "$") {
      const [v, next] = expand(i);
      cur += v;
      started = true;
      i = next;
    } else {
      if (c === "*" || c === "?") glob = true;
      cur += c;
      started = true;
      i++;
    }
  }
  if (started) words.push({ text: cur, glob });
  return words;
}

/** What the shell does with an unquoted glob (in the last part of the path), in `cwd`. */
function expandGlob(word: Word, cwd: string): string[] {
  if (!word.glob) return [word.text];
  const dir = path.dirname(word.text);
  const re = new RegExp(
    `^${path
      .basename(word.text)
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
  );
  const names = existsSync(path.join(cwd, dir)) ? readdirSync(path.join(cwd, dir)).filter((n) => re.test(n)) : [];
  return names.length ? names.sort().map((n) => (dir === "." ? n : `${dir}/${n}`)) : [word.text];
}

// ---- JSON as the docs show it: `…` stands for "and more" -------------------------------------

const MORE = "\u0000more";

/**
 * Parses a documented answer. A bare `…` (outside strings) means "more here": `[…]`, `{…}` and a
 * trailing `,…` mark the container as open (its other members are not listed); a string with `…`
 * in it stands for any string.
 */
function docJson(text: string): Json {
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === "\\") out += text[++i];
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    if (c !== "…") {
      out += c;
      continue;
    }
    // A bare ellipsis: a member of the enclosing container. Which one: the last unclosed bracket.
    let depth = 0;
    let container = "";
    for (let j = out.length - 1, s = false; j >= 0; j--) {
      const d = out[j];
      if (d === '"' && out[j - 1] !== "\\") s = !s;
      if (s) continue;
      if (d === "}" || d === "]") depth++;
      else if (d === "{" || d === "[") {
        if (depth === 0) {
          container = d;
          break;
        }
        depth--;
      }
    }
    out += container === "{" ? JSON.stringify(MORE) + ":true" : JSON.stringify(MORE);
  }
  return JSON.parse(out);
}

/** The first balanced {…} or […] in a text (a comment that goes on after the JSON). */
function leadingJson(text: string): string | undefined {
  const start = text.search(/[{[]/);
  if (start !== 0) return undefined;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      depth--;
      if (depth === 0) return text.slice(0, i + 1);
    }
  }
  return undefined;
}

/**
 * Differences between a documented value and a real one. Objects: the same keys (at least those
 * shown when the example has `…`). Strings: equal unless the example elides part with `…`.
 * Numbers: any number (sizes and times differ from run to run).
 */
function differences(shown: Json, actual: Json, at = "$"): string[] {
  if (shown === MORE) return [];
  if (typeof shown === "string") {
    if (typeof actual !== "string") return [`${at}: shown a string, got ${JSON.stringify(actual)}`];
    if (shown.includes("…") || shown === actual) return [];
    return [`${at}: shown ${JSON.stringify(shown)}, got ${JSON.stringify(actual)}`];
  }
  if (typeof shown === "number") return typeof actual === "number" ? [] : [`${at}: shown a number, got ${actual}`];
  if (typeof shown === "boolean" || shown === null)
    return actual === shown ? [] : [`${at}: shown ${shown}, got ${JSON.stringify(actual)}`];
  if (Array.isArray(shown)) {
    if (!Array.isArray(actual)) return [`${at}: shown an array, got ${JSON.stringify(actual)}`];
    // ["…"]: some strings.
    if (shown.length > 0 && shown.every((v) => v === "…"))
      return actual.every((v) => typeof v === "string") ? [] : [`${at}: shown strings, got ${JSON.stringify(actual)}`];
    const items = shown.filter((v) => v !== MORE);
    const open = items.length < shown.length;
    if (open ? actual.length < items.length : actual.length !== items.length)
      return [`${at}: shown ${items.length}${open ? "+" : ""} items, got ${actual.length}`];
    return items.flatMap((v, i) => differences(v, actual[i], `${at}[${i}]`));
  }
  if (typeof actual !== "object" || actual === null || Array.isArray(actual))
    return [`${at}: shown an object, got ${JSON.stringify(actual)}`];
  const keys = Object.keys(shown).filter((k) => k !== MORE);
  const out: string[] = [];
  for (const k of keys)
    if (!(k in actual)) out.push(`${at}.${k}: shown, but not in the answer`);
    else out.push(...differences(shown[k], actual[k], `${at}.${k}`));
  if (!(MORE in shown))
    for (const k of Object.keys(actual)) if (!keys.includes(k)) out.push(`${at}.${k}: in the answer, not shown`);
  return out;
}

// ---- The `imgedit` command lines ---------------------------------------------------------------

interface CliExample {
  line: ShellLine;
  argv: Word[];
  env: Record<string, string>;
}

/** `imgedit …` and `npx imgedit …` lines of sh/bash blocks (not the server or the benchmark). */
function cliExamples(): CliExample[] {
  const out: CliExample[] = [];
  for (const block of allBlocks.filter((b) => b.lang === "sh" || b.lang === "bash"))
    for (const line of shellLines(block)) {
      if (!/^([A-Z_]+=\S*\s+)*(npx\s+)?imgedit\s/.test(line.cmd)) continue;
      if (line.cmd.includes("$(") || /<[a-z]/i.test(line.cmd)) continue; // needs AWS or a value of yours
      const words = shellWords(line.cmd, {});
      const env: Record<string, string> = {};
      while (words.length && /^[A-Z_]+=/.test(words[0].text)) {
        const [k, ...v] = words.shift()!.text.split("=");
        env[k] = v.join("=");
      }
      if (words[0]?.text === "npx" && words[1]?.text === "imgedit") words.shift();
      if (words[0]?.text !== "imgedit") continue;
      const sub = words[1]?.text;
      if (sub === "serve" || sub === "bench") continue; // a server that runs until stopped; minutes of benchmark
      out.push({ line, argv: words.slice(1), env });
    }
  return out;
}
const CLI = cliExamples();

/** The value of -o/--output in argv, if any. */
function outputOf(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--") return undefined;
    if (argv[i] === "-o" || argv[i] === "--output") return argv[i + 1];
    if (argv[i].startsWith("--output=")) return argv[i].slice("--output=".length);
  }
  return undefined;
}

const EXT_FORMAT: Record<string, string> = {
  jpg: "jpeg",
  jpeg: "jpeg",
  png: "png",
  webp: "webp",
  avif: "heif",
  gif: "gif",
  tif: "tiff",
  tiff: "tiff",
};

/** The files the examples name, in `dir`: photo.jpg, in.png, photos/, shots/, other/, party.gif… */
async function writeFixtures(dir: string): Promise<void> {
  const at = (p: string) => path.join(dir, p);
  for (const d of ["photos", "shots", "other"]) await mkdir(at(d));
  const jpeg = (width: number, height: number) => makeImage({ width, height, gradient: true, format: "jpeg" });
  await writeFile(at("photo.jpg"), await jpeg(1600, 1067));
  await writeFile(at("in.jpg"), await jpeg(640, 480));
  await writeFile(at("in.png"), await makeImage({ width: 1000, height: 600, gradient: true }));
  await writeFile(at("photos/a.jpg"), await jpeg(300, 200));
  await writeFile(at("photos/b.jpg"), await jpeg(200, 300));
  await writeFile(at("shots/one.png"), await makeImage({ width: 120, height: 80, quadrants: true }));
  await writeFile(at("shots/two.png"), await makeImage({ width: 80, height: 120, quadrants: true }));
  await writeFile(at("other/three.jpg"), await jpeg(100, 100));
  await writeFile(at("party.gif"), await makeImage({ width: 60, height: 40, format: "gif", pages: 4, delay: 80 }));
}

/**
 * Runs one example command line in `dir` (`imgedit cost` in the checkout: `--from-bench
 * bench/results/…` is relative to the current directory) and checks it did what it says: exit 0,
 * JSON where --json, and the output file (of the format its extension names) or directory.
 */
async function runCliExample(words: Word[], env: Record<string, string>, dir: string): Promise<void> {
  const cwd = words[0].text === "cost" ? root : dir;
  const argv = words.flatMap((w) => expandGlob(w, cwd));
  const before = process.cwd();
  process.chdir(cwd);
  let r: Awaited<ReturnType<typeof imgedit>>;
  try {
    r = await imgedit(argv, { DATA_DIR: path.join(dir, "data"), ...env });
  } finally {
    process.chdir(before);
  }
  expect(r.code, `exit status of \`imgedit ${argv.join(" ")}\`; stderr:\n${r.stderr}`).toBe(0);
  if (argv.includes("--json")) expect(() => JSON.parse(r.stdout), "--json prints JSON").not.toThrow();
  if (argv[0] === "parse") expect(r.stdout).toMatch(/"plan"/);
  const output = outputOf(argv);
  if (argv[0] !== "edit" || output === undefined) return;
  const target = path.join(dir, output);
  const ext = path.extname(output).slice(1).toLowerCase();
  if (ext && !output.endsWith("/")) {
    const meta = await sharp(await readFile(target)).metadata();
    expect(meta.format, `${output} is a ${EXT_FORMAT[ext]} file`).toBe(EXT_FORMAT[ext]);
  } else {
    expect(statSync(target).isDirectory()).toBe(true);
    expect(readdirSync(target).length, `files written to ${output}`).toBeGreaterThan(0);
  }
}

describe("the README's `imgedit` command lines", () => {
  let dir: string;

  beforeAll(async () => {
    dir = await scratch("imgedit-doc-examples-");
    await writeFixtures(dir);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("finds the examples (the intro's, the command line's, the planner's, the catalog's, cost's)", () => {
    const files = new Set(CLI.map((e) => e.line.block.file));
    for (const f of ["00-intro.md", "core.md", "commands.md", "operations.md", "cost.md"]) expect(files).toContain(f);
    expect(CLI.length).toBeGreaterThanOrEqual(15);
  });

  for (const ex of CLI) {
    const where = `${ex.line.block.file}:${ex.line.block.line}`;
    it(`${where}: imgedit ${ex.argv.map((w) => w.text).join(" ")}`, () => runCliExample(ex.argv, ex.env, dir));
  }

  it("the examples in `imgedit <command> --help` work too", async () => {
    const own = await scratch("imgedit-doc-help-");
    await writeFixtures(own);
    let count = 0;
    for (const command of ["edit", "parse", "info", "token", "cost"]) {
      const help = await imgedit([command, "--help"]);
      const examples = help.stdout.split(/\nExamples:\n/)[1] ?? "";
      for (const line of examples.split("\n").filter((l) => l.startsWith("  imgedit "))) {
        await runCliExample(shellWords(line.trim(), {}).slice(1), {}, own);
        count++;
      }
    }
    expect(count).toBeGreaterThanOrEqual(4);
    await rm(own, { recursive: true, force: true });
  });

  it("commands.md: `imgedit parse` on a command it does not understand prints what is shown", async () => {
    const block = allBlocks.find((b) => b.file === "commands.md" && b.text.startsWith("$ imgedit parse"));
    expect(block, "the `$ imgedit parse …` transcript").toBeDefined();
    const [prompt, ...shown] = block!.text.split("\n");
    const r = await imgedit(
      shellWords(prompt.slice(2), {})
        .slice(1)
        .map((w) => w.text),
      { DATA_DIR: path.join(dir, "data") },
    );
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd()).toBe(shown.join("\n").trimEnd());
  });

  it("commands.md: every phrase of “What you can say” is understood", () => {
    const text = doc("commands.md");
    const list = text.slice(text.indexOf("In short:"), text.indexOf("**Optional LLM planner.**"));
    const phrases = [...list.matchAll(/\*([^*]+)\*/g)].map((m) => m[1]);
    expect(phrases.length).toBeGreaterThan(30);
    // Fragments (a joiner, a number in words, a vague amount) are tried inside a command.
    const understood = (p: string) =>
      [p, `rotate ${p}`, `blur ${p}`, `grayscale ${p} blur`].some((c) => parseCommand(c).ok);
    expect(phrases.filter((p) => !understood(p))).toEqual([]);
  });

  it("operations.md: the example plans are valid and run", async () => {
    const plans = allBlocks.filter((b) => b.file === "operations.md" && b.lang === "json");
    expect(plans.length).toBeGreaterThanOrEqual(2);
    const limits = limitsFromConfig(loadConfig({}));
    const input = await makeImage({ width: 800, height: 600, gradient: true, format: "jpeg" });
    const logo = await makeImage({ width: 100, height: 40, color: "red", alpha: 200 });
    for (const block of plans) {
      const plan = validatePlan(JSON.parse(block.text), limits);
      const wanted: string[] = [];
      const out = await processImage(input, plan, {
        limits,
        // The watermark's example URL is not fetched from here: the image it names is handed in.
        loadAsset: async (url) => {
          wanted.push(url);
          return logo;
        },
      });
      expect(out.width, `${block.file}:${block.line}`).toBeGreaterThan(0);
      const format = plan.find((s) => s.op === "format") as { format?: string } | undefined;
      expect(out.format).toBe(format?.format ?? "jpeg");
      const marks = plan.filter((s) => s.op === "watermark") as { url: string }[];
      expect(wanted).toEqual(marks.map((m) => m.url));
    }
  });
});

// ---- The HTTP examples, against a real server --------------------------------------------------

interface CurlRequest {
  method: string;
  url: string;
  headers: Headers;
  body?: string | FormData | Buffer;
  /** -o FILE */
  output?: string;
}

/** A curl command as curl would send it (the options these docs use). */
async function curlRequest(words: string[], cwd: string): Promise<CurlRequest> {
  const headers = new Headers();
  let method: string | undefined;
  let url: string | undefined;
  let body: CurlRequest["body"];
  let output: string | undefined;
  const form = new FormData();
  let hasForm = false;
  for (let i = 1; i < words.length; i++) {
    const w = words[i];
    if (w === "-s" || w === "-N" || w === "-i") continue;
    if (w === "-X") method = words[++i];
    else if (w === "-H") {
      const h = words[++i];
      const colon = h.indexOf(":");
      headers.set(h.slice(0, colon).trim(), h.slice(colon + 1).trim());
    } else if (w === "-d" || w === "--data-binary") {
      const v = words[++i];
      // As sent: the docs give -d a literal, --data-binary a file (curl -d @file would drop its line breaks).
      body = v.startsWith("@") ? await readFile(path.join(cwd, v.slice(1))) : v;
      if (!headers.has("content-type")) headers.set("content-type", "application/x-www-form-urlencoded");
    } else if (w === "-F") {
      const [name, value] = words[++i].split(/=(.*)/s);
      if (value.startsWith("@")) {
        const file = path.join(cwd, value.slice(1));
        form.append(name, new Blob([await readFile(file)]), path.basename(file));
      } else form.append(name, value);
      hasForm = true;
    } else if (w === "-o") output = words[++i];
    else if (w.startsWith("-")) throw new Error(`curl option ${w} is not known to this test`);
    else url = w;
  }
  if (hasForm) body = form;
  if (!url) throw new Error(`no URL in: curl ${words.join(" ")}`);
  return { method: method ?? (body === undefined ? "GET" : "POST"), url, headers, body, output };
}

describe("the README's HTTP examples, on a real server", () => {
  let env: ServiceWithSource;
  let dir: string;
  const vars: Record<string, string> = {};
  let sourceHost: string;
  let realUpload: string;
  let finished: { sessionId: string; status: string }[] = [];

  /** The docs' stand-ins for what only exists on a reader's machine, made real. */
  const localise = (text: string): string =>
    text
      .replaceAll("http://127.0.0.1:8080", vars.B)
      .replaceAll("https://example.com/cat.jpg", `http://${sourceHost}/cat.jpg`)
      .replaceAll("127.0.0.1:9000", sourceHost)
      .replaceAll("upload:0123456789abcdef0123456789abcdef", realUpload);

  beforeAll(async () => {
    dir = tempDir("imgedit-doc-http-");
    const dataDir = path.join(dir, "data");
    env = await startServiceWithSource({}, { dataDir });
    sourceHost = `127.0.0.1:${env.src.port}`;
    env.src.set(
      "/cat.jpg",
      await makeImage({ width: 1200, height: 800, gradient: true, format: "jpeg" }),
      "image/jpeg",
    );
    await writeFile(path.join(dir, "photo.jpg"), await makeImage({ width: 1600, height: 1067, format: "jpeg" }));
    vars.B = env.svc.base;
    // "In the examples below: `B=…` and `TOKEN=$(imgedit token --user alice)`", run where the server runs.
    const tokenLine = /`TOKEN=\$\((imgedit token [^)`]*)\)`/.exec(doc("service.md"));
    expect(tokenLine, "service.md names how TOKEN is made").not.toBeNull();
    const minted = await imgedit(
      shellWords(tokenLine![1], {})
        .slice(1)
        .map((w) => w.text),
      { DATA_DIR: dataDir },
    );
    expect(minted.code, minted.stderr).toBe(0);
    expect(minted.stderr, "the token command found the server's secret").toBe("");
    vars.TOKEN = minted.stdout.trim();
    const auth = { authorization: `Bearer ${vars.TOKEN}` };
    // The upload the edit example refers to, and a second session so that the list has a next page.
    const up = await fetch(`${vars.B}/uploads?name=photo.jpg`, {
      method: "POST",
      headers: auth,
      body: await readFile(path.join(dir, "photo.jpg")),
    });
    expect(up.status).toBe(201);
    realUpload = ((await up.json()) as Json).url;
    const other = await env.svc.api("/image-edit", {
      method: "POST",
      body: JSON.stringify({ images: [{ url: realUpload }], operation: { type: "command", command: "grayscale" } }),
    });
    expect(other.status).toBe(202);
  });
  afterAll(async () => {
    await env?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Follows a session's progress stream to its end; the `complete` event's data. */
  async function untilComplete(sessionId: string): Promise<Json> {
    const sse = await openSse(`${vars.B}/image-edit/progress/${sessionId}`, {
      authorization: `Bearer ${vars.TOKEN}`,
    });
    await sse.done;
    const complete = sse.events.find((e) => e.event === "complete");
    expect(complete, `session ${sessionId} completes`).toBeDefined();
    return complete!.data;
  }

  /** Runs one documented curl line; checks its status and the answer shown with it. */
  async function runCurl(line: ShellLine): Promise<{ res: Response; json?: Json }> {
    const words = shellWords(localise(line.cmd), vars).map((w) => w.text);
    const req = await curlRequest(words, dir);
    const res = await fetch(req.url, { method: req.method, headers: req.headers, body: req.body });
    const where = `${line.block.file}:${line.block.line}: ${line.cmd.slice(0, 90)}`;
    const status = line.comment && /^\d{3}\b/.exec(line.comment);
    const text = req.output ? "" : await res.clone().text();
    if (status) expect(res.status, where).toBe(Number(status[0]));
    else expect(res.ok, `${where}: ${res.status} ${text.slice(0, 300)}`).toBe(true);
    if (req.output) await writeFile(path.join(dir, req.output), Buffer.from(await res.arrayBuffer()));
    const json = (res.headers.get("content-type") ?? "").includes("json") && text ? JSON.parse(text) : undefined;
    const shown = line.comment ? leadingJson(line.comment) : undefined;
    if (shown) expect(differences(docJson(shown), json), where).toEqual([]);
    return { res, json };
  }

  const serviceBlocks = blocksOf("service.md");
  const serviceLines = serviceBlocks
    .filter((b) => b.lang === "sh")
    .flatMap(shellLines)
    .filter((l) => l.cmd.startsWith("curl "));
  // Deleting the session comes last: the download example still needs its result.
  const ordered = [
    ...serviceLines.filter((l) => !l.cmd.includes("-X DELETE")),
    ...serviceLines.filter((l) => l.cmd.includes("-X DELETE")),
  ];

  it("finds the curl examples of every route", () => {
    const text = serviceLines.map((l) => l.cmd).join("\n");
    for (const route of [
      "/image-edit ",
      "/image-edit/parse",
      "/image-edit/progress/",
      "/image-edit/sessions",
      "/uploads",
      "/auth/config",
      "/auth/local",
      "/healthz",
      "/metrics",
      "/openapi.json",
    ])
      expect(text).toContain(route);
  });

  for (const line of ordered) {
    it(`service.md:${line.block.line}: ${line.cmd.replace(/\s+/g, " ").slice(0, 100)}`, async () => {
      const next = serviceBlocks[serviceBlocks.indexOf(line.block) + 1];
      if (line.cmd.startsWith("curl -N")) {
        // The progress stream, and the events shown in the block after it.
        const words = shellWords(localise(line.cmd), vars).map((w) => w.text);
        const req = await curlRequest(words, dir);
        const sse = await openSse(req.url, Object.fromEntries(req.headers));
        expect(sse.status).toBe(200);
        await sse.done;
        expect(next.lang, "the events shown after the curl -N example").toBe("");
        const shown = next.text.split(/\n\n+/).map((chunk) => {
          const event = /^event: (.*)$/m.exec(chunk)?.[1];
          const data = /^data: (.*)$/m.exec(chunk)?.[1];
          return { event, id: /^id: /m.test(chunk), data: data ? docJson(data) : undefined };
        });
        for (const s of shown) {
          const real = sse.events.filter((e) => e.event === s.event);
          expect(real.length, `a ${s.event} event`).toBeGreaterThan(0);
          // Ids ride on what a reconnect must not miss: a finished image and the end (this is a replay).
          if (s.id && s.event !== "progress") expect(real.every((e) => e.id !== undefined)).toBe(true);
          // The fields of the event (what is in them depends on the run: shown is one that partly failed).
          const fields = (v: unknown) => Object.keys(v as object).sort();
          expect(
            real.map((e) => fields(e.data)),
            `${s.event} events with the fields shown`,
          ).toContainEqual(fields(s.data));
        }
        const image = sse.events.find((e) => e.event === "image")?.data as Json;
        vars.URL_FROM_THE_IMAGE_EVENT = image.url;
        return;
      }
      const { res, json } = await runCurl(line);
      if (line.cmd.includes("POST $B/image-edit ") || line.cmd.includes("POST $B/image-edit\n")) {
        expect(res.status).toBe(202);
        vars.SID = json.sessionId;
        // The answer shown in the json block after the example: same keys, same words.
        expect(next.lang).toBe("json");
        expect(differences(docJson(next.text), json)).toEqual([]);
        const done = await untilComplete(json.sessionId);
        finished.push(done);
        expect(done.status, JSON.stringify(done)).toBe("completed");
        // For the list's second page: one item per page, so there is a cursor.
        const first = (await (await env.svc.api("/image-edit/sessions?limit=1")).json()) as Json;
        vars.NEXT = first.nextCursor;
        expect(vars.NEXT).toBeTruthy();
      }
      if (line.cmd.includes("/image-edit/sessions/$SID") && !line.cmd.includes("DELETE")) {
        expect(json.images.every((i: Json) => i.result?.url)).toBe(true);
      }
      if (line.cmd.includes("-o cat.webp")) {
        const meta = await sharp(await readFile(path.join(dir, "cat.webp"))).metadata();
        expect(meta.format).toBe("webp");
      }
      if (line.cmd.includes("-X DELETE")) {
        expect((await env.svc.api(`/image-edit/sessions/${vars.SID}`)).status).toBe(404);
      }
    });
  }

  it("service.md: the answer to a command it does not understand is the one shown", async () => {
    const text = doc("service.md");
    const m = /\(`([^`]+)`\) answers `422 COMMAND_NOT_UNDERSTOOD`[^`]*`(\{"error":[^`]+\})`/.exec(text);
    expect(m, "the command and its answer, in service.md").not.toBeNull();
    const res = await env.svc.api("/image-edit/parse", { method: "POST", body: JSON.stringify({ command: m![1] }) });
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual(JSON.parse(m![2]));
  });

  it("service.md: `GET /auth/config`'s limits are the ones shown (default settings)", async () => {
    const block = blocksOf("service.md").find((b) => b.lang === "json" && b.text.includes('"maxImageBytes"'));
    expect(block).toBeDefined();
    const res = await fetch(`${vars.B}/auth/config`);
    expect(((await res.json()) as Json).limits).toEqual(JSON.parse(block!.text));
  });

  it("fetch.md: the allow-list example fetches from the image server it names", async () => {
    const block = blocksOf("fetch.md").find((b) => b.text.includes("FETCH_ALLOW_HOSTS="));
    expect(block).toBeDefined();
    const [start, curl] = shellLines(block!);
    // The server here allows exactly the image source; the example's allow-list entry stands for it.
    const allowed = /FETCH_ALLOW_HOSTS=(\S+)/.exec(start.cmd)![1];
    expect(localise(allowed)).toBe(sourceHost);
    const { res, json } = await runCurl(curl);
    expect(res.status).toBe(202);
    const done = await untilComplete(json.sessionId);
    expect(done.status, JSON.stringify(done)).toBe("completed");
  });

  it("every edit the examples started finished with every image done", () => {
    expect(finished.length).toBeGreaterThan(0);
    for (const f of finished) expect(f.status).toBe("completed");
    finished = [];
  });
});

describe("the curl example `imgedit serve` prints (what `npm start` shows a new user)", () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    // Only the process this test started, by its pid.
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });

  it("works pasted as printed: token, upload, edit, progress stream to the end", async () => {
    const dir = tempDir("imgedit-doc-banner-");
    await writeFile(path.join(dir, "photo.jpg"), await makeImage({ width: 900, height: 600, format: "jpeg" }));
    child = spawn(
      path.join(root, "node_modules/.bin/tsx"),
      [path.join(root, "src/cli/main.ts"), "serve", "--port", "0"],
      {
        cwd: dir,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: path.join(dir, "data"), LOG_LEVEL: "silent" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout?.setEncoding("utf8").on("data", (c: string) => {
      out += c;
    });
    child.stderr?.setEncoding("utf8").on("data", (c: string) => {
      out += c;
    });
    const exited = new Promise<number | null>((resolve) => child?.on("exit", (code) => resolve(code)));
    while (!/curl -N .*\n/.test(out)) {
      if (child.exitCode !== null) throw new Error(`imgedit serve exited:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const banner = out.slice(out.indexOf("  TOKEN="));
    const vars: Record<string, string> = { TOKEN: /^ {2}TOKEN=(\S+)$/m.exec(banner)![1] };
    const lines = shellLines({ file: "imgedit serve", lang: "sh", text: banner, line: 1 }).slice(1);
    expect(lines.map((l) => l.cmd.split(/\s+/).slice(0, 4).join(" "))).toEqual([
      expect.stringMatching(/^curl -s -X POST$/),
      expect.stringMatching(/^curl -s -X POST$/),
      expect.stringMatching(/^curl -N "http/),
    ]);
    const send = async (cmd: string) => {
      const req = await curlRequest(
        shellWords(cmd, vars).map((w) => w.text),
        dir,
      );
      return fetch(req.url, { method: req.method, headers: req.headers, body: req.body });
    };
    const upload = await send(lines[0].cmd);
    expect(upload.status).toBe(201);
    const uploaded = (await upload.json()) as Json;
    expect(lines[0].comment).toContain('"url":"upload:<id>"');
    const started = await send(lines[1].cmd.replaceAll("upload:<id>", uploaded.url));
    expect(started.status).toBe(202);
    const { sessionId } = (await started.json()) as Json;
    const req = await curlRequest(
      shellWords(lines[2].cmd.replace("<sessionId>", sessionId), vars).map((w) => w.text),
      dir,
    );
    const sse = await openSse(req.url, Object.fromEntries(req.headers));
    await sse.done;
    const complete = sse.events.find((e) => e.event === "complete")?.data as Json;
    expect(complete?.status).toBe("completed");
    const image = sse.events.find((e) => e.event === "image")?.data as Json;
    expect([image.width, image.height, image.format]).toEqual([800, 533, "webp"]);
    child.kill("SIGTERM");
    expect(await exited, "a graceful stop").toBe(0);
    await rm(dir, { recursive: true, force: true });
  }, 60_000);
});

// ---- Reference tables and quoted messages -----------------------------------------------------

/** Rows of the markdown tables whose header's first cell is `first`, in a doc. */
function tableRows(file: string, header: RegExp): string[][] {
  const rows: string[][] = [];
  const lines = doc(file).split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].startsWith("|") || !header.test(lines[i]) || !/^\|\s*-/.test(lines[i + 1] ?? "")) continue;
    for (let j = i + 2; j < lines.length && lines[j].startsWith("|"); j++)
      rows.push(
        lines[j]
          .slice(1, -1)
          .split(/(?<!\\)\|/)
          .map((c) => c.trim()),
      );
  }
  return rows;
}

const ticked = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);

/** A documented default as the config holds it, or undefined when the cell is prose. */
function documentedDefault(name: string, cell: string): { value: unknown } | undefined {
  const c = cell.replace(/`/g, "").trim();
  if (c === "—") return { value: undefined };
  const n = /^(\d[\d ]*)\s*(MiB|s|days)?$/.exec(c);
  if (n) {
    let v = Number(n[1].replace(/ /g, ""));
    if (n[2] === "MiB") v *= 1048576;
    if (n[2] === "s" && name.endsWith("_MS")) v *= 1000;
    return { value: v };
  }
  if (/^[\w./]+$/.test(c)) return { value: c === "true" ? true : c === "false" ? false : c };
  return undefined;
}

describe("the README's reference tables and quoted messages", () => {
  const defaults = loadConfig({}) as unknown as Record<string, unknown>;
  const known = Object.keys(ConfigSchema.shape);

  it("every setting named in a settings or limits table exists, with the default shown", () => {
    const tables: [string, RegExp, number, number][] = [
      // file, header, column of the name(s), column of the default(s)
      ["service.md", /^\| name \| default \| what \|/, 0, 1],
      ["service.md", /^\| limit \| default \| setting \|/, 2, 1],
      ["fetch.md", /^\| variable \| default \| what \|/, 0, 1],
      ["commands.md", /^\| variable \| what \|/, 0, -1],
    ];
    let checked = 0;
    for (const [file, header, nameCol, defCol] of tables) {
      const rows = tableRows(file, header);
      expect(rows.length, `${file}: the table ${header}`).toBeGreaterThan(0);
      for (const row of rows) {
        const names = ticked(row[nameCol]).filter((n) => /^[A-Z][A-Z0-9_]+$/.test(n));
        if (names.length === 0) continue;
        for (const n of names) expect(known, `${file}: ${n}`).toContain(n);
        if (defCol < 0 || /[×=]/.test(row[nameCol])) continue;
        // "`PORT` / `HOST`" with "`8080` / `127.0.0.1`"; "10, 3" for two names.
        const parts = names.length > 1 ? row[defCol].split(/\s*[/,]\s*/) : [row[defCol]];
        if (parts.length !== names.length) continue;
        names.forEach((n, i) => {
          const shown = documentedDefault(n, parts[i]);
          if (!shown) return;
          const actual = Array.isArray(defaults[n]) && defaults[n].length === 0 ? undefined : defaults[n]; // none
          expect(actual, `${file}: the default of ${n} is ${parts[i]}`).toEqual(shown.value);
          checked++;
        });
      }
    }
    expect(checked).toBeGreaterThanOrEqual(20);
  });

  it("every error code in the errors table has the status shown", () => {
    const rows = tableRows("service.md", /^\| code \| status \| when \|/);
    expect(rows.length).toBeGreaterThan(10);
    for (const row of rows)
      for (const code of ticked(row[0]))
        expect(ERROR_STATUS[code as keyof typeof ERROR_STATUS], code).toBe(Number(row[1]));
    const perImage = /Per image \(in `progress` events and the session\), also ([^.]+)\./.exec(doc("service.md"));
    expect(perImage).not.toBeNull();
    const codes = ticked(perImage![1]).filter((c) => /^[A-Z_]+$/.test(c) && !known.includes(c));
    expect(codes.length).toBeGreaterThanOrEqual(5);
    for (const code of codes) expect(ERROR_STATUS).toHaveProperty(code);
  });

  it("the quoted start-up refusals are word for word what a bad setting gives", () => {
    const quoted = [
      ...doc("service.md").matchAll(/`(invalid configuration: [^`]+)`/g),
      ...doc("fetch.md").matchAll(/`(invalid configuration: [^`]+)`/g),
    ].map((m) => m[1].replace(/\s+/g, " "));
    expect(quoted.length).toBeGreaterThanOrEqual(2);
    for (const message of quoted) {
      // The values are in the message; the numbers-only ones (PORT) are refused for any word.
      const env: Record<string, string> = {};
      for (const m of message.slice("invalid configuration: ".length).split("; ")) {
        const name = m.slice(0, m.indexOf(":"));
        const value = /"([^"]+)"/.exec(m)?.[1] ?? "abc";
        env[name] = value;
      }
      let thrown: unknown;
      try {
        loadConfig(env);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(ConfigError);
      expect((thrown as Error).message).toBe(message);
    }
  });

  it("the library snippets import names their modules export", async () => {
    const snippets = allBlocks.filter((b) => b.lang === "ts");
    expect(snippets.length).toBeGreaterThanOrEqual(2);
    let names = 0;
    for (const s of snippets)
      for (const m of s.text.matchAll(/import\s*\{([^}]+)\}\s*from\s*"\.\/([^"]+)\.js"/g)) {
        const mod = await import(path.join(root, "src", `${m[2]}.ts`));
        for (const name of m[1].split(",").map((n) => n.trim())) {
          expect(mod, `${s.file}: ${name} from ./${m[2]}.js`).toHaveProperty(name);
          names++;
        }
      }
    expect(names).toBeGreaterThanOrEqual(8);
  });

  it("every link goes to a heading of the README or a file of the repository", () => {
    const slug = (h: string) =>
      h
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s-]/gu, "")
        .trim()
        .replace(/\s/g, "-");
    const headings = new Set<string>();
    const links: [string, string][] = [];
    for (const [file, text] of docs) {
      let fenced = false;
      for (const line of text.split("\n")) {
        if (/^\s*```/.test(line)) fenced = !fenced;
        if (fenced) continue;
        const h = /^#{1,6} (.*)$/.exec(line);
        if (h) headings.add(slug(h[1]));
        for (const m of line.matchAll(/\]\(([^)\s]+)\)/g)) if (!/^https?:/.test(m[1])) links.push([file, m[1]]);
      }
    }
    expect(links.length).toBeGreaterThan(5);
    for (const [file, link] of links)
      if (link.startsWith("#")) expect(headings, `${file}: ${link}`).toContain(link.slice(1));
      else expect(existsSync(path.join(root, link.split("#")[0])), `${file}: ${link}`).toBe(true);
  });

  it("every `npm run` script and `make` target named exists", () => {
    const scripts = Object.keys(JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")).scripts);
    const targets = [...readFileSync(path.join(root, "Makefile"), "utf8").matchAll(/^([\w-]+):/gm)].map((m) => m[1]);
    const text = [...docs.values()].join("\n");
    // In inline code and in shell blocks: `npm run NAME`; `[VAR=… ]make TARGET`.
    const commands = [
      ...[...text.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]),
      ...allBlocks.filter((b) => b.lang === "sh" || b.lang === "bash").flatMap((b) => shellLines(b).map((l) => l.cmd)),
    ];
    const run: string[] = [];
    const make: string[] = [];
    for (const c of commands) {
      const r = /(?:^|\s)npm run ([\w:-]+)/.exec(c);
      if (r) run.push(r[1]);
    }
    // The Makefile is the AWS section's (elsewhere "make it …" is a plain-English command).
    for (const c of [...doc("aws.md").matchAll(/`([^`\n]+)`/g)].map((m) => m[1])) {
      const m = /^(?:[A-Z_]+=\S+\s+)*make ([a-z][\w-]*)/.exec(c);
      if (m) make.push(m[1]);
    }
    for (const b of blocksOf("aws.md").filter((x) => x.lang === "bash" || x.lang === "sh"))
      for (const l of shellLines(b)) {
        const m = /^(?:[A-Z_]+=\S+\s+)*make ([a-z][\w-]*)/.exec(l.cmd);
        if (m) make.push(m[1]);
      }
    expect(run.length).toBeGreaterThan(10);
    expect(make.length).toBeGreaterThan(5);
    for (const name of run) expect(scripts, `npm run ${name}`).toContain(name);
    for (const name of make) expect(targets, `make ${name}`).toContain(name);
  });

  it("core.md: processImage answers with the fields its comment lists", async () => {
    const snippet = blocksOf("core.md").find((b) => b.lang === "ts" && b.text.includes("// out: {"));
    expect(snippet).toBeDefined();
    const comment = snippet!.text
      .slice(snippet!.text.indexOf("// out:") + "// out:".length)
      .replace(/\/\/|\(the input's header, oriented\)/g, "")
      .replace(/\s+/g, " ");
    const shown = JSON.parse(
      comment
        .trim()
        .replace(/(\w+)(?=\s*[,}:])/g, '"$1"')
        .replace(/"(\w+)"\s*(?=[,}])/g, '"$1":0'),
    );
    const limits = limitsFromConfig(loadConfig({}));
    const out = await processImage(await makeImage(), [{ op: "grayscale" }], { limits });
    expect(Object.keys(out).sort()).toEqual(Object.keys(shown).sort());
    expect(Object.keys(out.source).sort()).toEqual(Object.keys(shown.source).sort());
  });
});
