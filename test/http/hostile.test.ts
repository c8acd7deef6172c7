// Hostile and malformed requests, each with its expected status and error code; plus auth modes,
// rate limits, operations endpoints (health, metrics, OpenAPI, request ids) and the page fallback.
import { createHmac } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImageEditError } from "../../src/core/errors.js";
import { createAuth } from "../../src/http/auth.js";
import { makeImage } from "../helpers/images.js";
import { type ImageSource, type Json, startImageSource, startService, type TestService, tempDir } from "./harness.js";

let src: ImageSource;
let svc: TestService;

const OPS = { type: "operations", operations: [{ op: "resize", width: 10 }] };

beforeAll(async () => {
  src = await startImageSource();
  src.set("/a.png", await makeImage({ width: 40, height: 30 }));
  svc = await startService({ FETCH_ALLOW_HOSTS: `127.0.0.1:${src.port}`, MAX_IMAGE_SIZE: "300000" });
});
afterAll(async () => {
  await svc?.close();
  await src?.close();
});

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");

async function expectError(res: Response, status: number, code: string, field?: string) {
  expect(res.status, `status for ${code}`).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/application\/json/);
  const body = (await res.json()) as Json;
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
  if (field !== undefined) expect(body.error.field).toBe(field);
  return body.error as { code: string; message: string; field?: string; details?: Record<string, unknown> };
}

