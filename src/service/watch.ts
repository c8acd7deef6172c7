// Two ways to learn that a session changed: in-process notifications from a wrapped store
// (one machine: every change, at once), or polling the store (Lambda: another process writes).
import { ImageEditError } from "../core/errors.js";
import type { Session, SessionStore, SessionWatcher } from "../ports.js";
import type { CountsUnfinished } from "./edit.js";

type Listener = (session: Session | undefined) => void;

/**
 * Wrap a store so that every write notifies the watchers of that session. Only writes through
 * the returned store are seen: give it to everything that writes in this process.
 */
export function withChangeNotifications(inner: SessionStore): { store: SessionStore; watcher: SessionWatcher } {
  const listeners = new Map<string, Set<Listener>>();
  const emit = (sessionId: string, session: Session | undefined) => {
    const set = listeners.get(sessionId);
    if (!set) return;
    for (const l of [...set]) {
      try {
        l(session);
      } catch {
        // a broken subscriber must not break the writer
      }
    }
  };
  const store: SessionStore = {
    create: async (s) => {
      await inner.create(s);
      emit(s.sessionId, s);
    },
    get: (id) => inner.get(id),
    listByUser: (u, o) => inner.listByUser(u, o),
    updateImage: async (sessionId, imageId, patch) => {
      let s: Session;
      try {
        s = await inner.updateImage(sessionId, imageId, patch);
      } catch (e) {
        // A writer that finds the session gone, though no delete went through this store (it
        // passed its TTL, say after the clock jumped, or another process deleted it), tells the
        // watchers as a delete would: a progress stream would otherwise wait for the sweeper.
        if (e instanceof ImageEditError && e.code === "NOT_FOUND" && listeners.has(sessionId)) {
          const now = await inner.get(sessionId).catch(() => null);
          if (now === undefined) emit(sessionId, undefined);
        }
        throw e;
      }
      emit(sessionId, s);
      return s;
    },
    delete: async (id) => {
      await inner.delete(id);
      emit(id, undefined);
    },
    findByIdempotencyKey: (u, k) => inner.findByIdempotencyKey(u, k),
    listExpired: (n, l) => inner.listExpired(n, l),
    listUnfinished: (l) => inner.listUnfinished(l),
    close: inner.close ? () => inner.close!() : undefined,
  };
  // Not a change a watcher sees (nothing in the session moves).
  if (inner.markEnqueued) store.markEnqueued = (s) => inner.markEnqueued!(s);
  // Pass optional read-only extensions through (see CountsUnfinished in edit.ts).
  const counter = inner as Partial<CountsUnfinished>;
  if (typeof counter.countUnfinishedByUser === "function")
    Object.assign(store, { countUnfinishedByUser: (u: string) => counter.countUnfinishedByUser!(u) });
  const watcher: SessionWatcher = {
    watch(sessionId, onChange) {
      let set = listeners.get(sessionId);
      if (!set) {
        set = new Set();
        listeners.set(sessionId, set);
      }
      set.add(onChange);
      return () => {
        set!.delete(onChange);
        if (set!.size === 0) listeners.delete(sessionId);
      };
    },
  };
  return { store, watcher };
}

/** Polls the store every intervalMs and reports when the version moved (or the session vanished). */
export function pollingWatcher(store: SessionStore, intervalMs = 1000): SessionWatcher {
  return {
    watch(sessionId, onChange) {
      let lastVersion = -1;
      let stopped = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const tick = async () => {
        if (stopped) return;
        try {
          const s = await store.get(sessionId);
          if (stopped) return;
          if (!s) {
            onChange(undefined);
            return;
          }
          if (s.version !== lastVersion) {
            lastVersion = s.version;
            onChange(s);
          }
        } catch {
          // transient store errors: try again next tick
        }
        if (!stopped) timer = setTimeout(tick, intervalMs);
      };
      timer = setTimeout(tick, intervalMs);
      return () => {
        stopped = true;
        if (timer) clearTimeout(timer);
      };
    },
  };
}
