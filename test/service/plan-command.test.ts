// planFromCommand: grammar plans are kept per command (clients repeat commands), shared frozen so
// no session can change another's, and refusals are never kept.
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { ImageEditError } from "../../src/core/errors.js";
import { DEFAULT_LIMITS } from "../../src/core/limits.js";
import { planFromCommand } from "../../src/service/edit.js";

const deps = { config: loadConfig({}), limits: DEFAULT_LIMITS };

describe("planFromCommand", () => {
  it("answers a repeated command with the same plan, frozen", async () => {
    const a = await planFromCommand("resize to 800px and convert to webp", deps);
    const b = await planFromCommand("resize to 800px and convert to webp", deps);
    expect(b).toBe(a);
    expect(a.plan.map((s) => s.op)).toEqual(["resize", "format"]);
    expect(a.plan[0]).toMatchObject({ width: 800 });
    expect(Object.isFrozen(a.plan[0])).toBe(true);
    expect(() => {
      (a.plan[0] as { width?: number }).width = 1;
    }).toThrow(TypeError);
    expect(a.steps.length).toBe(2);
  });

  it("plans each command on its own, and under each set of limits", async () => {
    const oneStep = { ...DEFAULT_LIMITS, maxOperations: 1 };
    const ok = await planFromCommand("resize to 400px", deps);
    expect(ok.plan[0]).toMatchObject({ width: 400 });
    expect((await planFromCommand("resize to 300px", deps)).plan[0]).toMatchObject({ width: 300 });
    await planFromCommand("resize to 800px and convert to webp", deps); // kept under the default limits
    // refused under limits of its own
    await expect(
      planFromCommand("resize to 800px and convert to webp", { ...deps, limits: oneStep }),
    ).rejects.toBeInstanceOf(ImageEditError);
  });

  it("refuses a command it does not understand, every time", async () => {
    for (let i = 0; i < 2; i++) {
      const e = await planFromCommand("frobnicate the pixels", deps).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ImageEditError);
      expect((e as ImageEditError).code).toBe("COMMAND_NOT_UNDERSTOOD");
    }
  });
});
