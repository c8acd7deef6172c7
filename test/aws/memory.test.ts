// The processor's memory on the largest input it accepts: a 25 MB (MAX_IMAGE_SIZE) JPEG of
// 10000x10000 px (MAX_DIMENSIONS, MAX_INPUT_PIXELS) fetched by URL, processed in a process of its
// own (as a Lambda container, MALLOC_ARENA_MAX=2 as deployed) whose peak resident memory must stay
// under the stack's 1.8 GB alarm, within the function's 2048 MB. The heavy case runs two jobs in one
// warm container: ImageMagick's wasm memory, once grown by an effect on ~40 MP, never shrinks, and
// the next job's full-size raw steps come on top of it. (Measured here: ~200 MiB for a resize,
// ~670 MiB for full-size steps alone, ~1.5 GiB for the effect followed by them.)
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Session } from "../../src/ports.js";
import { type AwsStack, queuedSession, startAwsStack } from "./stack.js";

const run = promisify(execFile);
const ALARM_BYTES = 1_887_436_800;
const MAX_IMAGE_SIZE = 26_214_400;

let stack: AwsStack;
let big: Buffer;

beforeAll(async () => {
  // Smooth noise, upscaled: detail enough that the JPEG is ~25 MB at 10000x10000.
  const side = 2500;
  const noise = Buffer.alloc(side * side * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = (Math.random() * 256) | 0;
  big = await sharp(noise, { raw: { width: side, height: side, channels: 3 } })
    .resize(10_000, 10_000, { kernel: "cubic" })
    .jpeg({ quality: 62 })
    .toBuffer();
  stack = await startAwsStack({
    source: (req, res) => {
      if (req.url === "/big.jpg") {
        res.writeHead(200, { "content-type": "image/jpeg", "content-length": big.length });
        res.end(big);
      } else res.writeHead(404).end();
    },
  });
}, 120_000);
afterAll(async () => stack?.close());

/** Each plan as one job of its own session, run one after another in one fresh "container". */
async function inOneContainer(...plans: Session["plan"][]) {
  const sessions: Session[] = [];
  for (const plan of plans) {
    const s = queuedSession(plan, { id: "big", name: "big.jpg", sourceUrl: `${stack.sourceBase}/big.jpg` });
    await stack.processorDeps.sessions.create(s);
    sessions.push(s);
  }
  const events = sessions.map((s) => ({
    job: { sessionId: s.sessionId, imageId: "big", userId: "alice", attempt: 1 },
  }));
  const { stdout } = await run(
    process.execPath,
    ["--import", "tsx", "test/aws/processor-child.ts", JSON.stringify(events)],
    {
      env: {
        PATH: process.env.PATH,
        MALLOC_ARENA_MAX: "2",
        ...stack.aws.env,
        LOG_LEVEL: "silent",
        FETCH_ALLOW_HOSTS: new URL(stack.sourceBase).host,
      },
      maxBuffer: 1024 * 1024,
    },
  );
  const line = JSON.parse(stdout.trim().split("\n").at(-1)!) as { outs: unknown[]; maxRssBytes: number };
  const images = [];
  for (const s of sessions) images.push((await stack.processorDeps.sessions.get(s.sessionId))!.images[0]);
  return { ...line, images };
}

const resizeWebp = [
  { op: "resize", width: 800, fit: "inside", withoutEnlargement: false },
  { op: "format", format: "webp" },
] as Session["plan"];
const fullSizeSteps = [
  { op: "rotate", angle: 90 },
  { op: "grayscale" },
  { op: "sharpen", sigma: 1 },
  { op: "format", format: "png" },
] as Session["plan"];
const largestEffect = [
  { op: "resize", width: 6300, fit: "inside", withoutEnlargement: false },
  { op: "swirl", degrees: 90 },
  { op: "format", format: "jpeg", quality: 80 },
] as Session["plan"];
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

describe("processor memory on a 25 MB, 10000x10000 image by URL", () => {
  it("the input is as large as the limits allow", () => {
    expect(big.length).toBeLessThanOrEqual(MAX_IMAGE_SIZE);
    expect(big.length).toBeGreaterThan(20 * 1024 * 1024);
  });

  it("resize and convert to webp: done, under the memory alarm", async () => {
    const r = await inOneContainer(resizeWebp);
    console.log(`resize+webp: peak RSS ${mib(r.maxRssBytes)}`);
    expect(r.outs).toEqual([{ ok: true }]);
    expect(r.images[0]).toMatchObject({ status: "done", result: { width: 800, height: 800, format: "webp" } });
    expect(r.maxRssBytes).toBeLessThan(ALARM_BYTES);
  }, 180_000);

  it("an ImageMagick effect on the largest image effects take (~40 MP), then full-size steps in the same warm container", async () => {
    const r = await inOneContainer(largestEffect, fullSizeSteps);
    console.log(`swirl 40 MP, then full-size steps: peak RSS ${mib(r.maxRssBytes)}`);
    expect(r.outs).toEqual([{ ok: true }, { ok: true }]);
    expect(r.images[0]).toMatchObject({ status: "done", result: { width: 6300, height: 6300, format: "jpeg" } });
    expect(r.images[1]).toMatchObject({ status: "done", result: { width: 10_000, height: 10_000, format: "png" } });
    expect(r.maxRssBytes).toBeLessThan(ALARM_BYTES);
  }, 300_000);
});
