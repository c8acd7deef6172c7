import { useCallback, useEffect, useState } from "react";
import { api, type SessionView } from "../api";
import { timeAgo } from "../format";
import { sessionLabel } from "../state";

interface Props {
  onOpen(sessionId: string): void;
  /** Bumped when a session starts or finishes, to refresh the list. */
  refreshKey: number;
  currentId?: string;
}

const STATUS_LABEL: Record<string, string> = {
  queued: "queued",
  running: "running",
  completed: "done",
  partial: "partly failed",
  failed: "failed",
};

/** The user's past sessions, newest first; opening one puts its images and results on the page. */
export function HistoryPanel({ onOpen, refreshKey, currentId }: Props) {
  const [items, setItems] = useState<SessionView[]>([]);
  const [cursor, setCursor] = useState<string | undefined>();
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  const load = useCallback(async (from?: string) => {
    setLoading(true);
    try {
      const page = await api.sessions(from);
      setItems((prev) => (from ? [...prev, ...page.items] : page.items));
      setCursor(page.nextCursor);
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setLoading(false);
    }
  }, []);

  // biome-ignore lint/correctness/useExhaustiveDependencies: refreshKey is the trigger
  useEffect(() => {
    void load();
  }, [load, refreshKey]);

  return (
    <section className="panel history" aria-labelledby="history-title">
      <div className="panel-head">
        <h2 id="history-title">History</h2>
        <button type="button" className="btn small ghost" onClick={() => load()} disabled={loading}>
          Refresh
        </button>
      </div>
      {error && <p className="error-text">{error}</p>}
      {items.length === 0 && !error && <p className="muted small">{loading ? "Loading…" : "No sessions yet."}</p>}
      <ul className="sessions" data-testid="history">
        {items.map((s) => (
          <li key={s.sessionId}>
            <button
              type="button"
              className={`session${s.sessionId === currentId ? " current" : ""}`}
              onClick={() => onOpen(s.sessionId)}
              aria-current={s.sessionId === currentId ? "true" : undefined}
            >
              <span className="session-command">{sessionLabel(s)}</span>
              <span className="session-meta muted">
                {s.images.length} image{s.images.length === 1 ? "" : "s"} · {STATUS_LABEL[s.status] ?? s.status} ·{" "}
                {timeAgo(s.createdAt)}
              </span>
            </button>
          </li>
        ))}
      </ul>
      {cursor && (
        <button type="button" className="btn small ghost" onClick={() => load(cursor)} disabled={loading}>
          Older sessions
        </button>
      )}
    </section>
  );
}
