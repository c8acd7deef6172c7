// The deployable bundles as Lambda would load them: built with the real build script (layers
// skipped: they need the registry), run from a directory outside the repository in a fresh Node
// process, invoked against dynalite and s3rver. Only sharp is resolvable there (a node_modules
// holding a link to it stands in for the layer's /opt/nodejs/node_modules), so everything else
// must be inside the bundle, and the ImageMagick effect proves magick.wasm is read from beside it.
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { unzipSync } from "fflate";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dynamoDocumentClient, s3Client } from "../../src/adapters/aws/clients.js";
import { S3ObjectStore } from "../../src/adapters/aws/object-store.js";
import { DynamoSessionStore } from "../../src/adapters/aws/session-store.js";
import type { Session } from "../../src/ports.js";
import { uploadKey } from "../../src/service/edit.js";
import { type LoopbackAws, startLoopbackAws, TEST_CREDENTIALS, TEST_REGION } from "./servers.js";
import { queuedSession } from "./stack.js";

const root = path.resolve(import.meta.dirname, "../..");
const out = mkdtempSync(path.join(os.tmpdir(), "imgedit-bundle-"));
let aws: LoopbackAws;
let layer = "the repository's sharp";

beforeAll(async () => {
  execFileSync(process.execPath, ["--import", "tsx", "scripts/build-lambda.ts", "--skip-layers", `--out=${out}`], {
    cwd: root,
    stdio: "pipe",
  });
  // The real layer when `npm run build:lambda` has built it for this machine's architecture
  // (unpacked as Lambda does under /opt), else a link to the repository's sharp.
  const layerZip = path.join(root, "build/lambda", `sharp-layer-${process.arch}.zip`);
  if (process.platform === "linux" && existsSync(layerZip)) {
    const opt = path.join(out, "opt");
    for (const [name, data] of Object.entries(unzipSync(readFileSync(layerZip)))) {
      if (name.endsWith("/")) continue;
      mkdirSync(path.dirname(path.join(opt, name)), { recursive: true });
      writeFileSync(path.join(opt, name), data);
    }
    symlinkSync(path.join(opt, "nodejs/node_modules"), path.join(out, "node_modules"), "dir");
    layer = `layer ${path.basename(layerZip)}`;
  } else {
    mkdirSync(path.join(out, "node_modules"));
    symlinkSync(path.join(root, "node_modules/sharp"), path.join(out, "node_modules/sharp"), "dir");
  }
  aws = await startLoopbackAws({ table: "sessions", bucket: "results" });
}, 120_000);

afterAll(async () => {
  await aws?.close();
  rmSync(out, { recursive: true, force: true });
});

async function runInNode(script: string, env: Record<string, string>): Promise<string> {
  const file = path.join(out, `run-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, script);
  // Async: the loopback servers live in this process and must keep answering meanwhile.
  const { stdout } = await promisify(execFile)(process.execPath, [file], {
    timeout: 60_000,
    cwd: out,
    env: {
      PATH: process.env.PATH ?? "",
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
      ...aws.env,
      LOG_LEVEL: "silent",
      ...env,
    },
    encoding: "utf8",
  });
  return stdout;
}

describe("lambda bundles", () => {
  it("zips index.mjs for both functions and magick.wasm with the processor", () => {
    const proc = Object.keys(unzipSync(readFileSync(path.join(out, "processor.zip"))));
    expect(proc.sort()).toEqual(["index.mjs", "magick.wasm"]);
    const api = Object.keys(unzipSync(readFileSync(path.join(out, "api.zip"))));
    expect(api).toContain("index.mjs");
  });

  it("runs a job from the processor bundle, ImageMagick effect included", async (ctx) => {
    ctx.annotate(`sharp from ${layer}`);
    const sessions = new DynamoSessionStore({
      client: dynamoDocumentClient({
        endpoint: aws.dynamoEndpoint,
        region: TEST_REGION,
        credentials: TEST_CREDENTIALS,
      }),
      table: "sessions",
    });
    const objects = new S3ObjectStore({
      client: s3Client({ endpoint: aws.s3Endpoint, region: TEST_REGION, credentials: TEST_CREDENTIALS }),
      bucket: "results",
    });
    const input = await sharp({ create: { width: 120, height: 90, channels: 3, background: "#3366cc" } })
      .png()
      .toBuffer();
    await objects.put(uploadKey("bob", "0123456789abcdef0123456789abcdef"), input, "image/png");
    const session = queuedSession(
      [{ op: "vignette" }, { op: "format", format: "png" }] as unknown as Session["plan"],
      { id: "one", name: "one.png", sourceUrl: "upload:0123456789abcdef0123456789abcdef" },
      { sessionId: "bundle-1", userId: "bob" },
    );
    await sessions.create(session);
    const printed = await runInNode(
      `const { handler } = await import(${JSON.stringify(path.join(out, "processor/index.mjs"))});
       const r = await handler({ job: { sessionId: "bundle-1", imageId: "one", userId: "bob", attempt: 1 } },
         { getRemainingTimeInMillis: () => 300000 });
       console.log("RESULT " + JSON.stringify(r));`,
      {},
    );
    expect(printed).toContain('RESULT {"ok":true}');
    // EMF lines went to stdout, bare JSON.
    expect(printed.split("\n").some((l) => l.startsWith("{") && l.includes("max_memory_used_bytes"))).toBe(true);
    const after = await sessions.get("bundle-1");
    const img = after?.images[0];
    expect(img?.error).toBeUndefined();
    expect(img?.status).toBe("done");
    const result = await objects.getBuffer(img!.result!.key);
    const meta = await sharp(result!).metadata();
    expect(meta).toMatchObject({ format: "png", width: 120, height: 90 });
    // A vignette darkens the corners of a uniform image.
    const { data, info } = await sharp(result!).raw().toBuffer({ resolveWithObject: true });
    const corner = data[0] + data[1] + data[2];
    const mid = ((45 * info.width + 60) * info.channels) | 0;
    expect(corner).toBeLessThan(data[mid] + data[mid + 1] + data[mid + 2]);
  });

  it("serves HTTP from the API bundle through the runtime's streaming contract", async () => {
    const printed = await runInNode(
      `import { PassThrough } from "node:stream";
       globalThis.awslambda = {
         streamifyResponse: (h) => h,
         HttpResponseStream: { from(s, meta) { s.write(JSON.stringify(meta) + "\\0\\0\\0\\0\\0\\0\\0\\0"); return s; } },
       };
       const { handler } = await import(${JSON.stringify(path.join(out, "api/index.mjs"))});
       const s = new PassThrough(); const chunks = [];
       s.on("data", (c) => chunks.push(c));
       await handler({ version: "2.0", rawPath: "/healthz", rawQueryString: "", headers: { host: "x.lambda-url.on.aws" },
         requestContext: { domainName: "x.lambda-url.on.aws", http: { method: "GET", sourceIp: "198.51.100.1" } } },
         s, { getRemainingTimeInMillis: () => 30000 });
       console.log("RESPONSE " + Buffer.concat(chunks).toString("utf8").replace(/\\0/g, "|"));`,
      { IMAGE_PROCESSOR_FUNCTION_ARN: "imgedit-image-processor", JWT_SECRET: "bundle-test-secret" },
    );
    const line = printed.split("\n").find((l) => l.startsWith("RESPONSE "))!;
    const [prelude] = line.slice("RESPONSE ".length).split("||||||||");
    expect(JSON.parse(prelude).statusCode).toBe(200);
  });
});
