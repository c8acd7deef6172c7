// Commands that say several things at once, as people type them: the plan they give, and what
// that plan does to a real image (run through the pipeline, then sizes and pixels checked).
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { parseCommand } from "../../src/core/command/index.js";
import { DEFAULT_LIMITS } from "../../src/core/limits.js";
import { PlanSchema } from "../../src/core/operations.js";
import { processImage } from "../../src/core/pipeline.js";

const W = 400;
const H = 300;
// Quadrants: top-left red, top-right white, bottom-left blue, bottom-right black.
const QUAD = { tl: [220, 40, 30], tr: [255, 255, 255], bl: [30, 60, 220], br: [0, 0, 0] } as const;
let input: Buffer;

beforeAll(async () => {
  const raw = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const q = y < H / 2 ? (x < W / 2 ? QUAD.tl : QUAD.tr) : x < W / 2 ? QUAD.bl : QUAD.br;
      raw.set(q, (y * W + x) * 3);
    }
  input = await sharp(raw, { raw: { width: W, height: H, channels: 3 } })
    .jpeg({ quality: 95 })
    .withExif({ IFD0: { Copyright: "Ada", Artist: "Ada" } })
    .toBuffer();
});

function planOf(command: string) {
  const r = parseCommand(command);
  if (!r.ok) throw new Error(`not understood: ${r.error.message}`);
  expect(r.steps).toHaveLength(r.plan.length);
  return r.plan;
}

function refusal(command: string): string {
  const r = parseCommand(command);
  if (r.ok) throw new Error(`unexpectedly understood: ${JSON.stringify(r.plan)}`);
  expect(r.error.code).toBe("COMMAND_NOT_UNDERSTOOD");
  for (const u of r.error.unknown) expect(command.slice(u.start, u.end)).toBe(u.word);
  return r.error.message;
}

async function run(command: string) {
  const out = await processImage(input, planOf(command), { limits: DEFAULT_LIMITS });
  const meta = await sharp(out.data).metadata();
  const { data, info } = await sharp(out.data).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const px = (x: number, y: number) => {
    const i = (Math.round(y) * info.width + Math.round(x)) * info.channels;
    return [data[i], data[i + 1], data[i + 2]];
  };
  return { width: info.width, height: info.height, format: out.format, exif: meta.exif, data, px };
}

const near = (a: number[], b: readonly number[], tol = 40) => a.every((v, i) => Math.abs(v - b[i]) <= tol);
const isGrey = (p: number[]) => Math.max(...p) - Math.min(...p) <= 12;

describe("a thank-you is not an amount", () => {
  it.each([
    ["blur it, thanks a lot", "blur it"],
    ["blur it thanks a lot", "blur it"],
    ["sharpen it, thank you very much", "sharpen it"],
    ["make it brighter, thanks so much", "make it brighter"],
    ["make it smaller, thanks a lot", "make it smaller"],
    ["add a border, thanks very much", "add a border"],
    ["resize to 800 and blur, thanks a lot!", "resize to 800 and blur"],
    ["rotate 90, much appreciated", "rotate 90"],
    ["blur, thx", "blur"],
  ])("%s = %s", (polite, plain) => {
    expect(planOf(polite)).toEqual(planOf(plain));
  });

  it("blur it, thanks a lot: the pixels are those of a plain blur", async () => {
    const [polite, plain] = [await run("blur it, thanks a lot"), await run("blur it")];
    expect(polite.data.equals(plain.data)).toBe(true);
  });
});

describe("one side changed by an amount is refused, never read as the new length", () => {
  it.each([
    "make it 200px wider",
    "make it 100px taller",
    "make it 200px narrower",
    "increase the width by 200px",
    "reduce the height by 100 pixels",
    "add 200px to the width",
    "widen it by 200px",
  ])("%s", (command) => {
    expect(refusal(command)).toMatch(/not supported: say the new (size|width|height)/u);
  });

  it.each(["make it twice as wide", "double the width", "make it half as tall", "halve the height"])(
    "%s: a multiple of one side, never a 2 (or 0.5) pixel length",
    (command) => {
      expect(refusal(command)).toMatch(/the (width|height) alone is not supported/u);
    },
  );

  it.each(["crop it in half", "crop half of it", "crop the image by half"])(
    "%s: refused, never a scale that keeps the whole picture",
    (command) => {
      expect(refusal(command)).toContain("a crop by a fraction is not clear");
    },
  );

  it("the lengths themselves still read: width to 1200, 800 wide by 600 high", () => {
    expect(planOf("make it eight hundred wide")).toEqual(PlanSchema.parse([{ op: "resize", width: 800 }]));
    expect(planOf("increase the width to 1200")).toEqual(PlanSchema.parse([{ op: "resize", width: 1200 }]));
    expect(planOf("make it 800 wide by 600 high")).toEqual(
      PlanSchema.parse([{ op: "resize", width: 800, height: 600 }]),
    );
  });
});

