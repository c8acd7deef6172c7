// Live progress for one session over Server-Sent Events. EventSource reconnects by itself and
// sends Last-Event-ID; if the stream is refused (the stream token expired, a proxy answering 502
// during a redeploy), we ask the session route for a fresh token and reconnect, with a backoff
// capped at 30 s, for as long as the session is followed: giving up would leave it looking stuck.
import { ApiError, api, type ImageStatus, type ResultView, type SessionView } from "./api";

const MAX_BACKOFF_MS = 30_000;

/** The wait before retry number `failures` (from 0): doubling from 0.5 s, capped at 30 s. */
export const retryDelay = (failures: number) => Math.min(MAX_BACKOFF_MS, 500 * 2 ** failures);

export interface StreamHandlers {
  progress(e: {
    imageId: string;
    status: ImageStatus;
    percent: number;
    error?: { code: string; message: string };
  }): void;
  image(e: { imageId: string } & ResultView): void;
  complete(e: {
    sessionId: string;
    status: string;
    images?: { id: string; status: ImageStatus; error?: { code: string; message: string } }[];
  }): void;
  /** The session as the server has it, after completion or when the stream had to be renewed. */
  session(s: SessionView): void;
  /** false while the stream is cut off and being retried, true once it flows again. */
  connection?(ok: boolean): void;
}

export function progressUrlFor(s: SessionView): string | undefined {
  if (s.progressUrl) return s.progressUrl;
  if (!s.streamToken) return undefined;
  return `image-edit/progress/${encodeURIComponent(s.sessionId)}?token=${encodeURIComponent(s.streamToken)}`;
}

/** Follows a session until it completes; returns a function that stops following. */
export function followSession(sessionId: string, progressUrl: string, h: StreamHandlers): () => void {
  let stopped = false;
  let source: EventSource | undefined;
  // Renewals since events last flowed; the first is the usual expired stream token, not an outage.
  let failures = 0;
  let lost = false;
  const setLost = (v: boolean) => {
    if (lost === v || stopped) return;
    lost = v;
    h.connection?.(!v);
  };

  const parse = <T>(e: Event): T | undefined => {
    try {
      return JSON.parse((e as MessageEvent<string>).data) as T;
    } catch {
      return undefined;
    }
  };

  const finish = async () => {
    source?.close();
    try {
      const s = await api.session(sessionId);
      if (!stopped) h.session(s);
    } catch {
      // the cards already hold what the stream said
    }
  };

  const open = (url: string) => {
    source = new EventSource(url);
    source.onopen = () => {
      failures = 0;
      setLost(false);
    };
    source.addEventListener("progress", (e) => {
      const d = parse<Parameters<StreamHandlers["progress"]>[0]>(e);
      if (d && !stopped) h.progress(d);
    });
    source.addEventListener("image", (e) => {
      const d = parse<Parameters<StreamHandlers["image"]>[0]>(e);
      if (d && !stopped) h.image(d);
    });
    source.addEventListener("complete", (e) => {
      const d = parse<Parameters<StreamHandlers["complete"]>[0]>(e);
      if (d && !stopped) h.complete(d);
      void finish();
    });
    source.addEventListener("gone", () => {
      source?.close();
      if (!stopped) h.complete({ sessionId, status: "failed", images: [] });
    });
    source.onerror = () => {
      if (stopped) return;
      if (source?.readyState !== EventSource.CLOSED) {
        setLost(true); // CONNECTING: the connection dropped and it retries itself
        return;
      }
      void renew();
    };
  };

  const renew = async () => {
    if (failures > 0) setLost(true);
    await new Promise((r) => setTimeout(r, retryDelay(failures)));
    failures += 1;
    if (stopped) return;
    try {
      const s = await api.session(sessionId);
      if (stopped) return;
      h.session(s);
      const done = s.status === "completed" || s.status === "partial" || s.status === "failed";
      const url = progressUrlFor(s);
      if (done || !url) setLost(false);
      else open(url);
    } catch (e) {
      if (stopped) return;
      if (e instanceof ApiError && e.status === 404) {
        // Deleted or expired meanwhile, as the stream's `gone` says.
        setLost(false);
        h.complete({ sessionId, status: "failed", images: [] });
        return;
      }
      setLost(true);
      void renew();
    }
  };

  open(progressUrl);
  return () => {
    stopped = true;
    source?.close();
  };
}
