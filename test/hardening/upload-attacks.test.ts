// POST /uploads against a real server, as a careless or hostile client sends it: file names in
// UTF-8 (as every browser sends them), names with paths and control characters, a file part sent
// as a text field, too many parts before the file, bodies cut off halfway. Every refusal is a
// typed 4xx that says what was wrong; nothing is kept of a refused or interrupted upload.
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeImage } from "../helpers/images.js";
import { type Json, startService, type TestService } from "../http/harness.js";

let svc: TestService;
let png: Buffer;

beforeAll(async () => {
  svc = await startService({ MAX_IMAGE_SIZE: "300000" });
  png = await makeImage({ width: 12, height: 9 });
});
afterAll(async () => {
  await svc?.close();
});

/** A multipart body by hand: each part's raw header lines (UTF-8) and its bytes. */
function multipart(parts: { headers: string; body: Buffer }[], boundary = "XyZ"): Buffer {
  const out: Buffer[] = [];
  for (const p of parts)
    out.push(Buffer.from(`--${boundary}\r\n${p.headers}\r\n\r\n`, "utf8"), p.body, Buffer.from("\r\n"));
  out.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(out);
}

const postMultipart = (body: Buffer, boundary = "XyZ") =>
  svc.api("/uploads", {
    method: "POST",
    body: new Uint8Array(body),
    headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
  });

async function errorOf(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  const body = (await res.json()) as Json;
  expect(body.error.code).toBe(code);
  return body.error as { code: string; message: string; field?: string };
}

/** Files kept under DATA_DIR/objects/uploads for a user. */
function keptUploads(user = "alice"): string[] {
  const dir = path.join(svc.dataDir, "objects", "uploads", user);
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
}

describe("file names", () => {
  it("keeps a UTF-8 name as the browser sent it (FormData), not read as latin1", async () => {
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(png)], { type: "image/png" }), "café 写真 😀.png");
    const res = await svc.api("/uploads", { method: "POST", body: form });
    expect(res.status).toBe(201);
    const answer = (await res.json()) as Json;
    expect(answer.name).toBe("café 写真 😀.png");
    expect(answer.width).toBe(12);
  });

  it("keeps only the last path segment of a name with a path", async () => {
    const res = await postMultipart(
      multipart([
        {
          headers: 'Content-Disposition: form-data; name="file"; filename="../..\\etc/passwd.png"',
          body: png,
        },
      ]),
    );
    expect(res.status).toBe(201);
    expect(((await res.json()) as Json).name).toBe("passwd.png");
  });

  it("refuses control characters in a part header (busboy), as a typed 400", async () => {
    const res = await postMultipart(
      multipart([{ headers: 'Content-Disposition: form-data; name="file"; filename="a\u0001.png"', body: png }]),
    );
    const e = await errorOf(res, 400, "INVALID_INPUT");
    expect(e.message).toMatch(/^multipart body: /);
  });

  it("reads an RFC 5987 filename* too", async () => {
    const res = await postMultipart(
      multipart([
        { headers: "Content-Disposition: form-data; name=\"file\"; filename*=UTF-8''%C3%A9t%C3%A9.png", body: png },
      ]),
    );
    expect(res.status).toBe(201);
    expect(((await res.json()) as Json).name).toBe("été.png");
  });
});

describe("parts that are not what the client meant", () => {
  it('a "file" part without a filename (curl -F file=<x) is named as such, not as missing', async () => {
    const res = await postMultipart(multipart([{ headers: 'Content-Disposition: form-data; name="file"', body: png }]));
    const e = await errorOf(res, 400, "INVALID_INPUT");
    expect(e.field).toBe("file");
    expect(e.message).toMatch(/"file" came without a filename/);
  });

  it("a file under another name says which name came", async () => {
    const res = await postMultipart(
      multipart([{ headers: 'Content-Disposition: form-data; name="image"; filename="a.png"', body: png }]),
    );
    const e = await errorOf(res, 400, "INVALID_INPUT");
    expect(e.message).toMatch(/named "file".*"image"/);
  });

  it('two parts named "file" are refused (one image per upload), and neither is kept', async () => {
    const before = fs.readdirSync(path.join(svc.dataDir, "objects"), { recursive: true }).length;
    const res = await postMultipart(
      multipart([
        { headers: 'Content-Disposition: form-data; name="file"; filename="a.png"', body: png },
        { headers: 'Content-Disposition: form-data; name="file"; filename="b.png"', body: png },
      ]),
    );
    const e = await errorOf(res, 400, "INVALID_INPUT");
    expect(e.field).toBe("file");
    expect(e.message).toMatch(/one image per upload.*two parts named "file"/);
    expect(fs.readdirSync(path.join(svc.dataDir, "objects"), { recursive: true }).length).toBe(before);
  });

  it("a file after too many other parts is refused for that, not for being absent", async () => {
    const fields = Array.from({ length: 60 }, (_, i) => ({
      headers: `Content-Disposition: form-data; name="f${i}"`,
      body: Buffer.from("x"),
    }));
    const res = await postMultipart(
      multipart([...fields, { headers: 'Content-Disposition: form-data; name="file"; filename="a.png"', body: png }]),
    );
    const e = await errorOf(res, 400, "INVALID_INPUT");
    expect(e.message).toMatch(/too many parts/);
  });

  it("nested multipart is just bytes that are not an image", async () => {
    const inner = multipart(
      [{ headers: 'Content-Disposition: form-data; name="file"; filename="a.png"', body: png }],
      "In",
    );
    const res = await postMultipart(
      multipart([
        {
          headers:
            'Content-Disposition: form-data; name="file"; filename="a"\r\nContent-Type: multipart/mixed; boundary=In',
          body: inner,
        },
      ]),
    );
    await errorOf(res, 415, "UNSUPPORTED_FORMAT");
  });
});

describe("bodies cut off halfway", () => {
  it("keeps nothing, counts no server error and stays healthy", async () => {
    const before = keptUploads();
    const port = Number(new URL(svc.base).port);
    const token = await svc.token();
    const head = (type: string) =>
      `POST /uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: ${type}\r\nContent-Length: 200000\r\n\r\n`;
    const cut = [
      Buffer.concat([Buffer.from(head("image/png")), png]),
      Buffer.concat([
        Buffer.from(head("multipart/form-data; boundary=XyZ")),
        multipart([{ headers: 'Content-Disposition: form-data; name="file"; filename="a.png"', body: png }]).subarray(
          0,
          -10,
        ),
      ]),
    ];
    for (const bytes of cut) {
      // Written whole, then the connection is dropped once the server has read it.
      await new Promise<void>((resolve) => {
        const s = net.connect(port, "127.0.0.1", () => s.write(bytes, () => setTimeout(() => s.destroy(), 100)));
        s.on("error", () => undefined);
        s.on("close", () => resolve());
      });
    }
    await svc.server.idle();
    expect(keptUploads()).toEqual(before);
    const metrics = await (await fetch(`${svc.base}/metrics`)).text();
    expect(metrics).not.toMatch(/http_requests_total\{[^}]*route="\/uploads"[^}]*status="5\d\d"/);
    expect((await fetch(`${svc.base}/healthz`)).status).toBe(200);
  });
});
