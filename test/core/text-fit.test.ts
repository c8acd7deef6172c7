// A text overlay too long for its frame is cut before it is rendered large (see fitText in
// src/core/ops/overlay.ts): what shows in the frame must not change.
import { describe, expect, it } from "vitest";
import { makeImage } from "../helpers/images.js";
import { rgbAt, runOp } from "../helpers/run-op.js";

const WORDS = "lorem ipsum dolor sit amet WWW consectetur adipiscing elit sed do eiusmod tempor MMMM".split(" ");
const words = (chars: number) => {
  let s = "";
  for (let i = 0; s.length < chars; i++) s += `${WORDS[i % WORDS.length]} `;
  return s.trimEnd();
};

describe("text longer than its frame", () => {
  it("draws the same pixels as a text that just overfills the frame", { timeout: 60_000 }, async () => {
    const input = await makeImage({ width: 1000, height: 500, color: "#000000" });
    const op = { op: "text", size: 100, color: "red", opacity: 1, position: "top-left" };
    // ~17 characters a line at 100 px: 110 characters are 6-7 lines, past the frame's 4.3 lines
    // (so they fill it) and not cut; 480 are about 28 lines, cut to what reaches the frame.
    const enough = words(110);
    const long = words(480);
    const a = await runOp(input, { ...op, text: enough });
    const b = await runOp(input, { ...op, text: long });
    // the text reaches the bottom rows of the frame (a cut too early would leave them black)
    let inkBottom = 0;
    for (let y = a.height - 60; y < a.height; y++)
      for (let x = 0; x < a.width; x++) if (rgbAt(a, x, y)[0] > 100) inkBottom++;
    expect(inkBottom).toBeGreaterThan(100);
    expect(b.width).toBe(a.width);
    expect(b.height).toBe(a.height);
    expect(Buffer.compare(b.data, a.data)).toBe(0);
  });
});