describe("bad bodies", () => {
  const post = (body: string, headers: Record<string, string> = {}) =>
    svc.api("/image-edit", { method: "POST", body, headers: { "content-type": "application/json", ...headers } });
  const good = (extra: Record<string, unknown> = {}) =>
    JSON.stringify({ images: [{ url: "http://127.0.0.1:9/a.png" }], operation: OPS, ...extra });

  it.each([
    ["malformed JSON", "{images: [", 400, "INVALID_INPUT", undefined],
    ["empty body", "", 400, "INVALID_INPUT", undefined],
    ["no images", JSON.stringify({ images: [], operation: OPS }), 400, "INVALID_INPUT", "images"],
    [
      "image without url",
      JSON.stringify({ images: [{ id: "x" }], operation: OPS }),
      400,
      "INVALID_INPUT",
      "images[0].url",
    ],
    [
      "bad image id",
      JSON.stringify({ images: [{ id: "../x", url: "http://a/b" }], operation: OPS }),
      400,
      "INVALID_INPUT",
      "images[0].id",
    ],
    [
      "duplicate ids",
      JSON.stringify({
        images: [
          { id: "x", url: "http://a/b" },
          { id: "x", url: "http://a/c" },
        ],
        operation: OPS,
      }),
      400,
      "INVALID_INPUT",
      "images[1].id",
    ],
    [
      "not a URL",
      JSON.stringify({ images: [{ url: "not a url" }], operation: OPS }),
      400,
      "INVALID_INPUT",
      "images[0].url",
    ],
    [
      "a javascript: URL",
      JSON.stringify({ images: [{ url: "javascript:alert(1)" }], operation: OPS }),
      400,
      "INVALID_INPUT",
      "images[0].url",
    ],
    [
      "a file: URL",
      JSON.stringify({ images: [{ url: "file:///etc/passwd" }], operation: OPS }),
      400,
      "INVALID_INPUT",
      "images[0].url",
    ],
    [
      "a command longer than the grammar takes",
      JSON.stringify({ images: [{ url: "http://a/b" }], operation: { type: "command", command: "blur ".repeat(201) } }),
      400,
      "INVALID_INPUT",
      "operation.command",
    ],
    [
      "forged upload id",
      JSON.stringify({ images: [{ url: "upload:../../etc" }], operation: OPS }),
      400,
      "INVALID_INPUT",
      "images[0].url",
    ],
    [
      "unknown operation type",
      JSON.stringify({ images: [{ url: "http://a/b" }], operation: { type: "magic" } }),
      400,
      "INVALID_INPUT",
      "operation.type",
    ],
    [
      "unknown operation",
      JSON.stringify({
        images: [{ url: "http://a/b" }],
        operation: { type: "operations", operations: [{ op: "explode" }] },
      }),
      400,
      "INVALID_OPERATION",
      "operation.operations[0].op",
    ],
    [
      "bad operation parameter",
      JSON.stringify({
        images: [{ url: "http://a/b" }],
        operation: { type: "operations", operations: [{ op: "resize", width: -5 }] },
      }),
      400,
      "INVALID_OPERATION",
      undefined,
    ],
    ["bad option", good({ options: { quality: 500 } }), 400, "INVALID_INPUT", "options.quality"],
    ["unknown field", good({ extra: 1 }), 400, "INVALID_INPUT", undefined],
  ])("%s", async (_name, body, status, code, field) => {
    await expectError(await post(body), status, code, field);
  });

  it("a command that makes too many steps names the command, not a plan the client never sent", async () => {
    const command = Array.from({ length: 16 }, () => "rotate 90 then blur").join(" then ");
    const err = await expectError(
      await post(JSON.stringify({ images: [{ url: "http://a/b" }], operation: { type: "command", command } })),
      400,
      "TOO_MANY_OPERATIONS",
      "operation.command",
    );
    expect(err.details).toMatchObject({ count: 32, limit: 30 });
  });

  it("names every issue of a plan by its full path, as the error's field does", async () => {
    const err = await expectError(
      await post(
        JSON.stringify({
          images: [{ url: "http://a/b" }],
          operation: { type: "operations", operations: [{ op: "grayscale" }, { op: "blur", radius: 3 }] },
        }),
      ),
      400,
      "INVALID_OPERATION",
      "operation.operations[1].radius",
    );
    const issues = (err.details as { issues: { field: string }[] }).issues;
    expect(issues.map((i) => i.field)).toEqual(["operation.operations[1].radius"]);
    expect(err.message).toMatch(/^operation\.operations\[1\]\.radius: blur has no parameter "radius"/);
  });

  it("51 images -> 400 TOO_MANY_IMAGES", async () => {
    const images = Array.from({ length: 51 }, (_, i) => ({ url: `${src.base}/a.png?${i}` }));
    const err = await expectError(
      await post(JSON.stringify({ images, operation: OPS })),
      400,
      "TOO_MANY_IMAGES",
      "images",
    );
    expect(err.details).toMatchObject({ count: 51, limit: 50 });
  });

  it("too many operations: the message reads as the plan's, not as a field's", async () => {
    const operations = Array.from({ length: 101 }, () => ({ op: "grayscale" }));
    const err = await expectError(
      await post(JSON.stringify({ images: [{ url: "http://a/b" }], operation: { type: "operations", operations } })),
      400,
      "TOO_MANY_OPERATIONS",
      "operation.operations",
    );
    expect(err.message).toMatch(/^the plan has 101 operations; the limit is \d+$/);
  });

  it("names lose control characters; a URL's name is its last segment", async () => {
    const res = await post(
      JSON.stringify({
        images: [
          { id: "n1", url: `${src.base}/a.png`, name: "holiday\u0000\r\n photo\u001b[31m.png" },
          { id: "n2", url: `${src.base}/dir/b%0A%09c.png` },
        ],
        operation: OPS,
      }),
    );
    expect(res.status).toBe(202);
    const names = ((await res.json()) as Json).images.map((i: { name: string }) => i.name);
    expect(names).toEqual(["holiday photo[31m.png", "bc.png"]);
    await svc.server.idle();
  });

  it("a command it cannot understand -> 422 with the unknown words and suggestions", async () => {
    const res = await post(
      JSON.stringify({
        images: [{ url: `${src.base}/a.png` }],
        operation: { type: "command", command: "make it blorp" },
      }),
    );
    const err = await expectError(res, 422, "COMMAND_NOT_UNDERSTOOD", "operation.command");
    expect(((err.details?.unknown ?? []) as { word: string }[]).map((u) => u.word)).toContain("blorp");
    expect(Array.isArray(err.details?.suggestions)).toBe(true);
  });

  it("a body over 1 MB -> 400 before it is parsed, declared or streamed", async () => {
    const declared = await expectError(await post(`{"images":"${"x".repeat(1_100_000)}"}`), 400, "INVALID_INPUT");
    expect(declared.message).toMatch(/larger than 1048576 bytes/);
    // chunked, no Content-Length: counted while it arrives (64 KB chunks, 1.25 MB in all)
    const chunk = new TextEncoder().encode(`{"images":"${"x".repeat(65_536 - 11)}`);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 20) controller.enqueue(sent === 1 ? chunk : chunk.subarray(11));
        else controller.close();
      },
    });
    // the fetch resolving at all means an answer came, not a reset connection
    const streamed = await svc.api("/image-edit", {
      method: "POST",
      body,
      headers: { "content-type": "application/json" },
      duplex: "half",
    } as RequestInit);
    expect(streamed.headers.get("content-length")).not.toBeNull(); // a whole JSON answer, not a stream
    const err = await expectError(streamed, 400, "INVALID_INPUT");
    expect(err.message).toMatch(/larger than 1048576 bytes/);
    // the same connection pool still serves the next request
    await expectError(await post("{images: ["), 400, "INVALID_INPUT");
  });

  it("a body nested deeper than any request (5000 arrays in 10 KB) -> 400 naming the depth, not a 500", async () => {
    const deep = `${"[".repeat(5000)}800${"]".repeat(5000)}`;
    const body = `{"images":[{"url":"http://127.0.0.1:9/a.png"}],"operation":{"type":"operations","operations":[{"op":"resize","width":${deep}}]}}`;
    const err = await expectError(await post(body), 400, "INVALID_INPUT");
    expect(err.message).toBe("the request body nests 5004 levels deep; the limit is 64");
    // Brackets inside strings are text, not nesting: a command may say "[[[".
    const quoted = await post(good({ images: [{ url: "http://127.0.0.1:9/a.png", name: "[".repeat(200) }] }));
    expect(quoted.status).not.toBe(400);
    // /auth/local reads its body the same way.
    const signIn = await fetch(`${svc.base}/auth/local`, { method: "POST", body: deep });
    expect(signIn.status).toBe(400);
    expect(((await signIn.json()) as Json).error.message).toMatch(/nests 5000 levels deep/);
  });

  it("parse: dry run plans a command or names what it did not understand", async () => {
    const ok = await svc.api("/image-edit/parse", {
      method: "POST",
      body: JSON.stringify({ command: "resize to 200px wide and convert to webp" }),
    });
    expect(ok.status).toBe(200);
    const plan = (await ok.json()) as Json;
    expect(plan.plan.map((o: { op: string }) => o.op)).toEqual(["resize", "format"]);
    expect(plan.steps).toHaveLength(2);
    const bad = await svc.api("/image-edit/parse", { method: "POST", body: JSON.stringify({ command: "blorp" }) });
    await expectError(bad, 422, "COMMAND_NOT_UNDERSTOOD");
    await expectError(
      await svc.api("/image-edit/parse", { method: "POST", body: JSON.stringify({ command: "" }) }),
      400,
      "INVALID_INPUT",
      "command",
    );
  });
});

