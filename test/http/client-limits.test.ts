// GET /auth/config publishes what a client checks before sending (the page refuses what would fail):
// the byte limits, the images per edit and the formats read. Locally they follow the settings; on
// Lambda an upload is also held to what a function URL lets through (Lambda answers its own 413 to a
// bigger request, before the service runs). Real server on loopback; the Lambda app on dynalite and
// s3rver through the streaming runtime stand-in.
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApiApp, LAMBDA_MAX_UPLOAD_BYTES } from "../../src/lambda/api-app.js";
import { invokeStreaming, urlEvent } from "../aws/lambda-runtime.js";
import { type AwsStack, startAwsStack } from "../aws/stack.js";
import { type Json, startService, type TestService } from "./harness.js";

const READ_WITHOUT_SVG = ["jpeg", "png", "webp", "gif", "tiff", "avif"];

/** A real JPEG made `bytes` long (trailing bytes after the image, as some cameras append). */
async function jpegOfSize(bytes: number): Promise<Buffer> {
  const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: "#2a6f97" } })
    .jpeg()
    .toBuffer();
  return Buffer.concat([jpeg, Buffer.alloc(bytes - jpeg.length, 0x20)]);
}

async function limitsOf(svc: TestService): Promise<Json> {
  const res = await fetch(`${svc.base}/auth/config`);
  expect(res.status).toBe(200);
  return ((await res.json()) as Json).limits;
}

async function upload(svc: TestService, data: Buffer, name: string): Promise<Response> {
  const form = new FormData();
  form.append("file", new Blob([new Uint8Array(data)], { type: "image/jpeg" }), name);
  return svc.api("/uploads", { method: "POST", body: form });
}

describe("GET /auth/config limits, local server", () => {
  let defaults: TestService;
  let small: TestService;

  beforeAll(async () => {
    [defaults, small] = await Promise.all([
      startService(),
      startService({ MAX_IMAGE_SIZE: "200000", MAX_IMAGES_PER_REQUEST: "3", ALLOW_SVG: "true" }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([defaults?.close(), small?.close()]);
  });

  it("answers the defaults without a token: 25 MB per image and per upload, 50 images, no SVG", async () => {
    const limits = await limitsOf(defaults);
    expect(limits).toEqual({
      maxImageBytes: 26_214_400,
      maxUploadBytes: 26_214_400,
      maxImagesPerRequest: 50,
      formats: READ_WITHOUT_SVG,
    });
  });

  it("follows MAX_IMAGE_SIZE, MAX_IMAGES_PER_REQUEST and ALLOW_SVG", async () => {
    const limits = await limitsOf(small);
    expect(limits).toEqual({
      maxImageBytes: 200_000,
      maxUploadBytes: 200_000,
      maxImagesPerRequest: 3,
      formats: [...READ_WITHOUT_SVG, "svg"],
    });
  });

  it("publishes the upload limit POST /uploads holds to: at it, taken; a byte over, refused", async () => {
    const { maxUploadBytes } = await limitsOf(small);
    const at = await upload(small, await jpegOfSize(maxUploadBytes), "at-limit.jpg");
    expect(at.status).toBe(201);
    expect(((await at.json()) as Json).bytes).toBe(maxUploadBytes);
    const over = await upload(small, await jpegOfSize(maxUploadBytes + 1), "over-limit.jpg");
    expect(over.status).toBe(413);
    expect(((await over.json()) as Json).error.code).toBe("IMAGE_TOO_LARGE");
  });

  it("is described in the OpenAPI document", async () => {
    const doc = (await (await fetch(`${defaults.base}/openapi.json`)).json()) as Json;
    const schema = doc.paths["/auth/config"].get.responses["200"].content["application/json"].schema;
    expect(Object.keys(schema.properties.limits.properties).sort()).toEqual(
      ["formats", "maxImageBytes", "maxImagesPerRequest", "maxUploadBytes"].sort(),
    );
  });
});

describe("GET /auth/config limits, Lambda API app", () => {
  let stack: AwsStack;

  beforeAll(async () => {
    stack = await startAwsStack({ source: (_req, res) => res.writeHead(404).end() });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("caps uploads at what a function URL lets through, below the 25 MB image limit (by URL)", async () => {
    const res = await invokeStreaming(stack.api, urlEvent("GET", "/auth/config"));
    expect(res.status).toBe(200);
    const { limits } = res.json() as Json;
    expect(limits.maxImageBytes).toBe(26_214_400);
    expect(limits.maxUploadBytes).toBe(LAMBDA_MAX_UPLOAD_BYTES);
    expect(limits.maxUploadBytes).toBeLessThan(limits.maxImageBytes);
    expect(limits.maxImagesPerRequest).toBe(50);
    expect(limits.formats).toEqual(READ_WITHOUT_SVG);
  });

  it("answers MAX_IMAGE_SIZE when that is the smaller", async () => {
    const app = buildApiApp({ ...stack.apiDeps, config: { ...stack.apiDeps.config, MAX_IMAGE_SIZE: 1_000_000 } });
    const { limits } = (await (await app.request("/auth/config")).json()) as Json;
    expect(limits.maxImageBytes).toBe(1_000_000);
    expect(limits.maxUploadBytes).toBe(1_000_000);
  });

  it("an upload of the published size fits in Lambda's 6 MB invocation event; a 5% bigger one does not", async () => {
    const token = await stack.token("alice");
    const eventBytes = async (fileBytes: number) => {
      const form = new FormData();
      form.append("file", new Blob([new Uint8Array(await jpegOfSize(fileBytes))], { type: "image/jpeg" }), "photo.jpg");
      const req = new Request("https://abc123.lambda-url.us-east-1.on.aws/uploads", { method: "POST", body: form });
      const body = Buffer.from(await req.arrayBuffer());
      // A browser's request as the function URL passes it on: the body base64-encoded in the event.
      const event = urlEvent("POST", "/uploads", {
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": req.headers.get("content-type") ?? "",
          "content-length": String(body.length),
          accept: "application/json",
          "accept-language": "en-GB,en;q=0.9",
          origin: "https://abc123.lambda-url.us-east-1.on.aws",
          referer: "https://abc123.lambda-url.us-east-1.on.aws/",
          "user-agent":
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
          "x-amzn-trace-id": "Root=1-67891233-abcdef012345678912345678",
          "x-forwarded-for": "203.0.113.7",
          "x-forwarded-proto": "https",
          "x-forwarded-port": "443",
        },
        body,
      });
      return Buffer.byteLength(JSON.stringify(event));
    };
    const LAMBDA_EVENT_LIMIT = 6 * 1024 * 1024;
    expect(await eventBytes(LAMBDA_MAX_UPLOAD_BYTES)).toBeLessThanOrEqual(LAMBDA_EVENT_LIMIT);
    expect(await eventBytes(Math.ceil(LAMBDA_MAX_UPLOAD_BYTES * 1.05))).toBeGreaterThan(LAMBDA_EVENT_LIMIT);
  });
});
