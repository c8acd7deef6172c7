// Live progress for one session over Server-Sent Events. EventSource reconnects by itself and
// sends Last-Event-ID; if the stream is refused (the stream token expired), we ask the session
// route for a fresh token and reconnect, a bounded number of times.
import { api, type ImageStatus, type ResultView, type SessionView } from "./api";

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
  let renewals = 0;

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
      if (stopped || source?.readyState !== EventSource.CLOSED) return; // CONNECTING: it retries itself
      void renew();
    };
  };

  const renew = async () => {
    if (renewals++ >= 5) return;
    await new Promise((r) => setTimeout(r, 500 * renewals));
    if (stopped) return;
    try {
      const s = await api.session(sessionId);
      if (stopped) return;
      h.session(s);
      const done = s.status === "completed" || s.status === "partial" || s.status === "failed";
      const url = progressUrlFor(s);
      if (!done && url) open(url);
    } catch {
      if (!stopped) void renew();
    }
  };

  open(progressUrl);
  return () => {
    stopped = true;
    source?.close();
  };
}
