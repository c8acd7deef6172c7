// The benchmark compares imgedit with "bare sharp with identical settings": that comparison is only
// fair if the hand-written sharp baseline computes the same image. Checked here on a made photo.
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { CASES } from "../../bench/baselines.js";
import { DEFAULT_LIMITS } from "../../src/core/limits.js";
import { PlanSchema } from "../../src/core/operations.js";
import { processImage } from "../../src/core/pipeline.js";

// Detail everywhere (noise over a gradient), so median, sharpen and colour steps all change pixels.
async function photo(): Promise<Buffer> {
  const width = 2725;
  const height = 2225;
  const data = Buffer.alloc(width * height * 3);
  let seed = 7;
  for (let i = 0; i < data.length; i += 3) {
    const p = i / 3;
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const n = (seed >> 16) % 48;
    data[i] = ((p % width) * 200) / width + n;
    data[i + 1] = (Math.floor(p / width) * 200) / height + n;
    data[i + 2] = 90 + n;
  }
  return sharp(data, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 92 })
    .toBuffer();
}

async function pixels(encoded: Buffer) {
  return sharp(encoded).raw().toBuffer({ resolveWithObject: true });
}

describe("bench baselines do the same work as imgedit", () => {
  for (const c of CASES.filter((c) => c.input === "photo")) {
    it(`${c.id}: bare sharp's output equals imgedit's`, async () => {
      const input = await photo();
      const ours = await processImage(input, PlanSchema.parse(c.plan), { limits: DEFAULT_LIMITS });
      const theirs = await c.sharp(sharp, input);
      const [a, b] = await Promise.all([pixels(ours.data), pixels(theirs)]);
      expect([b.info.width, b.info.height, b.info.channels]).toEqual([a.info.width, a.info.height, a.info.channels]);
      let sum = 0;
      for (let i = 0; i < a.data.length; i++) sum += Math.abs(a.data[i] - b.data[i]);
      // Same pixels into the same encoder: at most encoder rounding apart.
      expect(sum / a.data.length).toBeLessThan(0.5);
    }, 60_000);
  }
});
