// The README promises one line per image and a summary table; a file name is whatever the file
// system allows, including line breaks and terminal escape sequences (a downloaded "photo.jpg"
// can be named anything). Shown raw, such a name splits a row in two and drives the terminal
// (colours, cursor moves, a window title). The commands show names with control characters
// escaped; the files themselves keep their names.
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { imgedit, scratch } from "../cli/in-process.js";
import { makeImage } from "../helpers/images.js";

const WEIRD = "a\nb\u001b[31mred\u0007.jpg";
const SHOWN = "a\\nb\\x1b[31mred\\x07.jpg";
// C0 and C1 control characters: none may reach the terminal.
// biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

let dir: string;
beforeAll(async () => {
  dir = await scratch("imgedit-doc-names-");
  await mkdir(path.join(dir, "in"));
  await writeFile(path.join(dir, "in", WEIRD), await makeImage({ width: 40, height: 30, format: "jpeg" }));
  await writeFile(path.join(dir, "in", "plain.jpg"), await makeImage({ width: 40, height: 30, format: "jpeg" }));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("file names with control characters", () => {
  it("imgedit edit: one progress line and one table row per image, the name escaped", async () => {
    const out = path.join(dir, "out");
    const r = await imgedit(["edit", path.join(dir, "in"), "-c", "grayscale", "-o", `${out}/`]);
    expect(r.code, r.stderr).toBe(0);
    for (const text of [r.stdout, r.stderr]) expect(text).not.toMatch(CONTROL);
    const progress = r.stderr.split("\n").filter((l) => l.startsWith("["));
    expect(progress).toHaveLength(2);
    expect(progress.join("\n")).toContain(SHOWN);
    const table = r.stdout.trimEnd().split("\n");
    expect(table).toHaveLength(4); // head, two rows, totals
    expect(table.find((l) => l.startsWith("a\\n"))).toContain(SHOWN);
    // The result keeps the input's real name.
    expect((await readdir(out)).sort()).toEqual([WEIRD, "plain.jpg"].sort());
  });

  it("imgedit edit: a failed image's row and an error naming the file stay on one line", async () => {
    const r = await imgedit(["edit", path.join(dir, "in", `${WEIRD}.missing`), "-c", "grayscale", "-o", `${dir}/x/`]);
    expect(r.stdout + r.stderr).not.toMatch(CONTROL);
    expect(r.stdout + r.stderr).toContain(`${SHOWN}.missing`);
  });

  it("imgedit info: the name escaped, on its own line", async () => {
    const r = await imgedit(["info", path.join(dir, "in", WEIRD)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(CONTROL);
    expect(r.stdout.split("\n")[0]).toBe(path.join(dir, "in", SHOWN));
    const missing = await imgedit(["info", path.join(dir, "in", `${WEIRD}.missing`)]);
    expect(missing.code).toBe(1);
    expect(missing.stdout + missing.stderr).not.toMatch(CONTROL);
  });

  it("--json keeps the real name (JSON escapes it)", async () => {
    const r = await imgedit(["info", path.join(dir, "in", WEIRD), "--json"]);
    expect(JSON.parse(r.stdout)[0].file).toBe(path.join(dir, "in", WEIRD));
  });
});

describe("a message from elsewhere", () => {
  it("imgedit parse: an LLM endpoint's error page is quoted on the message's one line", async () => {
    const server = http.createServer((_req, res) => {
      res
        .writeHead(502, { "content-type": "text/html" })
        .end("<html>\n<body>\u001b]0;pwned\u0007bad gateway</body>\n</html>\n");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const r = await imgedit(["parse", "give it a dreamy glow"], {
        LLM_BASE_URL: `http://127.0.0.1:${port}/v1`,
        LLM_MODEL: "any",
      });
      expect(r.code).toBe(2);
      expect(r.stderr).not.toMatch(CONTROL);
      const [first] = r.stderr.split("\n");
      expect(first).toMatch(
        // the escape sequence's control characters are dropped where the text comes in (hostText)
        /^imgedit parse: I did not understand .*HTTP 502: <html> <body>\]0;pwnedbad gateway/,
      );
    } finally {
      server.close();
    }
  });
});
