// The progress stream (Server-Sent Events) over a SessionWatcher: replay what the client has not
// seen (images changed after Last-Event-ID), then follow changes until the session finishes,
// send `complete` and close. Event ids are session versions; heartbeats are comment lines.

import type { Clock, Session, SessionImage, SessionStore, SessionWatcher } from "../ports.js";
import { isFinished } from "../service/status.js";
import { sessionSummary } from "../service/view.js";

export interface ProgressStreamOptions {
  sessionId: string;
  sessions: SessionStore;
  watcher: SessionWatcher;
  /** Events up to this version were seen already (Last-Event-ID). */
  lastEventId?: number;
  heartbeatMs: number;
  /**
   * The stores' time source: a session past its ttl is gone though nothing deleted it (the sweeper
   * will), and a heartbeat after that says so. Default Date.
   */
  clock?: Clock;
  /** The `image` event body for a finished image (signed URL). */
  imageEvent: (img: SessionImage) => Promise<Record<string, unknown>>;
  /** The stream started (its first read); onClose follows exactly once. */
  onOpen?: () => void;
  onClose?: () => void;
}

export function formatEvent(event: string, data: unknown, id?: number): string {
  const lines = JSON.stringify(data)
    .split("\n")
    .map((l) => `data: ${l}`)
    .join("\n");
  return `${id !== undefined ? `id: ${id}\n` : ""}event: ${event}\n${lines}\n\n`;
}

export function progressStream(o: ProgressStreamOptions): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  let sent = o.lastEventId ?? 0;
  let opened = false;
  let closed = false;
  let unwatch: (() => void) | undefined;
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let chain: Promise<void> = Promise.resolve();
  let prelude = "";
  /** The session's ttl (epoch s) as last read. */
  let ttl: number | undefined;
  const cleanup = () => {
    if (closed) return;
    closed = true;
    unwatch?.();
    if (heartbeat) clearInterval(heartbeat);
    if (opened) o.onClose?.();
  };

  const open = (controller: ReadableStreamDefaultController<Uint8Array>) => {
    const write = (text: string) => {
      if (closed) return;
      // The stream's first words go out with the first state: one socket write, not two.
      if (prelude) {
        text = prelude + text;
        prelude = "";
      }
      try {
        controller.enqueue(enc.encode(text));
      } catch {
        cleanup();
      }
    };
    const finish = () => {
      if (closed) return;
      cleanup();
      try {
        controller.close();
      } catch {
        // already closed by the client
      }
    };

    const handle = async (s: Session | undefined) => {
      if (closed) return;
      if (!s) {
        write(formatEvent("gone", { sessionId: o.sessionId, message: "the session was deleted or has expired" }));
        finish();
        return;
      }
      ttl = s.ttl;
      // One chunk per change (one socket write): progress, image and complete often come together.
      let out = "";
      const changed = s.images.filter((i) => i.version > sent).sort((a, b) => a.version - b.version);
      for (const img of changed) {
        const progress = {
          imageId: img.id,
          status: img.status,
          percent: img.percent,
          ...(img.error ? { error: img.error } : {}),
        };
        if (img.status === "done" && img.result) {
          // The id goes on the image event only: a client cut off between the two resumes
          // before this version and so still gets its result.
          const image = await o.imageEvent(img);
          out += formatEvent("progress", progress) + formatEvent("image", image, img.version);
        } else out += formatEvent("progress", progress, img.version);
        sent = Math.max(sent, img.version);
      }
      const done = isFinished(s.status);
      if (done) out += formatEvent("complete", sessionSummary(s), s.version);
      if (out) write(out);
      if (done) finish();
    };
    const enqueue = (s: Session | undefined) => {
      chain = chain.then(() => handle(s)).catch(() => finish());
    };

    o.onOpen?.();
    prelude = `retry: 2000\n: imgedit progress for ${o.sessionId}\n\n`;
    // Watch first, then read: a change in between arrives through the watcher (ids dedupe).
    unwatch = o.watcher.watch(o.sessionId, enqueue);
    heartbeat = setInterval(() => {
      write(`: ping ${Date.now()}\n\n`);
      // Expired, with no job left to write to it (one still queued skips a missing session
      // without a word): no change will ever come, so look. A session still there sends only
      // what changed, as any change does.
      const was = ttl;
      if (was !== undefined && Math.floor((o.clock ?? Date).now() / 1000) > was) {
        ttl = undefined;
        chain = chain
          .then(() => o.sessions.get(o.sessionId))
          .then(
            (s) => handle(s),
            () => {
              ttl = was; // the store failed to answer: look again at the next heartbeat
            },
          )
          .catch(() => finish());
      }
    }, o.heartbeatMs);
    chain = chain
      .then(() => o.sessions.get(o.sessionId))
      .then((s) => handle(s))
      .catch(() => finish());
  };

  // Nothing is set up before the first read (high-water mark 0: no read, no pull). A response
  // never sent, because the client left while the handler ran, leaves no watcher or timer behind;
  // a client leaving mid-stream makes the adapter cancel the body, which cleans up. So the stream
  // needs no abort signal, whose Node adapter cost was a full Request per stream.
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (opened || closed) return;
        opened = true;
        open(controller);
      },
      cancel() {
        cleanup();
      },
    },
    { highWaterMark: 0 },
  );
}
