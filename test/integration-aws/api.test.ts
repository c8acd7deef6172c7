// Optional: a deployed API end to end (IMGEDIT_AWS_API_URL = the stack's ApiUrl output, and
// IMGEDIT_AWS_TOKEN = a bearer token it accepts). Uploads a generated image, edits it, follows
// the progress stream to `complete`, downloads the result by its presigned URL and checks it.
import sharp from "sharp";
import { describe, expect, inject, it } from "vitest";

const base = process.env.IMGEDIT_AWS_API_URL?.replace(/\/+$/, "");
const token = process.env.IMGEDIT_AWS_TOKEN;
const reason = inject("awsSkipReason");
const skip = !base || !token ? "IMGEDIT_AWS_API_URL and IMGEDIT_AWS_TOKEN not set" : undefined;

describe.skipIf(Boolean(skip))(`deployed API ${base ?? ""}`, () => {
  it("edits an uploaded image and streams progress to completion", async () => {
    if (reason) process.stderr.write(`(store contracts skipped: ${reason}; running the API check anyway)\n`);
    const auth = { authorization: `Bearer ${token}` };
    const input = await sharp({ create: { width: 800, height: 600, channels: 3, background: "#2a9d8f" } })
      .jpeg()
      .toBuffer();
    const up = await fetch(`${base}/uploads?name=teal.jpg`, {
      method: "POST",
      headers: { ...auth, "content-type": "image/jpeg" },
      body: input,
    });
    expect(up.status).toBe(201);
    const upload = (await up.json()) as { url: string };

    const start = await fetch(`${base}/image-edit`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({
        images: [{ id: "teal", url: upload.url, name: "teal.jpg" }],
        operation: { type: "command", command: "resize to 400px wide and convert to webp" },
      }),
    });
    expect(start.status).toBe(202);
    const { sessionId, progressUrl } = (await start.json()) as { sessionId: string; progressUrl: string };

    const stream = await fetch(new URL(progressUrl, `${base}/`));
    expect(stream.headers.get("content-type")).toContain("text/event-stream");
    let text = "";
    const decoder = new TextDecoder();
    for await (const chunk of stream.body as unknown as AsyncIterable<Uint8Array>) {
      text += decoder.decode(chunk, { stream: true });
      if (text.includes("event: complete")) break;
    }
    expect(text).toContain("event: complete");
    const image = text
      .split("\n\n")
      .find((b) => b.includes("event: image"))
      ?.split("\n")
      .find((l) => l.startsWith("data: "));
    expect(image).toBeDefined();
    const result = JSON.parse(image!.slice(6)) as { url: string; width: number; format: string };
    expect(result).toMatchObject({ width: 400, format: "webp" });
    const file = await fetch(result.url);
    expect(file.status).toBe(200);
    const meta = await sharp(Buffer.from(await file.arrayBuffer())).metadata();
    expect(meta).toMatchObject({ format: "webp", width: 400, height: 300 });

    const del = await fetch(`${base}/image-edit/sessions/${sessionId}`, { method: "DELETE", headers: auth });
    expect(del.status).toBe(204);
  });
});
