// `imgedit info`'s text output, label by label: what the README's description of it has to match.
import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeImage } from "../helpers/images.js";
import { imgedit, scratch } from "./in-process.js";

let dir: string;
const bytes: Record<string, number> = {};

beforeAll(async () => {
  dir = await scratch("imgedit-info-");
  const files = {
    "photo.jpg": await makeImage({ width: 80, height: 40, format: "jpeg" }),
    "anim.gif": await makeImage({ width: 30, height: 30, pages: 3, delay: 100, format: "gif" }),
  };
  for (const [name, data] of Object.entries(files)) {
    await writeFile(path.join(dir, name), data);
    bytes[name] = data.length;
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("imgedit info output", () => {
  it("a JPEG: format, dimensions, pages, channels, space, alpha, orientation, icc, bytes, limits", async () => {
    const file = path.join(dir, "photo.jpg");
    const r = await imgedit(["info", file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      [
        file,
        "  format       jpeg",
        "  dimensions   80x40",
        "  pages        1",
        "  channels     3",
        "  space        srgb (uchar)",
        "  alpha        no",
        "  orientation  -",
        "  icc          no",
        `  bytes        ${bytes["photo.jpg"].toLocaleString("en-US")}`,
        "  limits       ok",
        "",
        "",
      ].join("\n"),
    );
  });

  it("an animated GIF: the pages line has the frame delays and the loop count", async () => {
    const file = path.join(dir, "anim.gif");
    const r = await imgedit(["info", file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      [
        file,
        "  format       gif",
        "  dimensions   30x30",
        "  pages        3 (delays 100 ms each, loop forever)",
        "  channels     4",
        "  space        srgb (uchar)",
        "  alpha        yes",
        "  orientation  -",
        "  icc          no",
        `  bytes        ${bytes["anim.gif"].toLocaleString("en-US")}`,
        "  limits       ok",
        "",
        "",
      ].join("\n"),
    );
  });
});
