import { expect } from "vitest";
import { ImageEditError } from "../../src/core/errors.js";

/** The typed error a promise must reject with; fails the test if it resolves or throws anything else. */
export async function failure(p: Promise<unknown>): Promise<ImageEditError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ImageEditError);
    return e as ImageEditError;
  }
  throw new Error("expected a failure");
}
