// validatePlan's messages: full field paths everywhere, unknown parameters named as fields with
// what the operation takes, and format options that would do nothing refused.
import { describe, expect, it } from "vitest";
import type { ImageEditError } from "../../src/core/errors.js";
import { DEFAULT_LIMITS } from "../../src/core/limits.js";
import { FORMAT_OPTIONS } from "../../src/core/ops/output.js";
import { validatePlan } from "../../src/core/plan.js";

function refusal(plan: unknown, root?: string): ImageEditError {
  try {
    validatePlan(plan, DEFAULT_LIMITS, root ? { root } : {});
  } catch (e) {
    return e as ImageEditError;
  }
  throw new Error(`accepted: ${JSON.stringify(plan)}`);
}

describe("format options that do not apply to the format", () => {
  it.each([
    [
      { format: "jpeg", lossless: true },
      "lossless",
      "lossless applies only to webp and avif, not jpeg (jpeg is always lossy)",
    ],
    [{ format: "jpg", lossless: false }, "lossless", "lossless applies only to webp and avif, not jpeg"],
    [
      { format: "png", lossless: true },
      "lossless",
      "lossless applies only to webp and avif, not png (png is always lossless)",
    ],
    [{ format: "gif", lossless: true }, "lossless", "lossless applies only to webp and avif, not gif"],
    [{ format: "tiff", lossless: true }, "lossless", "lossless applies only to webp and avif, not tiff"],
    [{ format: "png", quality: 80 }, "quality", "quality applies only to jpeg, webp, avif and tiff, not png"],
    [{ format: "gif", quality: 80 }, "quality", "quality applies only to jpeg, webp, avif and tiff, not gif"],
  ])("%j is refused, naming the option and the formats it applies to", (step, option, says) => {
    const e = refusal([
      { op: "resize", width: 10 },
      { op: "format", ...step },
    ]);
    expect(e.code).toBe("INVALID_OPERATION");
    expect(e.field).toBe(`operations[1].${option}`);
    expect(e.message.startsWith(`operations[1].${option}: `)).toBe(true);
    expect(e.message).toContain(says);
  });

  it.each([
    { format: "webp", lossless: true },
    { format: "avif", lossless: true },
    { format: "webp", lossless: true, quality: 50 },
    { format: "jpeg", quality: 80 },
    { format: "webp", quality: 80 },
    { format: "avif", quality: 50 },
    // deliberate: TIFF with a quality is written JPEG-compressed (docs/readme/core.md)
    { format: "tiff", quality: 80 },
    { format: "png" },
    { format: "gif" },
  ])("%j is accepted", (step) => {
    expect(validatePlan([{ op: "format", ...step }], DEFAULT_LIMITS)).toHaveLength(1);
  });

  it("lists every option the format step has", () => {
    expect(Object.keys(FORMAT_OPTIONS).sort()).toEqual(["lossless", "quality"]);
  });
});

describe("unknown parameters", () => {
  it("are named as a field of the step, with the parameters the operation takes", () => {
    const e = refusal([{ op: "flip" }, { op: "blur", radius: 3 }]);
    expect(e.field).toBe("operations[1].radius");
    expect(e.message).toBe('operations[1].radius: blur has no parameter "radius" (its parameters: sigma)');
    expect(e.details?.issues).toEqual([
      { field: "operations[1].radius", message: 'blur has no parameter "radius" (its parameters: sigma)' },
    ]);
  });

  it("suggest the nearest parameter, and say when an operation takes none", () => {
    expect(refusal([{ op: "resize", widht: 800 }]).message).toBe(
      'operations[0].widht: resize has no parameter "widht" (did you mean "width"? its parameters: width, height, fit, withoutEnlargement, background)',
    );
    expect(refusal([{ op: "grayscale", amount: 1 }]).message).toBe(
      'operations[0].amount: grayscale has no parameter "amount" (it takes none)',
    );
  });

  it("each get an issue of their own, and a key that is no identifier stays readable", () => {
    const e = refusal([{ op: "rotate", angle: 90, colour: "red", "a b": 1 }]);
    expect(((e.details?.issues ?? []) as { field: string }[]).map((i) => i.field)).toEqual([
      "operations[0].colour",
      'operations[0]["a b"]',
    ]);
  });
});

describe("field paths", () => {
  it("the error's field and every issue's field have the same root", () => {
    const e = refusal(
      [
        { op: "resize", width: 0 },
        { op: "blur", radius: 1 },
      ],
      "operation.operations",
    );
    expect(e.field).toBe("operation.operations[0].width");
    expect(e.message.startsWith("operation.operations[0].width: ")).toBe(true);
    expect(e.details?.issues).toEqual([
      expect.objectContaining({ field: "operation.operations[0].width" }),
      expect.objectContaining({ field: "operation.operations[1].radius" }),
    ]);
  });

  it("the root names the plan itself and its steps too", () => {
    expect(refusal({ op: "flip" }, "operation.operations").field).toBe("operation.operations");
    expect(refusal([42], "operation.operations").field).toBe("operation.operations[0]");
    expect(refusal([{ op: "rezise" }], "operation.operations").field).toBe("operation.operations[0].op");
    expect(refusal([], "operation.operations").field).toBe("operation.operations");
  });

  it("defaults to operations", () => {
    const e = refusal([{ op: "resize", width: 0 }]);
    expect(e.field).toBe("operations[0].width");
    expect(e.details?.issues).toEqual([expect.objectContaining({ field: "operations[0].width" })]);
  });
});
