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

  // busboy fails a part's stream when the body breaks off; a part already refused or ignored has
  // nobody reading it, and an 'error' nobody hears ends the process (this test's, here).
  it("a client that gives up inside a refused or ignored part does not end the process", async () => {
    const port = Number(new URL(svc.base).port);
    const token = await svc.token();
    const noise = Buffer.alloc(150_000, 7);
    const part = (name: string, body: Buffer) =>
      Buffer.from(
        `--XyZ\r\nContent-Disposition: form-data; name="${name}"; filename="x.bin"\r\n\r\n${body.toString("latin1")}`,
        "latin1",
      );
    const cases = [
      part("image", noise), // ignored: not the part named "file"
      part("file", noise), // not an image: refused from its first bytes
      Buffer.concat([
        multipart([{ headers: 'Content-Disposition: form-data; name="file"; filename="a.png"', body: png }]).subarray(
          0,
          -9,
        ),
        part("file", noise),
      ]), // a second "file"
    ];
    for (const body of cases) {
      const head = `POST /uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 290000\r\n\r\n`;
      await new Promise<void>((resolve) => {
        const s = net.connect(port, "127.0.0.1", () =>
          s.write(Buffer.concat([Buffer.from(head), body]), () => setTimeout(() => s.destroy(), 100)),
        );
        s.on("error", () => undefined);
        s.on("close", () => resolve());
      });
      await new Promise((r) => setTimeout(r, 100));
      expect((await fetch(`${svc.base}/healthz`)).status).toBe(200);
    }
  });
});

describe("bodies that never end", () => {
  /**
   * Sends a chunked multipart body that starts with `first` and goes on with filler for as long as
   * the server has not answered (up to 40 MB); the status line it answered and the bytes sent by then.
   */
  async function sendUntilAnswered(first: Buffer): Promise<{ status: number; sent: number }> {
    const port = Number(new URL(svc.base).port);
    const token = await svc.token();
    const filler = Buffer.alloc(64 * 1024, 0x61);
    const chunk = (b: Buffer) => Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from("\r\n")]);
    return new Promise((resolve, reject) => {
      let sent = 0;
      let answer = "";
      const s = net.connect(port, "127.0.0.1", () => {
        s.write(
          `POST /uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nTransfer-Encoding: chunked\r\n\r\n`,
        );
        s.write(chunk(first));
        const pump = () => {
          while (!answer && sent < 40 * 1024 * 1024) {
            sent += filler.length;
            if (!s.write(chunk(filler))) return void s.once("drain", pump);
          }
          if (!answer) reject(new Error(`no answer after ${sent} bytes`));
        };
        pump();
      });
      s.on("data", (d) => {
        answer += d.toString("latin1");
        const m = /^HTTP\/1\.1 (\d{3})/.exec(answer);
        if (m) {
          resolve({ status: Number(m[1]), sent });
          s.destroy();
        }
      });
      s.on("error", () => undefined);
      s.on("close", () => {
        if (!answer) reject(new Error(`closed without an answer after ${sent} bytes`));
      });
    });
  }
  const partHead = (name: string) =>
    Buffer.from(`--XyZ\r\nContent-Disposition: form-data; name="${name}"; filename="x"\r\n\r\n`);

  it("a part that is not the file is capped with the body: 413 soon after the limit, not at the end", async () => {
    const r = await sendUntilAnswered(partHead("image"));
    expect(r.status).toBe(413);
    // The cap is 300,000 bytes (+64 KB of envelope); loopback buffers take a few MB more.
    expect(r.sent).toBeLessThan(16 * 1024 * 1024);
  });

  it("a file part that is not an image: 415 from its first bytes, not at the end", async () => {
    const r = await sendUntilAnswered(partHead("file"));
    expect(r.status).toBe(415);
    expect(r.sent).toBeLessThan(16 * 1024 * 1024);
  });

  it("an image file part that goes on past the cap: 413", async () => {
    const r = await sendUntilAnswered(Buffer.concat([partHead("file"), png]));
    expect(r.status).toBe(413);
    expect(r.sent).toBeLessThan(16 * 1024 * 1024);
    expect((await fetch(`${svc.base}/healthz`)).status).toBe(200);
  });
});
