// SVG input: refused by default; when allowed, rendered without ever reaching outside the file:
// no http(s) or file:// references (direct, through <use>, <feImage>, CSS, XInclude, or a data:
// image that itself points outside), no script, and entity expansion refused or bounded. A loopback
// server watches for requests; a red PNG on disk and on the server shows up in the pixels if loaded.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImageEditError } from "../../src/core/errors.js";
import { DEFAULT_LIMITS, type Limits } from "../../src/core/limits.js";
import { probeImage, processImage } from "../../src/core/pipeline.js";
import { validatePlan } from "../../src/core/plan.js";
import { startHttpServer, type TestServer } from "../fetch/servers.js";
import { editToCompletion, type Json, startImageSource, startService, type TestService } from "../http/harness.js";
import { FuzzChild } from "./fuzz/harness.js";

const MB = 1024 * 1024;
const OFF: Limits = { ...DEFAULT_LIMITS, processTimeoutMs: 10_000 };
const ON: Limits = { ...OFF, allowSvg: true };

let server: TestServer;
let dir: string;
let redPng: Buffer;
let redFile: string;
let base: string;

beforeAll(async () => {
  redPng = await sharp({ create: { width: 100, height: 100, channels: 3, background: "#ff0000" } })
    .png()
    .toBuffer();
  dir = mkdtempSync(join(tmpdir(), "imgedit-svg-"));
  redFile = join(dir, "red.png");
  writeFileSync(redFile, redPng);
  writeFileSync(
    join(dir, "red.svg"),
    `<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><rect id="r" width="100" height="100" fill="#f00"/></svg>`,
  );
  writeFileSync(join(dir, "red.css"), "rect { fill: #f00 }");
  writeFileSync(join(dir, "text.txt"), "#########################");
  // Answers everything with something renderable (red), so a fetch would show in the pixels.
  server = await startHttpServer((req, res) => {
    const url = req.url ?? "";
    if (url.endsWith(".svg"))
      res
        .writeHead(200, { "content-type": "image/svg+xml" })
        .end(
          `<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><rect id="r" width="100" height="100" fill="#f00"/></svg>`,
        );
    else if (url.endsWith(".css")) res.writeHead(200, { "content-type": "text/css" }).end("rect { fill: #f00 }");
    else if (url.endsWith(".txt"))
      res.writeHead(200, { "content-type": "text/plain" }).end("#########################");
    else res.writeHead(200, { "content-type": "image/png" }).end(redPng);
  }, "127.0.0.1");
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A 100x100 white SVG with `body` drawn over it. */
const svg = (body: string, prolog = "") =>
  Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?>${prolog}\n<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xi="http://www.w3.org/2001/XInclude" width="100" height="100"><rect width="100" height="100" fill="#fff"/>${body}</svg>`,
  );

const PLAN = () => validatePlan([{ op: "format", format: "png" }], ON);

/** Pixels that are red (an external image or style got in) or dark (included text got drawn). */
async function foreignPixels(png: Buffer): Promise<{ red: number; dark: number; total: number }> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let red = 0;
  let dark = 0;
  for (let i = 0; i < data.length; i += info.channels) {
    const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
    if (r > 180 && g < 90 && b < 90) red++;
    if (r < 128 && g < 128 && b < 128) dark++;
  }
  return { red, dark, total: info.width * info.height };
}

async function expectCode(p: Promise<unknown>, codes: string[]) {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, "should have been refused").toBeInstanceOf(ImageEditError);
  expect(codes).toContain((e as ImageEditError).code);
  return e as ImageEditError;
}

describe("SVG refused by default", () => {
  const hostile = () => svg(`<image href="${base}/default-off.png" width="100" height="100"/>`);

  it("probeImage refuses SVG with UNSUPPORTED_FORMAT when allowSvg is false", async () => {
    const e = await expectCode(probeImage(hostile(), OFF), ["UNSUPPORTED_FORMAT"]);
    expect(e.message).toMatch(/SVG/);
  });

  it("processImage refuses SVG with UNSUPPORTED_FORMAT when allowSvg is false, fetching nothing", async () => {
    const before = server.connections;
    await expectCode(processImage(hostile(), validatePlan([{ op: "resize", width: 10 }], OFF), { limits: OFF }), [
      "UNSUPPORTED_FORMAT",
    ]);
    expect(server.connections).toBe(before);
  });

  it("the same SVG renders when allowSvg is true (the refusal above is the setting, not the file)", async () => {
    const r = await processImage(svg(""), PLAN(), { limits: ON });
    expect([r.width, r.height, r.format]).toEqual([100, 100, "png"]);
  });
});

describe("SVG allowed: no external reference is fetched, no script runs", () => {
  const external = (): [string, Buffer][] => [
    ["<image href> http", svg(`<image href="${base}/image.png" width="100" height="100"/>`)],
    ["<image xlink:href> http", svg(`<image xlink:href="${base}/xlink.png" width="100" height="100"/>`)],
    [
      "<image href> http on localhost name",
      svg(`<image href="http://localhost:${server.port}/localhost.png" width="100" height="100"/>`),
    ],
    ["<image href> file://", svg(`<image href="file://${redFile}" width="100" height="100"/>`)],
    ["<image href> bare path", svg(`<image href="${redFile}" width="100" height="100"/>`)],
    ["<image href> file:///etc/passwd", svg(`<image href="file:///etc/passwd" width="100" height="100"/>`)],
    ["<use> http", svg(`<use href="${base}/use.svg#r"/>`)],
    ["<use> file://", svg(`<use href="file://${join(dir, "red.svg")}#r"/>`)],
    [
      "<feImage> http",
      svg(
        `<filter id="f"><feImage href="${base}/feimage.png" width="100" height="100"/></filter><rect width="100" height="100" filter="url(#f)"/>`,
      ),
    ],
    ["fill url() to http", svg(`<rect width="100" height="100" fill="url(${base}/paint.svg#r)"/>`)],
    [
      "<style> @import http",
      svg(`<style>@import url("${base}/import.css");</style><rect width="100" height="100" fill="#fff"/>`),
    ],
    [
      "<style> @import file://",
      svg(`<style>@import url("file://${join(dir, "red.css")}");</style><rect width="100" height="100" fill="#fff"/>`),
    ],
    [
      "xml-stylesheet http",
      svg(`<rect width="100" height="100" fill="#fff"/>`, `<?xml-stylesheet type="text/css" href="${base}/pi.css"?>`),
    ],
    [
      "<image> data:svg chained to http",
      svg(
        `<image width="100" height="100" href="data:image/svg+xml;base64,${Buffer.from(
          `<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><image href="${base}/chained.png" width="100" height="100"/></svg>`,
        ).toString("base64")}"/>`,
      ),
    ],
    [
      "<image> data:svg chained to file://",
      svg(
        `<image width="100" height="100" href="data:image/svg+xml;base64,${Buffer.from(
          `<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><image href="file://${redFile}" width="100" height="100"/></svg>`,
        ).toString("base64")}"/>`,
      ),
    ],
    [
      "XInclude http text",
      svg(`<text x="0" y="50" font-size="40" fill="#000"><xi:include href="${base}/include.txt" parse="text"/></text>`),
    ],
    [
      "XInclude file:///etc/passwd text",
      svg(`<text x="0" y="50" font-size="40" fill="#000"><xi:include href="file:///etc/passwd" parse="text"/></text>`),
    ],
    [
      "XInclude file text",
      svg(
        `<text x="0" y="50" font-size="40" fill="#000"><xi:include href="file://${join(dir, "text.txt")}" parse="text"/></text>`,
      ),
    ],
    ["XInclude http xml", svg(`<xi:include href="${base}/xinclude.svg"/>`)],
    [
      "external entity (XXE) http",
      svg(
        `<text x="0" y="50" font-size="40" fill="#000">&ext;</text>`,
        `<!DOCTYPE svg [<!ENTITY ext SYSTEM "${base}/xxe.txt">]>`,
      ),
    ],
    [
      "external entity (XXE) file:///etc/passwd",
      svg(
        `<text x="0" y="50" font-size="40" fill="#000">&ext;</text>`,
        `<!DOCTYPE svg [<!ENTITY ext SYSTEM "file:///etc/passwd">]>`,
      ),
    ],
    ["external DTD http", svg("", `<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "${base}/svg11.dtd">`)],
    [
      "<script> and onload",
      svg(
        `<script type="text/javascript">fetch("${base}/script.png");document.documentElement.setAttribute("fill","red")</script><rect width="100" height="100" fill="#fff" onload="fetch('${base}/onload.png')"/>`,
      ),
    ],
    [
      "<foreignObject> iframe",
      svg(
        `<foreignObject width="100" height="100"><iframe xmlns="http://www.w3.org/1999/xhtml" src="${base}/iframe.png"/></foreignObject>`,
      ),
    ],
  ];

  it("nothing reaches the loopback server or the disk, whatever the reference", async () => {
    const cases = external();
    const leaks: string[] = [];
    for (const [name, input] of cases) {
      const before = server.connections;
      let outcome: string;
      try {
        const r = await processImage(input, PLAN(), { limits: ON });
        const px = await foreignPixels(r.data);
        outcome = `rendered ${r.width}x${r.height}`;
        if (px.red > 0) leaks.push(`${name}: ${px.red} red pixels (external image or style loaded)`);
        if (px.dark > 0) leaks.push(`${name}: ${px.dark} dark pixels (included text drawn)`);
      } catch (e) {
        // Refusing the file is fine too, as long as the refusal is typed.
        if (!(e instanceof ImageEditError)) leaks.push(`${name}: untyped error ${String(e)}`);
        outcome = `refused ${(e as ImageEditError).code}`;
      }
      if (server.connections !== before) leaks.push(`${name}: the loopback server got a connection (${outcome})`);
    }
    expect(server.requests.map((r) => r.url)).toEqual([]);
    expect(leaks).toEqual([]);
  });

  it("a same-document reference still works (the checks above can see a rendered image)", async () => {
    // Proves foreignPixels would catch red: an inline red rect drawn through <use>.
    const r = await processImage(
      svg(`<defs><rect id="r" width="50" height="100" fill="#f00"/></defs><use href="#r"/>`),
      PLAN(),
      { limits: ON },
    );
    const px = await foreignPixels(r.data);
    expect(px.red).toBe(5000);
    const t = await processImage(svg(`<text x="0" y="50" font-size="40" fill="#000">####</text>`), PLAN(), {
      limits: ON,
    });
    expect((await foreignPixels(t.data)).dark).toBeGreaterThan(100);
  });
});