describe("tokens", () => {
  const withToken = (token: string | undefined) =>
    fetch(`${svc.base}/image-edit/sessions`, {
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    });

  it("missing -> 401", async () => {
    const res = await withToken(undefined);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    await expectError(res, 401, "UNAUTHORIZED");
    await expectError(
      await fetch(`${svc.base}/image-edit/sessions`, { headers: { authorization: "Basic abc" } }),
      401,
      "UNAUTHORIZED",
    );
  });

  it("expired -> 401", async () => {
    const err = await expectError(await withToken(await svc.server.token("alice", -60)), 401, "UNAUTHORIZED");
    expect(err.message).toMatch(/expired/);
  });

  it("forged (another secret) -> 401", async () => {
    const other = createAuth({ config: {}, secret: new TextEncoder().encode("not the server's secret") } as never);
    await expectError(await withToken(await other.mint("alice")), 401, "UNAUTHORIZED");
  });

  it("alg none -> 401", async () => {
    const now = Math.floor(Date.now() / 1000);
    const none = `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub: "alice", iss: "imgedit-local", aud: "imgedit", exp: now + 600 })}.`;
    await expectError(await withToken(none), 401, "UNAUTHORIZED");
  });

  it("tampered payload -> 401", async () => {
    const [h, , s] = (await svc.token("alice")).split(".");
    const now = Math.floor(Date.now() / 1000);
    const forged = `${h}.${b64({ sub: "admin", iss: "imgedit-local", aud: "imgedit", exp: now + 600 })}.${s}`;
    await expectError(await withToken(forged), 401, "UNAUTHORIZED");
  });

  it("garbage -> 401", async () => {
    await expectError(await withToken("not-a-jwt"), 401, "UNAUTHORIZED");
  });

  it("a stream token is not a login token", async () => {
    const res = await svc.api("/image-edit", {
      method: "POST",
      body: JSON.stringify({ images: [{ url: `${src.base}/a.png` }], operation: OPS }),
    });
    const { streamToken } = (await res.json()) as Json;
    await expectError(await withToken(streamToken), 401, "UNAUTHORIZED");
  });

  it("local sign-in and auth config", async () => {
    expect((await (await fetch(`${svc.base}/auth/config`)).json()) as Json).toMatchObject({ localSignIn: true });
    const res = await fetch(`${svc.base}/auth/local`, { method: "POST", body: JSON.stringify({ user: "carol" }) });
    expect(res.status).toBe(200);
    const { token, user } = (await res.json()) as Json;
    expect(user).toBe("carol");
    expect((await withToken(token)).status).toBe(200);
    const bad = await fetch(`${svc.base}/auth/local`, { method: "POST", body: JSON.stringify({ user: "../x" }) });
    await expectError(bad, 400, "INVALID_INPUT", "user");
  });

  it("local sign-in takes the names `imgedit token --user` takes (1-128 of letters, digits, ._@|:+=-), and its tokens work", async () => {
    const signIn = (user: string) =>
      fetch(`${svc.base}/auth/local`, { method: "POST", body: JSON.stringify({ user }) });
    for (const user of ["team|ci:build+1=ok", "carol@example.com", `c${"x".repeat(127)}`]) {
      const res = await signIn(user);
      expect(res.status, user).toBe(200);
      const body = (await res.json()) as Json;
      expect(body.user).toBe(user);
      expect((await withToken(body.token)).status, user).toBe(200);
    }
    for (const user of [`c${"x".repeat(128)}`, "-x", "a/b", "a b"]) {
      const err = await expectError(await signIn(user), 400, "INVALID_INPUT", "user");
      expect(err.message).toMatch(/1-128 letters, digits and \._@\|:\+=- starting with a letter or digit/);
    }
  });
});