describe("lists of steps", () => {
  const two = PlanSchema.parse([{ op: "resize", width: 800, height: 800 }, { op: "grayscale" }]);
  it.each([
    "* resize to 800\n* grayscale",
    "• resize to 800\n• grayscale",
    "  * resize to 800\n  * grayscale",
    "- resize to 800\n- grayscale",
    "1. resize to 800\n2. grayscale",
    "resize to 800; grayscale",
    "first resize to 800, then grayscale",
    "resize to 800 before making it grayscale",
  ])("%j", (command) => {
    expect(planOf(command)).toEqual(two);
  });

  it.each([
    [
      "convert to jpeg but keep the metadata",
      [
        { op: "format", format: "jpeg" },
        { op: "metadata", keep: true },
      ],
    ],
    [
      "rotate 90 before converting to png",
      [
        { op: "rotate", angle: 90 },
        { op: "format", format: "png" },
      ],
    ],
    [
      "resize to 800 as well as adding a red border",
      [
        { op: "resize", width: 800, height: 800 },
        { op: "border", width: 10, color: "red" },
      ],
    ],
    ["blur but only a little", [{ op: "blur", sigma: 1.5 }]],
    ["first of all grayscale", [{ op: "grayscale" }]],
  ])("%s", (command, plan) => {
    expect(planOf(command)).toEqual(PlanSchema.parse(plan));
  });

  it.each(["keep only the first frame", "resize the first image to 800"])(
    "%s: a first frame or image is no border and no filler",
    (command) => {
      expect(refusal(command)).toMatch(/"first (frame|image)"/u);
    },
  );

  it.each(["add text 'hi', bigger", "add text 'hi' but smaller", "add text 'hi' and a lot bigger"])(
    "%s: the text or the image? refused, never a silent scale of the image",
    (command) => {
      expect(refusal(command)).toContain("the text or the image?");
    },
  );

  it("watermark with <url>, scale 10%: the watermark's scale, not the image's", () => {
    const url = "https://example.com/logo.png";
    expect(planOf(`watermark with ${url}, scale 10%`)).toEqual(
      PlanSchema.parse([{ op: "watermark", url, scale: 0.1 }]),
    );
    expect(planOf(`watermark with ${url}, then scale the image to 50%`)).toEqual(
      PlanSchema.parse([
        { op: "watermark", url },
        { op: "scale", factor: 0.5 },
      ]),
    );
    expect(refusal(`watermark with ${url}, smaller`)).toContain("the watermark or the image?");
  });

  it("add text 'hi' and make the image bigger: the image it is", () => {
    expect(planOf("add text 'hi' and make the image bigger").map((o) => o.op)).toEqual(["text", "scale"]);
  });

  it("add a watermark: what is missing is the watermark's URL, not text", () => {
    expect(refusal("add a watermark and blur it")).toContain("a watermark needs an image URL");
  });
});

describe("steps that contradict each other are refused", () => {
  it.each([
    "resize to 800 and resize to 400",
    "resize to 800 and then resize to 400",
    "make it smaller and bigger",
    "make it half the size and then 800 wide",
  ])("%s: two sizes", (command) => {
    expect(refusal(command)).toContain("two sizes one after the other");
  });

  it.each([
    "make it brighter and darker",
    "make it brighter and also darker",
    "more contrast and less contrast",
    "more saturated and less saturated",
    "make it warmer and cooler",
  ])("%s: one tone both ways", (command) => {
    expect(refusal(command)).toContain("undo each other");
  });

  it.each(["rotate left and rotate right", "rotate 180 then rotate 180", "flip and flip", "invert and invert"])(
    "%s: back where it started",
    (command) => {
      expect(refusal(command)).toContain("undo each other");
    },
  );

  it("steps that do not undo each other still read: both flips, two quarter turns", () => {
    expect(planOf("flip horizontally and vertically")).toEqual(
      PlanSchema.parse([{ op: "flip" }, { op: "flip", direction: "vertical" }]),
    );
    expect(planOf("rotate 90 and rotate 90")).toEqual(
      PlanSchema.parse([
        { op: "rotate", angle: 90 },
        { op: "rotate", angle: 90 },
      ]),
    );
  });

  it("a cap after a size is no contradiction", () => {
    expect(planOf("resize to 1080 on the short side, max 2000 on the long side")).toEqual(
      PlanSchema.parse([
        { op: "resize", width: 1080, height: 1080, fit: "outside" },
        { op: "resize", width: 2000, height: 2000, withoutEnlargement: true },
      ]),
    );
  });

  it.each(["keep the exif but remove the gps", "keep metadata, strip gps", "strip metadata and keep metadata"])(
    "%s: metadata kept and stripped",
    (command) => {
      expect(refusal(command)).toContain("kept or stripped as a whole");
    },
  );
});

