// Phrasings the command table cannot hold (its rows are also read wrapped in "Please, ... Thanks!").
import { describe, expect, it } from "vitest";
import { parseCommand } from "../../src/core/command/index.js";
import { PlanSchema } from "../../src/core/operations.js";

describe("commands written as a list", () => {
  it("reads a numbered list of steps, one per line", () => {
    const r = parseCommand("1. resize to 800\n2) convert to webp\n  3. sharpen");
    if (!r.ok) throw new Error(r.error.message);
    expect(r.plan).toEqual(
      PlanSchema.parse([
        { op: "resize", width: 800, height: 800 },
        { op: "format", format: "webp" },
        { op: "sharpen", sigma: 1 },
      ]),
    );
  });

  it("keeps a number that ends a sentence inside a line: it is no list marker", () => {
    const r = parseCommand("blur 2. rotate 90");
    if (!r.ok) throw new Error(r.error.message);
    expect(r.plan).toEqual(
      PlanSchema.parse([
        { op: "blur", sigma: 2 },
        { op: "rotate", angle: 90 },
      ]),
    );
  });
});

const planOf = (command: string) => {
  const r = parseCommand(command);
  if (!r.ok) throw new Error(`${command}: ${r.error.message}`);
  return r.plan;
};
const refusal = (command: string) => {
  const r = parseCommand(command);
  if (r.ok) throw new Error(`${command}: unexpectedly understood: ${JSON.stringify(r.plan)}`);
  return r.error.message;
};

describe("multipliers above 20x", () => {
  it.each(["scale 21x", "scale 30x", "scale 100x", "scale by 21x"])(
    "%s: after scale it is a multiplier, refused past the limit",
    (command) => {
      expect(refusal(command)).toContain("a size can be scaled by at most 20x");
    },
  );

  it.each([
    ["resize to 25x", "25"],
    ["resize 25x", "25"],
    ["25x", "25"],
    ["21x", "21"],
    ["scale to 99x", "99"],
  ])("%s: px wide or times? refused naming both", (command, n) => {
    const message = refusal(command);
    expect(message).toContain(`"${n}x" is ambiguous`);
    expect(message).toContain(`${n}px wide`);
    expect(message).toContain(`${n} times the size`);
  });

  it.each([
    ["1920x", 1920],
    ["resize to 100x", 100],
    ["scale to 1920x", 1920],
  ])("%s: a width (ImageMagick geometry)", (command, width) => {
    expect(planOf(command)).toEqual(PlanSchema.parse([{ op: "resize", width }]));
  });
});

describe('"less" with a word that means down', () => {
  it.each([
    ["make it less dark", "brightness", 1.2],
    ["less dark", "brightness", 1.2],
    ["a little less dark", "brightness", 1.1],
    ["less dim", "brightness", 1.2],
    ["make it 20% less dark", "brightness", 1.2],
    ["less dark by 20%", "brightness", 1.2],
    ["less muted", "saturation", 1.3],
    ["less dull", "saturation", 1.3],
    ["less desaturated", "saturation", 1.3],
    ["less flat", "contrast", 1.2],
    // "less" of a word that means up, and verbs that turn down, still go down
    ["less bright", "brightness", 0.8],
    ["less contrast", "contrast", 0.8],
    ["dim it down", "brightness", 0.8],
  ])("%s: %s %s", (command, op, factor) => {
    expect(planOf(command)).toEqual(PlanSchema.parse([{ op, factor }]));
  });

  it("darker by less: no amount, refused", () => {
    expect(refusal("make it darker by less")).toContain('"less" after "darker" is not clear');
  });
});

describe("a small amount with rotate", () => {
  it.each([
    ["rotate a little", 2],
    ["rotate slightly", 2],
    ["rotate a bit", 2],
    ["turn a little", 2],
    ["rotate it a little to the left", -2],
    ["tilt a little", 2],
  ])("%s: a tilt of %s°, as tilt a little, never a quarter turn", (command, angle) => {
    expect(planOf(command)).toEqual(PlanSchema.parse([{ op: "rotate", angle }]));
  });

  it("rotate a lot names no angle: refused", () => {
    expect(refusal("rotate a lot")).toContain("say how many degrees");
  });
});

