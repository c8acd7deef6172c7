// `imgedit edit` with watermark steps: the images come from a real loopback HTTP server through the
// server's safe fetcher (FETCH_ALLOW_HOSTS from the environment), or from a file: URL, and each
// distinct URL is loaded once per run, not once per image.
import { execFile, execFileSync } from "node:child_process";
import { constants } from "node:fs";
import { open, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Row } from "../../src/cli/commands/edit.js";
import { startHttpServer, type TestServer } from "../fetch/servers.js";
import { describeColor, makeImage, near, pixelAt, readPixels } from "../helpers/images.js";
import { imgedit, scratch } from "./in-process.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const BLUE = [0, 0, 255];
const LIME = [0, 255, 0];
const RED = [255, 0, 0];

let dir: string;
let server: TestServer;
let allow: Record<string, string>;
let inputs: string[];
const url = (name: string) => `http://127.0.0.1:${server.port}/${name}`;
const fetched = (name: string) => server.requests.filter((r) => r.url === `/${name}`).length;

beforeAll(async () => {
  dir = await scratch("imgedit-watermark-");
  const blue = await makeImage({ width: 40, height: 40, color: "#0000ff" });
  const lime = await makeImage({ width: 40, height: 40, color: "#00ff00" });
  await writeFile(path.join(dir, "blue.png"), blue);
  await writeFile(path.join(dir, "notes.txt"), "not an image");
  const files: Record<string, Buffer> = { "/blue.png": blue, "/lime.png": lime };
  server = await startHttpServer((req, res) => {
    const body = files[req.url ?? ""];
    if (!body) {
      res.writeHead(404, "Not Found").end();
      return;
    }
    res.writeHead(200, { "content-type": "image/png", "content-length": body.length }).end(body);
  }, "127.0.0.1");
  allow = { FETCH_ALLOW_HOSTS: `127.0.0.1:${server.port}` };
  inputs = [];
  for (const [name, format] of [
    ["a.png", "png"],
    ["b.jpg", "jpeg"],
    ["c.webp", "webp"],
  ] as const) {
    inputs.push(path.join(dir, name));
    await writeFile(path.join(dir, name), await makeImage({ width: 100, height: 80, color: "#ff0000", format }));
  }
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  server.requests.length = 0;
});

/** `imgedit edit <inputs> --ops <plan> -o <fresh dir> -j 3 --json`, with the rows parsed. */
async function editAll(plan: unknown[], env: Record<string, string>) {
  const out = await scratch("imgedit-watermark-out-");
  const r = await imgedit(["edit", ...inputs, "--ops", JSON.stringify(plan), "-o", out, "-j", "3", "--json"], env);
  const rows = r.stdout ? (JSON.parse(r.stdout) as Row[]) : [];
  return { ...r, rows, out };
}

async function expectColour(file: string, x: number, y: number, colour: number[]) {
  const px = pixelAt(await readPixels(await readFile(file)), x, y);
  expect(near(px, colour, 40), `${path.basename(file)} at ${x},${y} is ${describeColor(px)}`).toBe(true);
}