describe("SVG allowed: entity expansion is refused or bounded", () => {
  let child: FuzzChild;
  beforeAll(() => {
    child = new FuzzChild(20_000, () => {});
  });
  afterAll(async () => {
    await child?.close();
  });

  const laughs = (levels: number, fanout: number) => {
    const defs = [`<!ENTITY l0 "lollollollollollollollollollol">`];
    for (let i = 1; i <= levels; i++) defs.push(`<!ENTITY l${i} "${`&l${i - 1};`.repeat(fanout)}">`);
    return svg(
      `<text x="0" y="50" font-size="10" fill="#000">&l${levels};</text>`,
      `<!DOCTYPE svg [${defs.join("")}]>`,
    );
  };

  it.each([
    ["billion laughs (10 levels x 10)", laughs(10, 10)],
    [
      "quadratic blow-up (one 200 kB entity used 2000 times)",
      (() => {
        const big = "A".repeat(200_000);
        return svg(
          `<text x="0" y="50" font-size="10" fill="#000">${"&a;".repeat(2000)}</text>`,
          `<!DOCTYPE svg [<!ENTITY a "${big}">]>`,
        );
      })(),
    ],
    ["deep nesting (100k groups)", svg(`${"<g>".repeat(100_000)}${"</g>".repeat(100_000)}`)],
    [
      "huge canvas (width 1e9)",
      Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="1000000000" height="1000000000"/>`),
    ],
  ])("%s: a typed refusal or a bounded render, in bounded memory", async (_name, input) => {
    for (const allowSvg of [false, true]) {
      const out = await child.run({
        id: 1,
        data: input,
        outputFormat: "png",
        width: 32,
        processTimeoutMs: 5000,
        allowSvg,
      });
      expect(["ok", "typed"], JSON.stringify(out)).toContain(out.kind);
      // Refused by its bytes when SVG is off, before any parser runs.
      if (!allowSvg) expect((out as { code?: string }).code).toBe("UNSUPPORTED_FORMAT");
      expect((out as { rss: number }).rss).toBeLessThan(1024 * MB);
    }
  });

  // readHeader (src/core/probe.ts) sniffs the bytes first: with SVG off no parser ever sees them.
  it("with SVG off, an SVG bomb is refused as SVG (UNSUPPORTED_FORMAT) before it is parsed", async () => {
    const out = await child.run({
      id: 2,
      data: laughs(10, 10),
      outputFormat: "png",
      width: 32,
      processTimeoutMs: 5000,
      allowSvg: false,
    });
    expect(out).toMatchObject({ kind: "typed", code: "UNSUPPORTED_FORMAT" });
  });
});

describe("SVG through the service", () => {
  const hostile = () =>
    svg(
      `<image href="${base}/service.png" width="100" height="100"/><text x="0" y="50"><xi:include href="file:///etc/passwd" parse="text"/></text>`,
    );

  const session = (svc: TestService, url: string): Promise<Json> =>
    editToCompletion(svc, [{ id: "s", url }], [{ op: "format", format: "png" }]);

  it("ALLOW_SVG off (default): an SVG upload is 415 and an SVG URL fails UNSUPPORTED_FORMAT; nothing fetched", async () => {
    const src = await startImageSource();
    const svc = await startService({ FETCH_ALLOW_HOSTS: `127.0.0.1:${src.port}` });
    try {
      src.set("/x.svg", hostile(), "image/svg+xml");
      const before = server.connections;
      const up = await svc.api("/uploads?name=x.svg", {
        method: "POST",
        body: new Uint8Array(hostile()),
        headers: { "content-type": "image/svg+xml" },
      });
      expect(up.status).toBe(415);
      expect(((await up.json()) as Json).error.code).toBe("UNSUPPORTED_FORMAT");
      const s = await session(svc, `${src.base}/x.svg`);
      expect(s.images[0]).toMatchObject({ status: "failed", error: { code: "UNSUPPORTED_FORMAT" } });
      expect(server.connections).toBe(before);
    } finally {
      await svc.close();
      await src.close();
    }
  });

  it("ALLOW_SVG on: an uploaded hostile SVG renders in the worker pool without reaching out", async () => {
    const svc = await startService({ ALLOW_SVG: "true" });
    try {
      const before = server.connections;
      const up = await svc.api("/uploads?name=x.svg", {
        method: "POST",
        body: new Uint8Array(hostile()),
        headers: { "content-type": "image/svg+xml" },
      });
      expect(up.status).toBe(201);
      const s = await session(svc, ((await up.json()) as Json).url);
      expect(s.images[0].status).toBe("done");
      const file = await fetch(new URL(s.images[0].result.url, svc.base));
      const px = await foreignPixels(Buffer.from(await file.arrayBuffer()));
      expect(px).toMatchObject({ red: 0, dark: 0, total: 10_000 });
      expect(server.connections).toBe(before);
    } finally {
      await svc.close();
    }
  });
});

describe("SVG allowed: raster images embedded as data: URLs", () => {
  // A 560 kB SVG (under MAX_IMAGE_SIZE, a 100x100 canvas under every pixel limit) embedding a
  // 12000x12000 PNG as a data: URL: librsvg decodes all 144 M pixels. Its own child, so its peak
  // memory is measured alone.
  let child: FuzzChild;
  let bomb: Buffer;
  let png: Buffer;
  let nextId = 1;
  beforeAll(async () => {
    child = new FuzzChild(30_000, () => {});
    png = await sharp({
      create: { width: 12_000, height: 12_000, channels: 3, background: "#000" },
      limitInputPixels: false,
    })
      .greyscale()
      .png({ compressionLevel: 9 })
      .toBuffer();
    bomb = Buffer.from(
      `<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><image width="100" height="100" href="data:image/png;base64,${png.toString("base64")}"/></svg>`,
    );
    expect(bomb.length).toBeLessThan(DEFAULT_LIMITS.maxImageBytes);
  }, 60_000);
  afterAll(async () => {
    await child?.close();
  });

  // The limits were once checked against the SVG canvas (100x100) only: the child's peak RSS reached
  // ~1.7 GB for this 560 kB file. readHeader now probes every data: image's header first. The scan
  // once read "data:" only as "data:<type without whitespace>,": librsvg decodes the same bomb
  // written "data:image/png; base64," (URL parsers allow the space), and it went unprobed.
  it.each([
    ["as the bomb comes", () => bomb],
    [
      "with a space in its data: URL header",
      () =>
        Buffer.from(
          `<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><image width="100" height="100" href="data:image/png; base64,${png.toString("base64")}"/></svg>`,
        ),
    ],
  ])(
    "a decompression bomb inside an SVG (%s) is refused in bounded memory",
    async (_how, svg) => {
      const out = await child.run({
        id: nextId++,
        data: svg(),
        outputFormat: "png",
        width: 32,
        processTimeoutMs: 20_000,
        allowSvg: true,
      });
      expect(out, JSON.stringify(out)).toMatchObject({ kind: "typed", code: "DIMENSIONS_TOO_LARGE" });
      expect((out as { rss: number }).rss).toBeLessThan(1024 * MB);
    },
    60_000,
  );
});