describe("uploads", () => {
  const upload = (body: Uint8Array, type = "application/octet-stream") =>
    svc.api("/uploads", { method: "POST", body, headers: { "content-type": type } });

  it("wrong magic bytes -> 415 UNSUPPORTED_FORMAT", async () => {
    await expectError(
      await upload(new TextEncoder().encode("GIF? no: just text pretending"), "image/png"),
      415,
      "UNSUPPORTED_FORMAT",
    );
    const form = new FormData();
    form.append("file", new Blob([new TextEncoder().encode("%PDF-1.7 not an image")], { type: "image/jpeg" }), "x.jpg");
    await expectError(await svc.api("/uploads", { method: "POST", body: form }), 415, "UNSUPPORTED_FORMAT");
  });

  it("oversized -> 413 IMAGE_TOO_LARGE (declared or streamed)", async () => {
    const big = await sharp({
      create: {
        width: 600,
        height: 600,
        channels: 3,
        background: "#000",
        noise: { type: "gaussian", mean: 128, sigma: 60 },
      },
    })
      .png({ compressionLevel: 0 })
      .toBuffer();
    expect(big.length).toBeGreaterThan(300_000);
    await expectError(await upload(new Uint8Array(big)), 413, "IMAGE_TOO_LARGE");
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(big)]), "big.png");
    await expectError(await svc.api("/uploads", { method: "POST", body: form }), 413, "IMAGE_TOO_LARGE");
  });

  it("pixel bomb (12000x100 header) -> refused from its header", async () => {
    const bomb = await sharp({ create: { width: 12000, height: 100, channels: 3, background: "#000" } })
      .png()
      .toBuffer();
    const res = await upload(new Uint8Array(bomb));
    expect(res.status).toBe(422);
    expect(["DIMENSIONS_TOO_LARGE", "PIXEL_LIMIT"]).toContain(((await res.json()) as Json).error.code);
  });

  it("multipart cut before its closing boundary -> 400, not an internal error", async () => {
    const png = await makeImage({ width: 10, height: 10 });
    for (const payload of [png, Buffer.from("hello")]) {
      const body = Buffer.concat([
        Buffer.from('--XX\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'),
        payload,
      ]);
      const res = await svc.api("/uploads", {
        method: "POST",
        body: new Uint8Array(body),
        headers: { "content-type": "multipart/form-data; boundary=XX" },
      });
      const err = await expectError(res, 400, "INVALID_INPUT", "file");
      expect(err.message).toMatch(/multipart body: Unexpected end of form/);
    }
  });

  it("multipart without a file field -> 400", async () => {
    const form = new FormData();
    form.append("other", "x");
    await expectError(await svc.api("/uploads", { method: "POST", body: form }), 400, "INVALID_INPUT", "file");
  });
});