describe("quality numbers", () => {
  it.each([
    ["quality 1", "jpeg", 1],
    ["jpeg quality 1", "jpeg", 1],
    ["jpeg at 1", "jpeg", 1],
    ["webp quality 1", "webp", 1],
    ["compress to 1", "webp", 1],
    ["quality 0.5", "jpeg", 50],
    ["quality 0.85", "jpeg", 85],
    ["quality 100", "jpeg", 100],
  ])("%s: %s at %s", (command, format, quality) => {
    expect(planOf(command)).toEqual(PlanSchema.parse([{ op: "format", format, quality }]));
  });

  it.each(["quality 1.5", "quality 75.5", "jpeg at 80.5%"])("%s: no whole quality, refused", (command) => {
    expect(refusal(command)).toContain("a quality is a whole number from 1 to 100");
  });
});

describe("changes to the quality or the file size", () => {
  it.each([
    "increase quality by 10%",
    "reduce quality by 20%",
    "lower the quality by 30%",
    "decrease quality 20",
    "jpeg lower quality",
    "jpeg with less quality",
    "webp, less compression",
  ])("%s: refused, a quality is only set", (command) => {
    expect(refusal(command)).toContain("a quality can only be set, not raised or lowered");
  });

  it.each(["reduce file size by 30%", "compress by 20%", "compress by 80%", "reduce file size by half"])(
    "%s: refused, no quality aims at a file size",
    (command) => {
      expect(refusal(command)).toContain("imgedit cannot aim at a file size: say a quality");
    },
  );

  it("compress less: refused, naming what to say", () => {
    expect(refusal("compress less")).toContain("say compress a little, compress a lot, or a quality");
  });

  it("a quality set to a value, and reducing the file size alone, still read", () => {
    expect(planOf("lower the quality to 50")).toEqual(
      PlanSchema.parse([{ op: "format", format: "jpeg", quality: 50 }]),
    );
    expect(planOf("raise the quality to 90")).toEqual(
      PlanSchema.parse([{ op: "format", format: "jpeg", quality: 90 }]),
    );
    expect(planOf("reduce the file size")).toEqual(PlanSchema.parse([{ op: "format", format: "webp", quality: 75 }]));
  });
});

describe("a ratio with an orientation word", () => {
  it.each([
    ["crop to 16:9 portrait", "9:16"],
    ["crop to 2:3 landscape", "3:2"],
    ["crop to 4:3 portrait", "3:4"],
    ["crop to portrait 4:3", "3:4"],
    ["portrait 16:9", "9:16"],
    ["crop to 9:16 landscape", "16:9"],
    ["crop to 16x9 portrait", "9:16"],
    ["crop to 2/3 landscape", "3:2"],
    // a ratio that already agrees stays as written
    ["crop to a 4:5 portrait", "4:5"],
    ["crop to 16:9 landscape", "16:9"],
  ])("%s: %s", (command, aspectRatio) => {
    expect(planOf(command)).toEqual(PlanSchema.parse([{ op: "crop", aspectRatio }]));
  });

  it("a size in pixels against the word, or a square ratio with one, is refused", () => {
    expect(refusal("crop 800x600 portrait")).toContain('"portrait" contradicts 800x600');
    expect(refusal("crop to 1:1 landscape")).toContain("square, not landscape");
  });
});

describe("an amount with a step that has no strength", () => {
  it.each([
    ["sepia a little", "sepia"],
    ["a little sepia", "sepia"],
    ["grayscale a little", "grayscale"],
    ["invert a little", "invert"],
    ["normalize a lot", "normalize"],
  ])("%s: refused", (command, name) => {
    expect(refusal(command)).toContain(`${name} has no strength to set`);
  });
});

describe("a bare number from 1 to 10 after a size change", () => {
  it.each([
    ["shrink by 10", "10"],
    ["enlarge by 10", "10"],
    ["shrink by 2", "2"],
    ["make it 3 smaller", "3"],
    ["reduce the size by 5", "5"],
  ])("%s: 10% or 10 times? refused naming both", (command, n) => {
    expect(refusal(command)).toContain(`"${n}" is ambiguous here: say ${n}% or ${n} times`);
  });

  it.each([
    ["shrink by 11", 0.89],
    ["enlarge by 11", 1.11],
    ["shrink by 10%", 0.9],
    ["shrink 10x", 0.1],
    ["enlarge by 3 times", 3],
    ["upscale by 2", 2],
    ["downscale by 2", 0.5],
    ["scale by 2", 2],
  ])("%s: scale %s", (command, factor) => {
    expect(planOf(command)).toEqual(PlanSchema.parse([{ op: "scale", factor }]));
  });
});