describe("imgedit edit with a watermark", () => {
  it("fetches each distinct watermark URL once per run (not once per image) and draws it on every image", async () => {
    const plan = [
      { op: "resize", width: 80 },
      { op: "watermark", url: url("blue.png"), position: "bottom-right", opacity: 1, scale: 0.5 },
      { op: "watermark", url: url("lime.png"), position: "top-left", opacity: 1, scale: 0.25 },
      { op: "watermark", url: url("blue.png"), position: "top-right", opacity: 1, scale: 0.25 },
    ];
    const r = await editAll(plan, allow);
    expect(r.code, r.stderr).toBe(0);
    expect(r.rows.map((row) => row.status)).toEqual(["ok", "ok", "ok"]);
    expect(fetched("blue.png")).toBe(1);
    expect(fetched("lime.png")).toBe(1);
    for (const row of r.rows) {
      expect(row).toMatchObject({ width: 80, height: 64 });
      const out = row.output as string;
      await expectColour(out, 55, 40, BLUE); // bottom-right, half the width
      await expectColour(out, 8, 8, LIME); // top-left
      await expectColour(out, 70, 8, BLUE); // top-right
      await expectColour(out, 40, 4, RED); // between them: the image
    }
  });

  it("a loopback URL not in FETCH_ALLOW_HOSTS is refused before any request, naming the URL and the fix", async () => {
    const plan = [
      { op: "resize", width: 80 },
      { op: "watermark", url: url("blue.png") },
    ];
    const r = await editAll(plan, {});
    expect(r.code).toBe(1);
    expect(server.requests).toHaveLength(0);
    expect(r.rows).toHaveLength(3);
    for (const row of r.rows) {
      expect(row.status).toBe("failed");
      expect(row.error?.code).toBe("FETCH_BLOCKED");
      expect(row.error?.message).toBe(
        `operations[1] (watermark): cannot load ${url("blue.png")}: refused: 127.0.0.1 is a loopback address (127.0.0.0/8) (to fetch from it anyway, add 127.0.0.1:${server.port} to FETCH_ALLOW_HOSTS)`,
      );
    }
  });

  it("a watermark that cannot be fetched fails every image with one request, and the error names the URL", async () => {
    const plan = [{ op: "grayscale" }, { op: "resize", width: 80 }, { op: "watermark", url: url("missing.png") }];
    const r = await editAll(plan, allow);
    expect(r.code).toBe(1);
    expect(fetched("missing.png")).toBe(1);
    expect(r.rows.map((row) => row.error)).toEqual(
      Array(3).fill(
        expect.objectContaining({
          code: "FETCH_FAILED",
          message: `operations[2] (watermark): cannot load ${url("missing.png")}: the server answered HTTP 404 Not Found`,
        }),
      ),
    );
    expect(r.stderr).toContain(`cannot load ${url("missing.png")}`);
  });

  it("a local file works as a file: URL; a missing or non-image file is a clear error", async () => {
    const file = pathToFileURL(path.join(dir, "blue.png")).href;
    const ok = await editAll([{ op: "watermark", url: file, opacity: 1, scale: 0.5 }], {});
    expect(ok.code, ok.stderr).toBe(0);
    for (const row of ok.rows) await expectColour(row.output as string, 70, 55, BLUE);

    const missing = pathToFileURL(path.join(dir, "nope.png")).href;
    const gone = await editAll([{ op: "watermark", url: missing }], {});
    expect(gone.code).toBe(1);
    expect(gone.rows[0].error).toMatchObject({
      code: "NOT_FOUND",
      message: `operations[0] (watermark): cannot load ${missing}: no such file: ${path.join(dir, "nope.png")}`,
    });

    const text = pathToFileURL(path.join(dir, "notes.txt")).href;
    const notImage = await editAll([{ op: "watermark", url: text }], {});
    expect(notImage.rows[0].error?.code).toBe("UNSUPPORTED_FORMAT");
    expect(notImage.rows[0].error?.message).toContain(`cannot load ${text}: ${path.join(dir, "notes.txt")} is not`);
  });

  it("a FIFO given as a file: URL is refused at once (NOT_A_FILE's message), never waited on", async () => {
    const fifo = path.join(dir, "fifo.jpg");
    execFileSync("mkfifo", [fifo]);
    const href = pathToFileURL(fifo).href;
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<"stuck">((resolve) => {
      timer = setTimeout(() => resolve("stuck"), 5000);
    });
    try {
      const r = await Promise.race([editAll([{ op: "watermark", url: href }], {}), stuck]);
      expect(r, "the run waited for a writer on the FIFO").not.toBe("stuck");
      if (r === "stuck") return;
      expect(r.code).toBe(1);
      expect(r.rows[0].error?.message).toBe(
        `operations[0] (watermark): cannot load ${href}: ${fifo} is not a regular file`,
      );
    } finally {
      clearTimeout(timer);
      // A reader stuck in open() (without the fix) is let go by a writer that opens and closes.
      await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK).then(
        (h) => h.close(),
        () => {},
      );
      await rm(fifo, { force: true });
    }
  });

  it("a scheme the CLI cannot load says which ones it can", async () => {
    const r = await editAll([{ op: "watermark", url: "upload:abc123" }], allow);
    expect(r.code).toBe(1);
    expect(r.rows[0].error?.code).toBe("FETCH_BLOCKED");
    expect(r.rows[0].error?.message).toContain('cannot load upload:abc123: the scheme "upload" is not supported');
    expect(r.rows[0].error?.message).toContain("file:///");
  });

  it("a bad FETCH_ALLOW_HOSTS entry is a configuration error (exit 2), and nothing is fetched", async () => {
    const r = await editAll([{ op: "watermark", url: url("blue.png") }], { FETCH_ALLOW_HOSTS: "not a host" });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^imgedit edit: .*FETCH_ALLOW_HOSTS: allow-list entry "not a host" is not a host or host:port/,
    );
    expect(r.rows).toEqual([]);
    expect(server.requests).toHaveLength(0);
  });

  it("works from the command line as a real process, which exits once done", async () => {
    const out = path.join(await scratch("imgedit-watermark-cli-"), "out.png");
    const plan = [
      { op: "resize", width: 80 },
      { op: "watermark", url: url("blue.png"), opacity: 1, scale: 0.5 },
    ];
    const started = Date.now();
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        path.join(ROOT, "node_modules/.bin/tsx"),
        [path.join(ROOT, "src/cli/main.ts"), "edit", inputs[0], "--ops", JSON.stringify(plan), "-o", out],
        { cwd: ROOT, env: { ...process.env, ...allow }, timeout: 60_000 },
        (err, _stdout, stderr) => resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stderr }),
      );
    });
    expect(r.code, r.stderr).toBe(0);
    expect(fetched("blue.png")).toBe(1);
    await expectColour(out, 55, 40, BLUE);
    // The process ends by itself: nothing (a timer, a pooled connection) holds it open.
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
