// A session's files deleted while its jobs are still storing results in the same directory (a
// DELETE, or the sweeper removing an expired session, beside running images).
import fs from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";
import { FsObjectStore } from "../../src/adapters/local/fs-objects.js";
import { tempDir } from "../http/harness.js";

it("deleting a prefix while files are being stored under it succeeds, and leaves no temp file of a store it cut off", async () => {
  const root = path.join(tempDir(), "objects");
  const store = new FsObjectStore(root, { secret: new Uint8Array(32) });
  const body = Buffer.alloc(200_000, 7);
  const refused: unknown[] = [];
  for (let round = 0; round < 40; round++) {
    const prefix = `u/s${round}/`;
    for (let i = 0; i < 4; i++) await store.put(`${prefix}old${i}.png`, body, "image/png");
    const puts = Array.from({ length: 8 }, (_, i) =>
      store.put(`${prefix}new${i}.png`, body, "image/png").catch((e: unknown) => refused.push(e)),
    );
    // Before the fix: ENOTEMPTY in most rounds (a file landed between emptying and removing).
    await expect(store.deletePrefix(prefix)).resolves.toBeUndefined();
    await Promise.all(puts);
    // What landed after the removal is there whole; what it cut off left no temp file behind.
    for (const key of await store.list(prefix)) expect((await store.getBuffer(key))?.length).toBe(body.length);
    const left = fs.existsSync(path.join(root, "u", `s${round}`))
      ? fs.readdirSync(path.join(root, "u", `s${round}`))
      : [];
    expect(left.filter((f) => f.includes(".tmp-"))).toEqual([]);
    await store.deletePrefix(prefix);
    expect(fs.existsSync(path.join(root, "u", `s${round}`))).toBe(false);
  }
});