describe("negation and scope", () => {
  it("resize to 200 with no metadata strips it (the 'with' does not keep it)", async () => {
    expect(planOf("resize to 800 with no metadata")).toEqual(
      PlanSchema.parse([
        { op: "resize", width: 800, height: 800 },
        { op: "metadata", keep: false },
      ]),
    );
    const kept = await run("resize to 200 with metadata");
    expect(kept.exif).toBeDefined();
    const r = await run("resize to 200 with no metadata");
    expect([r.width, r.height]).toEqual([200, 150]);
    expect(r.exif).toBeUndefined();
  });

  it.each([
    ["resize to 800, no colour changes", "no colour changes"],
    ["resize to 800 with no colour change", "no colour change"],
    ["convert to webp without changing the colours", "without changing the colours"],
    ["resize to 800 and keep it in colour", "keep it in colour"],
  ])("%s: refused naming %j, never black and white", (command, words) => {
    const r = parseCommand(command);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.unknown.map((u) => u.word)).toEqual([words]);
    expect(r.error.message).toContain("leave this out");
  });

  it("no colour changes: nothing on the image turns grey", async () => {
    // the misreading this guards against: a grayscale step from "no colour"
    const r = parseCommand("resize to 200, no colour changes");
    expect(r.ok && r.plan.some((op) => op.op === "grayscale")).toBe(false);
  });

  it.each([
    ["grayscale everything but the red", "everything but"],
    ["blur all but the face", "all but"],
    ["darken everything except the sky", "everything except"],
  ])("%s: refused naming %j (no masks), not applied to the whole image", (command, words) => {
    const r = parseCommand(command);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.unknown.map((u) => u.word)).toContain(words);
    expect(r.error.message).toContain("no masks");
  });
});

describe("several steps on a real image", { timeout: 60_000 }, () => {
  it("crop to a square then resize to 200: 200x200", async () => {
    const r = await run("crop to a square then resize to 200");
    expect([r.width, r.height]).toEqual([200, 200]);
  });

  it("resize to 200 then crop to a square: the square of the resized image, 150x150", async () => {
    const r = await run("resize to 200 then crop to a square");
    expect([r.width, r.height]).toEqual([150, 150]);
  });

  it("rotate 90 and make it 150 wide: 150 is the width after turning", async () => {
    const r = await run("rotate 90 and make it 150 wide");
    expect([r.width, r.height]).toEqual([150, 200]);
    // clockwise: the old top-left (red) is now top-right, the old bottom-left (blue) top-left
    expect(near(r.px(r.width - 20, 20), QUAD.tl)).toBe(true);
    expect(near(r.px(20, 20), QUAD.bl)).toBe(true);
  });

  it("flip and rotate: mirrored, then turned a quarter clockwise", async () => {
    const r = await run("flip and rotate 90");
    expect([r.width, r.height]).toEqual([H, W]);
    // mirrored: red top-right; turned: red bottom-right
    expect(near(r.px(r.width - 20, r.height - 20), QUAD.tl)).toBe(true);
  });

  it("make it grayscale and add a red border: the border stays red, the picture is grey", async () => {
    const r = await run("make it grayscale and add a red 10px border");
    expect([r.width, r.height]).toEqual([W + 20, H + 20]);
    expect(near(r.px(3, 3), [255, 0, 0], 20)).toBe(true);
    expect(isGrey(r.px(60, 60))).toBe(true);
    expect(isGrey(r.px(60, H - 40))).toBe(true);
  });

  it.each(["make it 80% and convert to webp", "make it 80% and webp", "make it 80%, webp"])(
    "%s: 80% of the size (320x240) in webp, not a webp at quality 80",
    async (command) => {
      expect(planOf(command)).toEqual(
        PlanSchema.parse([
          { op: "scale", factor: 0.8 },
          { op: "format", format: "webp" },
        ]),
      );
      const r = await run(command);
      expect([r.format, r.width, r.height]).toEqual(["webp", 320, 240]);
    },
  );

  it("webp, 80%: after a format a percent is still its quality", () => {
    expect(planOf("webp, 80%")).toEqual(PlanSchema.parse([{ op: "format", format: "webp", quality: 80 }]));
  });

  it("resize to 200 as well as adding a red border, then webp, thanks a lot", async () => {
    const r = await run("resize to 200 as well as adding a red border, then webp, thanks a lot");
    expect([r.format, r.width, r.height]).toEqual(["webp", 220, 170]);
    expect(near(r.px(3, 3), [255, 0, 0], 30)).toBe(true);
    expect(near(r.px(40, 40), QUAD.tl, 30)).toBe(true);
  });
});
