// Colour parsing shared by every operation that takes a colour.
import { describe, expect, it } from "vitest";
import { isColor, parseColor } from "../../src/core/color.js";

describe("parseColor", () => {
  it.each([
    ["white", { r: 255, g: 255, b: 255, alpha: 1 }],
    ["Sky Blue", { r: 0x87, g: 0xce, b: 0xeb, alpha: 1 }],
    ["light-grey", { r: 0xd3, g: 0xd3, b: 0xd3, alpha: 1 }],
    ["#f80", { r: 255, g: 0x88, b: 0, alpha: 1 }],
    ["#FF8800", { r: 255, g: 0x88, b: 0, alpha: 1 }],
    ["#ff880080", { r: 255, g: 0x88, b: 0, alpha: 0.502 }],
    ["#0008", { r: 0, g: 0, b: 0, alpha: 0.533 }],
    ["transparent", { r: 0, g: 0, b: 0, alpha: 0 }],
    ["rgb(10, 20, 30)", { r: 10, g: 20, b: 30, alpha: 1 }],
    ["rgba(10,20,30,0.25)", { r: 10, g: 20, b: 30, alpha: 0.25 }],
    ["rgba(10,20,30,50%)", { r: 10, g: 20, b: 30, alpha: 0.5 }],
  ])("%s", (input, expected) => {
    expect(parseColor(input)).toEqual(expected);
  });

  it.each([
    "",
    "blurple",
    "#ff88800",
    "#12345",
    "ff8800",
    "add",
    "bad",
    "facade",
    "rgb(256,0,0)",
    "rgba(1,2,3,2)",
    "#ggg",
  ])("refuses %j", (input) => {
    expect(isColor(input)).toBe(false);
  });
});
