// `imgedit serve` as a user runs it: a child process that prints where it listens and a working
// token, answers requests, and stops cleanly on SIGTERM.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { expect, it } from "vitest";
import { tempDir } from "../http/harness.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

it("prints the address and a ready token, serves, and exits 0 on SIGTERM", async () => {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, "serve", "--port", "0", "--host", "127.0.0.1"], {
    env: { ...process.env, DATA_DIR: tempDir(), LOG_LEVEL: "silent", WORKER_CONCURRENCY: "1", MALLOC_ARENA_MAX: "2" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  child.stderr.on("data", (d) => {
    err += d;
  });
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  try {
    for (let i = 0; i < 300 && !/TOKEN=\S+/.test(out); i++) await new Promise((r) => setTimeout(r, 50));
    const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
    const token = /TOKEN=(\S+)/.exec(out)?.[1];
    expect(url, `stdout: ${out}\nstderr: ${err}`).toBeDefined();
    expect(out).toContain(`curl -s -X POST ${url}/image-edit`);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const res = await fetch(`${url}/image-edit/sessions`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ items: [] });
    // the printed example works as printed, offline: an upload, then an edit of it
    expect(out).toContain(`curl -s -X POST ${url}/uploads -H "Authorization: Bearer $TOKEN" -F file=@photo.jpg`);
    const form = new FormData();
    const jpeg = await sharp({ create: { width: 40, height: 30, channels: 3, background: "red" } })
      .jpeg()
      .toBuffer();
    form.append("file", new Blob([new Uint8Array(jpeg)], { type: "image/jpeg" }), "photo.jpg");
    const auth = { authorization: `Bearer ${token}` };
    const up = await fetch(`${url}/uploads`, { method: "POST", headers: auth, body: form });
    expect(up.status).toBe(201);
    const { url: uploadUrl } = (await up.json()) as { url: string };
    const body = /-d '(\{.*\})'/.exec(out)?.[1];
    expect(body).toContain('"upload:<id>"');
    const edit = await fetch(`${url}/image-edit`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: body?.replace("upload:<id>", uploadUrl),
    });
    expect(edit.status).toBe(202);
    expect(((await edit.json()) as { images: { name: string }[] }).images[0].name).toBe("photo.jpg");
  } finally {
    child.kill("SIGTERM");
  }
  expect(await exited).toBe(0);
  expect(err).toContain("SIGTERM: stopping");
});