describe("operations endpoints", () => {
  it("healthz, request ids, metrics, unknown routes", async () => {
    const h = await fetch(`${svc.base}/healthz`, { headers: { "x-request-id": "trace-abc.123" } });
    expect(h.status).toBe(200);
    expect(h.headers.get("x-request-id")).toBe("trace-abc.123");
    expect(await h.json()).toMatchObject({ status: "ok", mode: "local" });
    const bad = await fetch(`${svc.base}/healthz`, { headers: { "x-request-id": "bad id\twith tab" } });
    expect(bad.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const m = await fetch(`${svc.base}/metrics`);
    expect(m.status).toBe(200);
    const text = await m.text();
    for (const name of [
      "imgedit_http_requests_total",
      "imgedit_http_request_duration_seconds_bucket",
      "imgedit_queue_depth",
      "imgedit_process_cpu_seconds_total",
    ])
      expect(text).toContain(name);
    expect(text).toMatch(/imgedit_http_requests_total\{method="GET",route="\/healthz",status="200"\} \d+/);
    await expectError(await fetch(`${svc.base}/nope`), 404, "NOT_FOUND");
  });

  it("every kind of answer carries the request id: JSON, error, progress stream, file download", async () => {
    const id = (res: Response) => res.headers.get("x-request-id");
    const uuid = /^[0-9a-f-]{36}$/;
    const posted = await svc.api("/image-edit", {
      method: "POST",
      headers: { "x-request-id": "edit-1" },
      body: JSON.stringify({ images: [{ id: "a", url: `${src.base}/a.png` }], operation: OPS }),
    });
    expect(posted.status).toBe(202);
    expect(id(posted)).toBe("edit-1");
    const started = (await posted.json()) as Json;
    const refused = await svc.api("/image-edit", { method: "POST", body: "{", user: null });
    expect(refused.status).toBe(401);
    expect(id(refused)).toMatch(uuid);
    // the stream is a Response the handler builds itself (not c.json)
    const stream = await fetch(svc.base + started.progressUrl, { headers: { "x-request-id": "stream-1" } });
    expect(stream.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(id(stream)).toBe("stream-1");
    const text = await stream.text();
    expect(text).toContain("event: complete");
    const image = JSON.parse(/event: image\ndata: (.*)\n/.exec(text)?.[1] ?? "{}") as { url: string };
    const file = await fetch(image.url);
    expect(file.status).toBe(200);
    expect(id(file)).toMatch(uuid);
    const png = await sharp(Buffer.from(await file.arrayBuffer())).metadata();
    expect([png.width, png.height]).toEqual([10, 8]);
  });

  it("a known path with another method -> 405 naming the methods it takes", async () => {
    const put = await svc.api("/image-edit", { method: "PUT", body: "{}" });
    expect(put.headers.get("allow")).toBe("POST");
    await expectError(put, 405, "METHOD_NOT_ALLOWED");
    const del = await svc.api("/healthz", { method: "DELETE" });
    expect(del.headers.get("allow")).toBe("GET, HEAD");
    await expectError(del, 405, "METHOD_NOT_ALLOWED");
    const session = await svc.api(`/image-edit/sessions/${globalThis.crypto.randomUUID()}`, { method: "PATCH" });
    expect(session.headers.get("allow")?.split(", ").sort()).toEqual(["DELETE", "GET", "HEAD"]);
    await expectError(await svc.api("/no/such/path", { method: "POST" }), 404, "NOT_FOUND");
  });

  it("requests Node's parser refuses get a JSON answer too: headers too large -> 431, garbage -> 400", async () => {
    const { connect } = await import("node:net");
    const raw = (request: string) =>
      new Promise<string>((resolve, reject) => {
        const url = new URL(svc.base);
        const socket = connect(Number(url.port), url.hostname, () => socket.end(request));
        let got = "";
        socket.on("data", (d) => {
          got += d.toString("latin1");
        });
        socket.on("close", () => resolve(got));
        socket.on("error", reject);
      });
    const big = await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
    expect(big).toMatch(/^HTTP\/1\.1 431 /);
    expect(JSON.parse(big.slice(big.indexOf("\r\n\r\n") + 4)).error).toMatchObject({ code: "INVALID_INPUT" });
    const garbage = await raw("NOT HTTP AT ALL\r\n\r\n");
    expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(garbage.slice(garbage.indexOf("\r\n\r\n") + 4)).error.message).toMatch(/malformed HTTP request/);
    expect((await fetch(`${svc.base}/healthz`)).status).toBe(200);
  });

  it("serves a valid OpenAPI 3.1 document with every route", async () => {
    const doc = (await (await fetch(`${svc.base}/openapi.json`)).json()) as Json;
    expect(doc.openapi).toBe("3.1.0");
    for (const p of [
      "/image-edit",
      "/image-edit/parse",
      "/image-edit/progress/{id}",
      "/image-edit/sessions",
      "/image-edit/sessions/{id}",
      "/uploads",
      "/files/{key}",
      "/auth/local",
      "/auth/config",
      "/healthz",
      "/metrics",
    ])
      expect(doc.paths[p], p).toBeDefined();
    expect(doc.components.schemas.EditRequest.properties.images.maxItems).toBeUndefined();
    expect(doc.components.schemas.EditRequest.required).toEqual(expect.arrayContaining(["images", "operation"]));
    // Every $ref resolves inside the document.
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    for (const r of refs) {
      const target = r.slice(8, -1);
      if (!target.startsWith("#/components/")) continue;
      const name = target.split("/").pop()!;
      expect(doc.components.schemas[name], target).toBeDefined();
    }
    expect(JSON.stringify(doc.components.schemas.Plan)).toContain('"resize"');
  });

  it("serves the built page and its assets, nothing outside them", async () => {
    const root = tempDir();
    fs.mkdirSync(path.join(root, "assets"));
    fs.writeFileSync(path.join(root, "index.html"), "<!doctype html><title>editor</title>");
    fs.writeFileSync(path.join(root, "assets", "app-1234.js"), "console.log(1)");
    fs.writeFileSync(path.join(path.dirname(root), "secret.txt"), "no");
    const other = await startService({}, { webRoot: root });
    try {
      const index = await fetch(`${other.base}/`);
      expect(index.headers.get("content-type")).toMatch(/^text\/html/);
      expect(await index.text()).toContain("<title>editor</title>");
      const js = await fetch(`${other.base}/assets/app-1234.js`);
      expect(js.headers.get("content-type")).toMatch(/^text\/javascript/);
      expect(js.headers.get("cache-control")).toContain("immutable");
      for (const p of ["/assets/..%2F..%2Fsecret.txt", "/assets/%2e%2e/%2e%2e/secret.txt", "/assets/missing.js"]) {
        const res = await fetch(`${other.base}${p}`, { headers: { "x-request-id": "req-404" } });
        expect(res.status).toBe(404);
        expect(res.headers.get("x-request-id")).toBe("req-404");
      }
    } finally {
      await other.close();
    }
  });

  it("answers / with a not-built page when web/dist is missing", async () => {
    const other = await startService({}, { webRoot: tempDir() });
    try {
      const res = await fetch(`${other.base}/`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain("npm run build:web");
    } finally {
      await other.close();
    }
  });
});

describe("limits", () => {
  it("rate limit -> 429 with Retry-After; concurrent sessions too", async () => {
    const limited = await startService({
      FETCH_ALLOW_HOSTS: `127.0.0.1:${src.port}`,
      RATE_LIMIT_PER_MINUTE: "2",
      MAX_CONCURRENT_SESSIONS: "100",
    });
    try {
      const body = JSON.stringify({ images: [{ url: `${src.base}/a.png` }], operation: OPS });
      // Refused requests are not edits started: a user fixing typos is not locked out.
      const typo = JSON.stringify({
        images: [{ url: `${src.base}/a.png` }],
        operation: { type: "command", command: "blorp" },
      });
      for (const bad of ["{bad json", typo, typo])
        expect((await limited.api("/image-edit", { method: "POST", body: bad })).status).toBeGreaterThanOrEqual(400);
      expect((await limited.api("/image-edit", { method: "POST", body })).status).toBe(202);
      expect((await limited.api("/image-edit", { method: "POST", body })).status).toBe(202);
      const third = await limited.api("/image-edit", { method: "POST", body });
      const retry = Number(third.headers.get("retry-after"));
      expect(retry).toBeGreaterThan(0);
      expect(retry).toBeLessThanOrEqual(60);
      await expectError(third, 429, "RATE_LIMITED");
      // Per user: bob is not affected.
      expect((await limited.api("/image-edit", { method: "POST", body, user: "bob" })).status).toBe(202);
      await limited.server.idle();
    } finally {
      await limited.close();
    }

    src.hold("/held.png");
    src.set("/held.png", await makeImage({ width: 20, height: 20 }));
    const busy = await startService({ FETCH_ALLOW_HOSTS: `127.0.0.1:${src.port}`, MAX_CONCURRENT_SESSIONS: "1" });
    try {
      const body = JSON.stringify({ images: [{ url: `${src.base}/held.png` }], operation: OPS });
      expect((await busy.api("/image-edit", { method: "POST", body })).status).toBe(202);
      const second = await busy.api("/image-edit", { method: "POST", body });
      expect(Number(second.headers.get("retry-after"))).toBeGreaterThan(0);
      const err = await expectError(second, 429, "RATE_LIMITED");
      expect(err.details).toMatchObject({ reason: "concurrent_sessions" });
      expect(err.message).toMatch(/^you have 1 edit still running; the limit is 1 at a time/);
      src.release();
      await busy.server.idle();
      expect((await busy.api("/image-edit", { method: "POST", body })).status).toBe(202);
      await busy.server.idle();
    } finally {
      src.release();
      await busy.close();
    }
  });
});

describe("a job queue that refuses", () => {
  it("answers 503 and keeps no session stuck in 'queued': the retry with the same key starts afresh", async () => {
    let refuse = 1;
    const flaky = await startService(
      { FETCH_ALLOW_HOSTS: `127.0.0.1:${src.port}`, MAX_CONCURRENT_SESSIONS: "1" },
      {
        wrap: {
          jobs: (runner) => ({
            ...runner,
            depth: () => runner.depth(),
            stop: (ms) => runner.stop(ms),
            enqueue: async (jobs) => {
              if (refuse-- > 0)
                throw new ImageEditError("STORAGE_FAILED", "the processor could not be invoked", { retryable: true });
              return runner.enqueue(jobs);
            },
          }),
        },
      },
    );
    try {
      const body = JSON.stringify({ images: [{ url: `${src.base}/a.png` }], operation: OPS });
      const headers = { "idempotency-key": "retry-me" };
      await expectError(await flaky.api("/image-edit", { method: "POST", body, headers }), 503, "STORAGE_FAILED");
      const listed = (await (await flaky.api("/image-edit/sessions")).json()) as Json;
      expect(listed.items).toEqual([]);
      // not replayed (a dead session), not blocked by the concurrent-sessions limit of 1
      const again = await flaky.api("/image-edit", { method: "POST", body, headers });
      expect(again.status).toBe(202);
      expect(again.headers.get("idempotent-replayed")).toBeNull();
      await flaky.server.idle();
      const { sessionId } = (await again.json()) as Json;
      expect(((await (await flaky.api(`/image-edit/sessions/${sessionId}`)).json()) as Json).status).toBe("completed");
    } finally {
      await flaky.close();
    }
  });
});

describe("a session store that refuses every write for a while (a full disk)", () => {
  it("the image still ends once writes work again: the job is delivered again, the session completes", async () => {
    let broken = false;
    let refused = 0;
    const svcDown = await startService(
      { FETCH_ALLOW_HOSTS: `127.0.0.1:${src.port}`, JOB_MAX_ATTEMPTS: "1" },
      {
        wrap: {
          sessions: (store) =>
            new Proxy(store, {
              get(target, prop, receiver) {
                const v = Reflect.get(target, prop, receiver);
                if (prop !== "updateImage" || typeof v !== "function") return v;
                return (...args: unknown[]) => {
                  if (broken) {
                    refused++;
                    return Promise.reject(
                      Object.assign(new Error("SQLITE_FULL: database or disk is full"), { code: "SQLITE_FULL" }),
                    );
                  }
                  return v.apply(target, args);
                };
              },
            }),
        },
      },
    );
    try {
      src.hold("/full-disk.png");
      src.set("/full-disk.png", await makeImage({ width: 20, height: 20 }));
      const res = await svcDown.api("/image-edit", {
        method: "POST",
        body: JSON.stringify({ images: [{ url: `${src.base}/full-disk.png` }], operation: OPS }),
      });
      const { sessionId } = (await res.json()) as Json;
      broken = true;
      src.release();
      for (let i = 0; i < 100 && refused < 2; i++) await new Promise((r) => setTimeout(r, 20));
      expect(refused).toBeGreaterThanOrEqual(2); // the image's writes and its failure record both refused
      broken = false;
      await svcDown.server.idle();
      const s = (await (await svcDown.api(`/image-edit/sessions/${sessionId}`)).json()) as Json;
      expect(["completed", "failed"]).toContain(s.status);
      expect(s.images[0].status).toMatch(/^(done|failed)$/);
    } finally {
      src.release();
      await svcDown.close();
    }
  });
});

describe("JWKS mode", () => {
  it("verifies tokens from an OIDC issuer's key set (issuer and audience), rejects others, and turns local sign-in off", async () => {
    const { publicKey, privateKey } = await generateKeyPair("RS256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" };
    const jwksServer = await startImageSource();
    jwksServer.set("/jwks.json", Buffer.from(JSON.stringify({ keys: [jwk] })), "application/json");
    const idp = await startService({
      JWKS_URL: `${jwksServer.base}/jwks.json`,
      JWT_ISSUER: "https://issuer.example",
      JWT_AUDIENCE: "imgedit-app",
      JWT_SECRET: "stream-token-secret",
    });
    try {
      const sign = (claims: Record<string, unknown>, key = privateKey) =>
        new SignJWT(claims)
          .setProtectedHeader({ alg: "RS256", kid: "k1" })
          .setSubject("user-123")
          .setIssuedAt()
          .setExpirationTime("10m")
          .sign(key);
      const call = (token: string) =>
        fetch(`${idp.base}/image-edit/sessions`, { headers: { authorization: `Bearer ${token}` } });
      expect((await call(await sign({ iss: "https://issuer.example", aud: "imgedit-app" }))).status).toBe(200);
      // Cognito access tokens: client_id instead of aud.
      expect((await call(await sign({ iss: "https://issuer.example", client_id: "imgedit-app" }))).status).toBe(200);
      await expectError(
        await call(await sign({ iss: "https://evil.example", aud: "imgedit-app" })),
        401,
        "UNAUTHORIZED",
      );
      await expectError(await call(await sign({ iss: "https://issuer.example", aud: "other" })), 401, "UNAUTHORIZED");
      const { privateKey: otherKey } = await generateKeyPair("RS256");
      await expectError(
        await call(await sign({ iss: "https://issuer.example", aud: "imgedit-app" }, otherKey)),
        401,
        "UNAUTHORIZED",
      );
      // An HS256 token made with a guessable secret is not accepted in JWKS mode.
      const hs = await new SignJWT({ iss: "https://issuer.example", aud: "imgedit-app" })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject("user-123")
        .setExpirationTime("10m")
        .sign(createHmac("sha256", "x").digest());
      await expectError(await call(hs), 401, "UNAUTHORIZED");
      expect((await (await fetch(`${idp.base}/auth/config`)).json()) as Json).toMatchObject({
        localSignIn: false,
        mode: "jwks",
      });
      await expectError(await fetch(`${idp.base}/auth/local`, { method: "POST", body: "{}" }), 404, "NOT_FOUND");
    } finally {
      await idp.close();
      await jwksServer.close();
    }
  });
});

describe("clients that go away", () => {
  it("survives uploads and streams cut off halfway", async () => {
    const { request } = await import("node:http");
    const token = await svc.token();
    const serverErrors = async () =>
      [
        ...(await (await fetch(`${svc.base}/metrics`)).text()).matchAll(
          /http_requests_total\{[^}]*status="5\d\d"[^}]*\} (\d+)/g,
        ),
      ]
        .map((m) => Number(m[1]))
        .reduce((a, b) => a + b, 0);
    const errorsBefore = await serverErrors();
    for (const kind of ["multipart", "raw", "json"] as const) {
      const url = new URL(`${svc.base}${kind === "json" ? "/image-edit" : "/uploads"}`);
      await new Promise<void>((resolve) => {
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            path: url.pathname,
            method: "POST",
            headers: {
              authorization: `Bearer ${token}`,
              "content-type": {
                multipart: "multipart/form-data; boundary=XYZ",
                raw: "image/png",
                json: "application/json",
              }[kind],
              "content-length": "100000",
            },
          },
          () => resolve(),
        );
        req.on("error", () => resolve());
        const head =
          kind === "multipart"
            ? '--XYZ\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n'
            : "";
        req.write(
          kind === "json"
            ? Buffer.from('{"images":[{"url":"http://a/b"}],"operation":')
            : Buffer.concat([
                Buffer.from(head),
                Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
                Buffer.alloc(5000),
              ]),
        );
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 100);
      });
    }
    const sse = await svc.api("/image-edit", {
      method: "POST",
      body: JSON.stringify({ images: [{ url: `${src.base}/a.png` }], operation: OPS }),
    });
    const { progressUrl } = (await sse.json()) as Json;
    const ac = new AbortController();
    const res = await fetch(svc.base + progressUrl, { signal: ac.signal });
    ac.abort();
    await res.body?.cancel().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 200));
    expect((await fetch(`${svc.base}/healthz`)).status).toBe(200);
    // The client's leaving is not a server fault: no 5xx counted (nor logged as an error).
    expect(await serverErrors()).toBe(errorsBefore);
    // A watcher that left is forgotten (no leaked subscriptions or timers).
    src.hold("/held-sse.png");
    src.set("/held-sse.png", await makeImage({ width: 20, height: 20 }));
    const held = (await (
      await svc.api("/image-edit", {
        method: "POST",
        body: JSON.stringify({ images: [{ url: `${src.base}/held-sse.png` }], operation: OPS }),
      })
    ).json()) as Json;
    const ac2 = new AbortController();
    const live = await fetch(svc.base + held.progressUrl, { signal: ac2.signal });
    const reader = live.body!.getReader();
    await reader.read();
    const gauge = async () => /imgedit_sse_clients (\d+)/.exec(await (await fetch(`${svc.base}/metrics`)).text())?.[1];
    expect(Number(await gauge())).toBeGreaterThanOrEqual(1);
    ac2.abort();
    for (let i = 0; i < 40 && (await gauge()) !== "0"; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await gauge()).toBe("0");
    src.release();
    await svc.server.idle();
  });
});