describe("a dash standing apart before a number", () => {
  it.each([
    ["rotate - 90", "rotate", { angle: -90 }],
    ["rotate -- 90", "rotate", { angle: -90 }],
    ["rotate – 90", "rotate", { angle: -90 }],
    ["rotate — 90", "rotate", { angle: -90 }],
    ["rotate − 90", "rotate", { angle: -90 }],
    ["brightness – 20", "brightness", { factor: 0.8 }],
    ["hue - 30", "hue", { degrees: -30 }],
  ])("%s: a minus sign", (command, op, params) => {
    expect(planOf(command)).toEqual(PlanSchema.parse([{ op, ...params }]));
  });

  it("a dash as a joiner, or between two numbers, is no sign", () => {
    expect(planOf("resize to 800 - then grayscale")).toEqual(
      PlanSchema.parse([{ op: "resize", width: 800, height: 800 }, { op: "grayscale" }]),
    );
    expect(planOf("resize -> 800px")).toEqual(PlanSchema.parse([{ op: "resize", width: 800, height: 800 }]));
    expect(refusal("resize to 800 - 600")).toContain('"600"');
  });
});

describe("a percent before a format word", () => {
  it.each([
    ["make it 50% as a jpeg", "jpeg", 50],
    ["50% jpeg", "jpeg", 50],
    ["80% webp", "webp", 80],
  ])("%s: the size or the quality? refused naming both", (command, format, n) => {
    expect(refusal(command)).toContain(`say scale to ${n}% for the size, or ${format} quality ${n}`);
  });

  it.each([
    ["jpeg at 80%", "jpeg"],
    ["webp 80%", "webp"],
    ["80% quality webp", "webp"],
    ["compress 80% jpeg", "jpeg"],
  ])("%s: a quality", (command, format) => {
    expect(planOf(command)).toEqual(PlanSchema.parse([{ op: "format", format, quality: 80 }]));
  });

  it("make it 80% and jpeg: the size, then the format", () => {
    expect(planOf("make it 80% and jpeg")).toEqual(
      PlanSchema.parse([
        { op: "scale", factor: 0.8 },
        { op: "format", format: "jpeg" },
      ]),
    );
  });
});

describe("two sizes with other steps between them", () => {
  it.each([
    "resize to 800, grayscale, resize to 400",
    "scale 2x, grayscale, scale 0.5",
    "width 800, then grayscale, then height 600",
    "resize to 800 then crop to a square then resize to 400",
  ])("%s: refused", (command) => {
    expect(refusal(command)).toContain("two sizes in one command");
  });
});

describe("max and maximum", () => {
  it.each(["max 1200", "max 800", "maximum 800"])("%s: a cap on the size", (command) => {
    const n = Number(command.split(" ")[1]);
    expect(planOf(command)).toEqual(
      PlanSchema.parse([{ op: "resize", width: n, height: n, withoutEnlargement: true }]),
    );
  });

  it.each(["maximum quality", "maximum quality jpeg", "max quality jpeg"])("%s: jpeg at 100", (command) => {
    expect(planOf(command)).toEqual(PlanSchema.parse([{ op: "format", format: "jpeg", quality: 100 }]));
  });

  it("resize to 800px at maximum quality: the size, and quality 100 (no cap)", () => {
    expect(planOf("resize to 800px at maximum quality")).toEqual(
      PlanSchema.parse([
        { op: "resize", width: 800, height: 800 },
        { op: "format", format: "jpeg", quality: 100 },
      ]),
    );
  });
});

describe("refusals name what was written and the real limit", () => {
  it("resize to 1,000,000: the number as written, and the catalog's largest width", () => {
    expect(refusal("resize to 1,000,000")).toBe("Resize: a width of 1,000,000 is more than the largest, 100000.");
  });

  it("resize to 99999999999999999999: the catalog's largest width, not the largest safe integer", () => {
    expect(refusal("resize to 99999999999999999999")).toContain("is more than the largest, 100000");
  });

  it("cut the size by 30%: the crop-or-scale question, without 'did you mean put'", () => {
    const r = parseCommand("cut the size by 30%");
    if (r.ok) throw new Error("unexpectedly understood");
    expect(r.error.message).toContain("a crop by a fraction is not clear");
    expect(r.error.message).not.toContain("Did you mean");
    expect(r.error.unknown.map((u) => u.word)).not.toContain("cut");
  });
});
