// The editor page's reducer (web/src/state.ts, pure logic): uploads under way when Undo, Redo, reopening
// a session or Keep editing moves their workspace off screen must still finish there, never stay
// "uploading" forever (counting against the image limit, never runnable, the leave warning on).
import { describe, expect, it } from "vitest";
import {
  type Action,
  type Item,
  initialState,
  isReady,
  reducer,
  resultsAsInputs,
  type State,
  uploading,
} from "../../web/src/state.js";
import type { SessionView } from "../../web/src/types.js";

const run = (actions: Action[], from: State = initialState) => actions.reduce(reducer, from);
const stuck = (s: State) => [s.ws, ...s.past, ...s.future].flatMap((w) => w.items.filter(uploading));
const item = (key: string, extra: Partial<Item> = {}): Item => ({ key, name: `${key}.png`, ...extra });
const uploadedPatch = (key: string): Action => ({
  type: "update",
  key,
  patch: { url: `upload:${key}`, width: 10, height: 10, bytes: 100, format: "png", upload: undefined },
});
const done = (key: string): Item =>
  item(key, {
    url: `upload:${key}`,
    run: {
      status: "done",
      percent: 100,
      result: { url: `/files/${key}`, width: 5, height: 5, format: "webp", bytes: 50 },
    },
  });
const session = (id: string, keys: string[]): SessionView => ({
  sessionId: id,
  createdAt: 0,
  status: "completed",
  plan: [],
  command: "convert to webp",
  images: keys.map((k) => ({
    id: k,
    name: `${k}.png`,
    sourceUrl: `upload:${k}`,
    status: "done",
    percent: 100,
    result: { url: `/files/${id}/${k}`, width: 5, height: 5, format: "webp", bytes: 50 },
  })),
});

describe("editor page: uploads under way when the workspace on screen changes", () => {
  it("Undo during Keep editing's uploads, the uploads end, Redo: the cards are ready or failed", () => {
    const before = run([{ type: "add", items: [done("a"), done("b")] }]);
    const { items } = resultsAsInputs(before.ws.items);
    const [x, y] = items.map((i) => i.key);
    let s = run(
      [
        { type: "keepEditing", items },
        { type: "update", key: x, patch: { upload: { percent: 40 } } },
      ],
      before,
    );
    s = run(
      [
        { type: "undo" },
        uploadedPatch(x),
        { type: "update", key: y, patch: { upload: { percent: 0, error: "upload failed (500)" } } },
      ],
      s,
    );
    expect(s.ws.items.map((i) => i.key)).toEqual(["a", "b"]);
    s = reducer(s, { type: "redo" });
    expect(s.ws.items.map((i) => i.key)).toEqual([x, y]);
    expect(isReady(s.ws.items[0])).toBe(true);
    expect(s.ws.items[1].upload).toEqual({ percent: 0, error: "upload failed (500)" });
    expect(stuck(s)).toEqual([]);
  });

  it("Redo during uploads, the uploads end, Undo: the cards are ready", () => {
    const before = run([{ type: "add", items: [done("a")] }]);
    const { items } = resultsAsInputs(before.ws.items);
    let s = run(
      [
        { type: "keepEditing", items },
        { type: "undo" },
        { type: "add", items: [item("c", { upload: { percent: 0 } })] },
      ],
      before,
    );
    s = run([{ type: "redo" }, uploadedPatch("c"), uploadedPatch(items[0].key), { type: "undo" }], s);
    expect(s.ws.items.map((i) => i.key)).toEqual(["a", "c"]);
    expect(isReady(s.ws.items[1])).toBe(true);
    expect(stuck(s)).toEqual([]);
  });

  it("reopening a session while files upload, then Undo: the files are uploaded", () => {
    let s = run([
      { type: "add", items: [item("a", { url: "upload:a" }), item("c", { upload: { percent: 10 } })] },
      { type: "session", session: session("s1", ["a"]), replace: true },
      uploadedPatch("c"),
    ]);
    expect(s.ws.items.map((i) => i.key)).toEqual(["a"]);
    expect(s.ws.items[0].run?.status).toBe("done");
    s = reducer(s, { type: "undo" });
    expect(s.ws.items.map((i) => i.key)).toEqual(["a", "c"]);
    expect(s.ws.items.every(isReady)).toBe(true);
    expect(stuck(s)).toEqual([]);
  });

  it("Keep editing while a file uploads: its copy keeps its key and finishes too", () => {
    const before = run([
      {
        type: "add",
        items: [
          done("a"),
          item("c", { upload: { percent: 30 } }),
          item("d", { url: "upload:d" }),
          item("e", { upload: { percent: 5, error: "too big" } }),
        ],
      },
    ]);
    const { items, from } = resultsAsInputs(before.ws.items);
    // Only the result is read back and uploaded; the upload under way keeps its key, the others get new ones.
    expect([...from.values()].map((i) => i.key)).toEqual(["a"]);
    expect(items.map((i) => i.key === "c")).toEqual([false, true, false, false]);
    expect(items.map((i) => i.key).filter((k) => ["a", "d", "e"].includes(k))).toEqual([]);
    let s = run([{ type: "keepEditing", items }, uploadedPatch("c")], before);
    expect(isReady(s.ws.items[1])).toBe(true);
    expect(isReady(s.past[0].items[1])).toBe(true);
    s = run([{ type: "update", key: items[0].key, patch: { upload: undefined, url: "upload:x" } }], s);
    expect(stuck(s)).toEqual([]);
  });
});