describe("logs", () => {
  it("writes JSON lines with the request id, never the token", async () => {
    const lines: string[] = [];
    const { createLogger } = await import("../../src/logger.js");
    const logger = createLogger({ LOG_LEVEL: "info" }, { write: (l: string) => void lines.push(l) });
    const logged = await startService({ FETCH_ALLOW_HOSTS: `127.0.0.1:${src.port}` }, { logger });
    try {
      const token = await logged.token();
      const res = await fetch(`${logged.base}/image-edit?token=${token}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "x-request-id": "trace-77", "content-type": "application/json" },
        body: JSON.stringify({ images: [{ url: `${src.base}/a.png` }], operation: OPS }),
      });
      expect(res.status).toBe(202);
      await logged.server.idle();
      const records = lines.map((l) => JSON.parse(l) as Json);
      const request = records.find((r) => r.requestId === "trace-77" && r.msg === "request");
      expect(request).toMatchObject({ level: 30, method: "POST", path: "/image-edit", status: 202, userId: "alice" });
      const started = records.find((r) => r.requestId === "trace-77" && r.msg === "edit started");
      expect(started?.sessionId).toMatch(/^[0-9a-f-]{36}$/);
      expect(records.some((r) => r.sessionId === started?.sessionId && r.msg === "image done")).toBe(true);
      expect(lines.join("\n")).not.toContain(token);
    } finally {
      await logged.close();
    }
  });
});
