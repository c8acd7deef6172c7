// The progress stream's life cycle on its own: nothing is set up before the first read, and a
// stream cancelled before or after that leaves no watcher, timer or open-stream count behind.
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteSessionStore } from "../../src/adapters/local/sqlite-sessions.js";
import { progressStream } from "../../src/http/sse.js";
import type { Session, SessionWatcher } from "../../src/ports.js";
import { withChangeNotifications } from "../../src/service/watch.js";
import { tempDir } from "./harness.js";

const base = new SqliteSessionStore(path.join(tempDir(), "sse.db"));
const { store, watcher } = withChangeNotifications(base);
afterAll(() => base.close());

function session(id: string): Session {
  const now = Date.now();
  return {
    sessionId: id,
    userId: "ann",
    createdAt: now,
    updatedAt: now,
    status: "queued",
    plan: [],
    images: [
      { id: "a", name: "a.png", sourceUrl: "http://x/a.png", status: "queued", percent: 0, attempts: 0, version: 1 },
    ],
    ttl: Math.floor(now / 1000) + 3600,
    version: 1,
  };
}

/**
 * A new session and a progress stream over it, counting the stream's subscriptions to the watcher
 * and its open/close callbacks.
 */
async function follow(id: string) {
  await store.create(session(id));
  let live = 0;
  const counts = { opened: 0, closed: 0 };
  const counting: SessionWatcher = {
    watch(sessionId, onChange) {
      live++;
      const stop = watcher.watch(sessionId, onChange);
      return () => {
        live--;
        stop();
      };
    },
  };
  const stream = progressStream({
    sessionId: id,
    sessions: store,
    watcher: counting,
    heartbeatMs: 20,
    imageEvent: async (img) => ({ imageId: img.id }),
    onOpen: () => counts.opened++,
    onClose: () => counts.closed++,
  });
  return { stream, counts, live: () => live };
}

const decode = (chunk: Uint8Array | undefined) => new TextDecoder().decode(chunk);

describe("progress stream life cycle", () => {
  it("sets nothing up until read; a stream cancelled unread leaves nothing behind", async () => {
    const { stream, counts, live } = await follow("unread");
    await new Promise((r) => setTimeout(r, 60)); // three heartbeats' time
    expect(live()).toBe(0);
    expect(counts).toEqual({ opened: 0, closed: 0 });
    await stream.cancel();
    expect(counts).toEqual({ opened: 0, closed: 0 });
  });

  it("opens on the first read, follows changes, and cleans up once when cancelled", async () => {
    const { stream, counts, live } = await follow("read");
    const reader = stream.getReader();
    const first = decode((await reader.read()).value);
    expect(first).toContain(": imgedit progress for read");
    expect(first).toContain('"status":"queued"');
    expect(live()).toBe(1);
    expect(counts).toEqual({ opened: 1, closed: 0 });
    await store.updateImage("read", "a", { status: "fetching", percent: 5 });
    let next = "";
    while (!next.includes("fetching")) next += decode((await reader.read()).value);
    expect(next).toMatch(/id: 2\nevent: progress/);
    expect(decode((await reader.read()).value)).toMatch(/^: ping \d+/); // the heartbeat
    await reader.cancel();
    expect(live()).toBe(0);
    expect(counts).toEqual({ opened: 1, closed: 1 });
  });

  it("ends by itself after complete, unsubscribed", async () => {
    const { stream, counts, live } = await follow("done");
    const reader = stream.getReader();
    await reader.read();
    await store.updateImage("done", "a", {
      status: "failed",
      percent: 100,
      error: { code: "FETCH_FAILED", message: "no" },
    });
    let text = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decode(value);
    }
    expect(text).toContain("event: complete");
    expect(live()).toBe(0);
    expect(counts).toEqual({ opened: 1, closed: 1 });
  });
});
