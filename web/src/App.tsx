import { useCallback, useEffect, useReducer, useRef, useState } from "react";
import {
  ApiError,
  api,
  type EditOperation,
  getToken,
  previewFor,
  rememberPreview,
  type ServerLimits,
  type SessionView,
  setSession,
  setUnauthorizedHandler,
  storedUser,
  type UploadAnswer,
  type User,
  uploadFile,
} from "./api";
import { AddImages } from "./components/AddImages";
import { CommandBox } from "./components/CommandBox";
import { HistoryPanel } from "./components/HistoryPanel";
import { ImageCard } from "./components/ImageCard";
import { SignIn } from "./components/SignIn";
import { Toolbar } from "./components/Toolbar";
import { downloadAll, downloadOne, fetchResult, type Relinks } from "./download";
import { nameFromUrl } from "./format";
import { loadCommandHistory, rememberCommand } from "./history";
import { readLimits, screenFiles, screenUrls, sizeRefusal } from "./limits";
import type { QuickEdit } from "./quick-edits";
import { startEdit } from "./start-edit";
import {
  type Item,
  initialState,
  isReady,
  newKey,
  reducer,
  resultsAsInputs,
  sessionLabel,
  takesSlot,
  uploading,
} from "./state";
import { followSession, progressUrlFor, retryDelay } from "./stream";

const UPLOAD_PARALLEL = 3;
/** The lookup of an edit brought back by Undo/Redo: a proxy that never answers counts as a failure. */
const LOOKUP_TIMEOUT_MS = 10_000;

/** Answers to the lookup of an edit brought back by Undo/Redo that no retry would change. */
const LOOKUP_FINAL: Record<number, string> = {
  401: "Your sign-in has expired: sign in again to follow this edit.",
  403: "The service refused to show this edit (403): its progress and results cannot be followed here.",
  404: "This edit is no longer in the service (deleted or expired): its results cannot be shown.",
};

/** Runs tasks with at most `n` in flight. */
async function pool<T>(items: T[], n: number, f: (t: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.min(n, queue.length) }, async () => {
      for (let t = queue.shift(); t !== undefined; t = queue.shift()) await f(t);
    }),
  );
}

export function App() {
  const [user, setUser] = useState<User | null>(() => (getToken() ? storedUser() : null));
  // The token was refused (expired): sign-in opens over the editor instead of replacing it, so the
  // images, results, command and undo steps on the page survive signing in again.
  const [expired, setExpired] = useState(false);
  // Bumped on every sign-in: the editor asks again what the old token was refused.
  const [signIns, setSignIns] = useState(0);
  const [signedOut, setSignedOut] = useState(false);
  // What had focus when the sign-in dialog opened: it gets it back when the dialog closes.
  const beforeDialog = useRef<Element | null>(null);

  useEffect(() => {
    setUnauthorizedHandler(() => {
      setSession(null);
      if (!beforeDialog.current) beforeDialog.current = document.activeElement;
      setExpired(true);
    });
    return () => setUnauthorizedHandler(undefined);
  }, []);

  useEffect(() => {
    if (expired) return;
    const back = beforeDialog.current;
    beforeDialog.current = null;
    if (back instanceof HTMLElement && back.isConnected) back.focus();
  }, [expired]);

  const onSignedIn = (s: { token: string; user: User }) => {
    setSession(s);
    setExpired(false);
    setUser(s.user);
    setSignIns((n) => n + 1);
  };

  if (!user) return <SignIn onSignedIn={onSignedIn} focusFirst={signedOut} />;
  return (
    <>
      {/* Keyed by user: someone else signing in after an expiry gets an empty page, not these images. */}
      <Editor
        key={user.id}
        user={user}
        inert={expired}
        signIns={signIns}
        focusOnOpen={signIns > 0}
        onSignOut={() => {
          setSession(null);
          setExpired(false);
          setSignedOut(true);
          setUser(null);
        }}
      />
      {expired && <SignIn expired onSignedIn={onSignedIn} />}
    </>
  );
}

interface EditorProps {
  user: User;
  /** Behind the sign-in dialog: out of reach of the keyboard and screen readers. */
  inert: boolean;
  /** Changes after each sign-in. */
  signIns: number;
  /** Opened by signing in on this page: focus goes to its first control. */
  focusOnOpen: boolean;
  onSignOut(): void;
}

function Editor({ user, inert, signIns, focusOnOpen, onSignOut }: EditorProps) {
  const [state, dispatch] = useReducer(reducer, initialState);
  const [command, setCommand] = useState("");
  const [history, setHistory] = useState(() => loadCommandHistory(user.id));
  const [announce, setAnnounce] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [historyKey, setHistoryKey] = useState(0);
  // From a run's click until the service answers: `running` is only set then, and a second Enter or
  // toolbar click in between would start a second session.
  const [starting, setStarting] = useState(false);
  // The edit's start failed on the way (network, a proxy's 502) and is being sent again.
  const [startRetrying, setStartRetrying] = useState(false);
  const stopFollowing = useRef<(() => void) | undefined>(undefined);
  // The session whose progress stream is open, if any.
  const following = useRef<string | undefined>(undefined);
  // The progress stream is cut off and being retried (a proxy answering 502, the network down).
  const [connectionLost, setConnectionLost] = useState(false);
  // Same, for the lookup of an edit brought back by Undo/Redo; meanwhile Undo/Redo may leave it.
  const [unreachable, setUnreachable] = useState(false);
  // What the server takes (absent from an older server: files go up unchecked, as before).
  const [limits, setLimits] = useState<ServerLimits | undefined>(undefined);
  // Until GET /auth/config answers, the hint shows nothing rather than a guess that then changes.
  const [limitsKnown, setLimitsKnown] = useState(false);
  // Files left out of the last drop or pick, and why.
  const [fileNotes, setFileNotes] = useState<string[]>([]);
  const [blocked, setBlocked] = useState<string | null>(null);
  const { ws } = state;
  // For addFiles, which keeps one identity (the paste listener holds it). Failed uploads take no
  // slot: they are never sent, so they must not keep the user from adding as many as allowed.
  const slotsTaken = ws.items.filter(takesSlot).length;
  const current = useRef({ limits, count: slotsTaken });
  current.current = { limits, count: slotsTaken };

  useEffect(() => () => stopFollowing.current?.(), []);

  // Where focus goes once the page has redrawn after an action that removed or disabled the control
  // pressed (left alone, focus falls to the page: a screen reader user loses their place).
  const commandInput = useRef<HTMLTextAreaElement>(null);
  const grid = useRef<HTMLElement>(null);
  const selectAllButton = useRef<HTMLButtonElement>(null);
  const undoButton = useRef<HTMLButtonElement>(null);
  const redoButton = useRef<HTMLButtonElement>(null);
  const focusNext = useRef<(() => HTMLElement | null | undefined) | null>(null);
  useEffect(() => {
    const target = focusNext.current;
    focusNext.current = null;
    if (!target) return;
    const at = document.activeElement as HTMLButtonElement | null;
    if (!at || at === document.body || at.disabled) target()?.focus();
  });
  const refocus = (to: () => HTMLElement | null | undefined) => {
    focusNext.current = to;
  };
  // Signed in just now (not a reload): start at the first step, adding images.
  const chooseFiles = useRef<HTMLButtonElement>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: once, when the editor opens
  useEffect(() => {
    if (focusOnOpen) chooseFiles.current?.focus();
  }, []);

  // Settles once GET /auth/config has answered (or failed): files dropped before then wait for it,
  // so they are screened like any others instead of going up unchecked.
  const limitsReady = useRef<Promise<void> | undefined>(undefined);
  useEffect(() => {
    let live = true;
    limitsReady.current = api
      .authConfig()
      .then((c) => {
        const known = readLimits(c);
        current.current.limits = known; // before the redraw: a waiting drop reads it next
        if (live) setLimits(known);
      })
      .catch(() => undefined) // unreachable now: uploads say so themselves
      .finally(() => {
        if (live) setLimitsKnown(true);
      });
    return () => {
      live = false;
    };
  }, []);

  const selectedReady = ws.items.filter((i) => ws.selected.includes(i.key) && isReady(i));
  const withResults = ws.items.filter((i) => i.run?.result);
  const canRun = selectedReady.length > 0 && !ws.running && !starting;
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new command or selection clears the reason
  useEffect(() => setBlocked(null), [command, canRun]);

  // ---- adding images ----------------------------------------------------------------------
  const addFiles = useCallback(async (dropped: File[]) => {
    await limitsReady.current;
    // Refused here, before any byte is sent, with the reason: what the server would refuse anyway.
    const { limits, count } = current.current;
    const room = limits ? limits.maxImagesPerRequest - count : Number.POSITIVE_INFINITY;
    const { accepted: files, notes } = screenFiles(dropped, limits, room);
    setFileNotes(notes);
    if (files.length === 0) return;
    current.current.count += files.length; // a second drop waiting on the limits counts these
    const added = files.map((file) => ({
      file,
      item: {
        key: newKey(),
        name: file.name,
        previewUrl: URL.createObjectURL(file),
        bytes: file.size,
        upload: { percent: 0 },
      } satisfies Item,
    }));
    dispatch({ type: "add", items: added.map((a) => a.item) });
    setAnnounce(`Uploading ${files.length} image${files.length === 1 ? "" : "s"}`);
    let failed = 0;
    void pool(added, UPLOAD_PARALLEL, async ({ file, item }) => {
      let last = -1;
      try {
        const up = await uploadFile(file, (p) => {
          if (p === last) return;
          last = p;
          dispatch({ type: "update", key: item.key, patch: { upload: { percent: p } } });
        });
        dispatch({ type: "update", key: item.key, patch: uploaded(up) });
      } catch (e) {
        failed += 1;
        dispatch({
          type: "update",
          key: item.key,
          patch: { upload: { percent: Math.max(0, last), error: (e as Error).message } },
        });
      }
    }).then(() =>
      // Failures are said too: the reasons are on the cards, which the live region does not read.
      setAnnounce(
        failed
          ? `Uploads finished: ${files.length - failed} of ${files.length} uploaded, ${failed} failed`
          : "Uploads finished",
      ),
    );
  }, []);

  // URLs count against one edit's image limit as files do: the ones past it are not added (the
  // server would refuse the whole edit) and are handed back with the reason.
  const addUrls = useCallback((urls: string[]) => {
    const { limits, count } = current.current;
    const room = limits ? limits.maxImagesPerRequest - count : Number.POSITIVE_INFINITY;
    const screened = screenUrls(urls, limits, room);
    const n = screened.accepted.length;
    if (n) {
      dispatch({
        type: "add",
        items: screened.accepted.map((url) => ({ key: newKey(), name: nameFromUrl(url), url, previewUrl: url })),
      });
      // Said as uploads are: the box empties, and nothing else tells a screen reader it worked.
      setAnnounce(`Added ${n} image${n === 1 ? "" : "s"} by URL`);
    }
    return screened;
  }, []);

  // ---- running an edit ---------------------------------------------------------------------
  const stopStream = useCallback(() => {
    stopFollowing.current?.();
    stopFollowing.current = undefined;
    following.current = undefined;
    setConnectionLost(false);
  }, []);

  const follow = useCallback(
    (sessionId: string, progressUrl: string) => {
      stopStream();
      following.current = sessionId;
      stopFollowing.current = followSession(sessionId, progressUrl, {
        progress: (e) => dispatch({ type: "progress", sessionId, ...e }),
        image: (e) =>
          dispatch({
            type: "image",
            sessionId,
            imageId: e.imageId,
            result: { url: e.url, width: e.width, height: e.height, format: e.format, bytes: e.bytes },
          }),
        complete: (e) => {
          dispatch({ type: "complete", sessionId, images: e.images });
          const failed = e.images?.filter((i) => i.status === "failed").length ?? 0;
          const total = e.images?.length ?? 0;
          setAnnounce(`Finished: ${total - failed} of ${total} done${failed ? `, ${failed} failed` : ""}`);
          setHistoryKey((k) => k + 1);
        },
        session: (s) => dispatch({ type: "session", session: withPreviews(s), replace: false }),
        connection: (ok) => setConnectionLost(!ok),
      });
    },
    [stopStream],
  );

  // A running edit on screen that nothing follows (undo or redo brought it back after reopening
  // another session stopped its stream): ask the service where it is, and follow it if unfinished.
  // A failed or timed-out ask is retried as the stream is, until answered or the page moves on (the
  // cleanup); gone or refused is final. A new sign-in asks again.
  // biome-ignore lint/correctness/useExhaustiveDependencies: signIns is a trigger
  useEffect(() => {
    const id = ws.sessionId;
    if (!ws.running || !id || following.current === id) return;
    following.current = id;
    let asking = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ask = (failures: number) => {
      api.session(id, AbortSignal.timeout(LOOKUP_TIMEOUT_MS)).then(
        (s) => {
          if (!asking || following.current !== id) return; // left, or something else is followed
          asking = false;
          setUnreachable(false);
          setError((m) => (m === LOOKUP_FINAL[401] ? null : m)); // signed in again since
          dispatch({ type: "session", session: withPreviews(s), replace: false });
          const done = s.status === "completed" || s.status === "partial" || s.status === "failed";
          const url = progressUrlFor(s);
          if (!done && url) follow(id, url);
          else following.current = undefined;
        },
        (e) => {
          if (!asking || following.current !== id) return;
          const final = e instanceof ApiError ? LOOKUP_FINAL[e.status] : undefined;
          if (!final) {
            setUnreachable(true);
            timer = setTimeout(() => ask(failures + 1), retryDelay(failures));
            return;
          }
          asking = false;
          following.current = undefined;
          setUnreachable(false);
          setError(final);
          // Nothing will finish it on this page: it must not stay "running" (Undo and Run disabled).
          if (e.status !== 401) dispatch({ type: "complete", sessionId: id, images: [] });
        },
      );
    };
    ask(0);
    return () => {
      clearTimeout(timer);
      if (!asking) return;
      asking = false;
      if (following.current === id) following.current = undefined;
      setUnreachable(false);
    };
  }, [ws.sessionId, ws.running, follow, signIns]);

  // Leaving now (Back, closing the tab) would lose uploads under way (an Undo away too) or an edit
  // not yet seen.
  const inProgress =
    starting || ws.running || [ws, ...state.past, ...state.future].some((w) => w.items.some(uploading));
  useEffect(() => {
    if (!inProgress) return;
    const warn = (e: BeforeUnloadEvent) => {
      e.preventDefault();
      e.returnValue = true; // for browsers that only ask when it is set (Chrome before 119)
    };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [inProgress]);

  /** Whether the service accepted the edit. */
  const start = async (operation: EditOperation, label: string): Promise<boolean> => {
    if (!canRun) return false;
    setStarting(true);
    setError(null);
    const targets = selectedReady;
    try {
      const r = await startEdit(
        targets.map((i) => ({ id: i.key, url: i.url!, name: i.name })),
        operation,
        () => setStartRetrying(true),
      );
      dispatch({ type: "started", sessionId: r.sessionId, label, steps: r.steps, keys: targets.map((i) => i.key) });
      setAnnounce(`Editing ${targets.length} image${targets.length === 1 ? "" : "s"}`);
      setHistoryKey((k) => k + 1);
      follow(r.sessionId, r.progressUrl);
      return true;
    } catch (e) {
      setError((e as Error).message);
      return false;
    } finally {
      setStarting(false);
      setStartRetrying(false);
    }
  };

  const runCommand = (text: string) => {
    // Run disables itself while the edit starts and runs: the command box is where to go on from.
    refocus(() => commandInput.current);
    // Only commands the service took go into ↑/↓: a refused one is still in the box to fix.
    void start({ type: "command", command: text }, text).then((ok) => {
      if (ok) setHistory((h) => rememberCommand(user.id, h, text));
    });
  };

  const runQuick = (q: QuickEdit) => {
    if (!canRun) {
      sayBlocked();
      return;
    }
    void start({ type: "operations", operations: q.operations }, q.command).then((ok) => {
      if (ok) setHistory((h) => rememberCommand(user.id, h, q.command));
    });
  };

  // ---- results -----------------------------------------------------------------------------
  // Focus moves to the next card's Remove (else the previous one's; else the heading of the empty list).
  const remove = (key: string) => {
    const at = ws.items.findIndex((i) => i.key === key);
    const neighbour = ws.items[at + 1] ?? ws.items[at - 1];
    dispatch({ type: "remove", keys: [key] });
    refocus(
      () =>
        (neighbour &&
          grid.current?.querySelector<HTMLElement>(
            `[data-key="${neighbour.key}"] [data-action="remove"]:not(:disabled)`,
          )) ||
        document.getElementById("results-title"),
    );
  };

  const keepEditing = async () => {
    if (ws.running || withResults.length === 0) return;
    // Results become the new inputs: each is read back and uploaded, so the next edit starts from
    // exactly these bytes whatever the storage (local files or S3) and however long URLs live.
    const { items: next, from } = resultsAsInputs(ws.items);
    dispatch({ type: "keepEditing", items: next });
    const relinks: Relinks = new Map();
    refocus(() => commandInput.current);
    setAnnounce("Results are now the images to edit");
    await pool(
      next.filter((i) => from.has(i.key)),
      UPLOAD_PARALLEL,
      async (item) => {
        try {
          const blob = await fetchResult(from.get(item.key)!, relinks);
          const tooLarge = sizeRefusal(item.name, blob.size, current.current.limits);
          if (tooLarge) throw new Error(tooLarge);
          const preview = URL.createObjectURL(blob);
          const up = await uploadFile(new File([blob], item.name, { type: blob.type }), (p) =>
            dispatch({ type: "update", key: item.key, patch: { upload: { percent: p } } }),
          );
          dispatch({ type: "update", key: item.key, patch: { ...uploaded(up), previewUrl: preview } });
        } catch (e) {
          dispatch({ type: "update", key: item.key, patch: { upload: { percent: 0, error: (e as Error).message } } });
        }
      },
    );
  };

  const reopen = async (sessionId: string) => {
    setError(null);
    try {
      const s = await api.session(sessionId);
      stopStream();
      dispatch({ type: "session", session: withPreviews(s), replace: true });
      if (s.command) setCommand(s.command);
      setAnnounce(`Opened session: ${sessionLabel(s)}`);
      const done = s.status === "completed" || s.status === "partial" || s.status === "failed";
      const url = progressUrlFor(s);
      if (!done && url) follow(s.sessionId, url);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  const saveAll = async () => {
    try {
      const n = await downloadAll(ws.items, `imgedit-${ws.sessionId ?? "results"}.zip`);
      setAnnounce(`Downloading ${n} results as a zip`);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  // Pasting image files anywhere but a text field adds them (screenshots from the clipboard).
  useEffect(() => {
    const onPaste = (e: ClipboardEvent) => {
      if (isTextEntry(e.target)) return;
      const files = Array.from(e.clipboardData?.files ?? []).filter((f) => f.type.startsWith("image/"));
      if (files.length === 0) return;
      e.preventDefault();
      void addFiles(
        files.map((f, i) =>
          f.name && f.name !== "image.png" ? f : new File([f], `pasted-${Date.now()}-${i + 1}.png`, { type: f.type }),
        ),
      );
    };
    window.addEventListener("paste", onPaste);
    return () => window.removeEventListener("paste", onPaste);
  }, [addFiles]);

  // ---- undo / redo -------------------------------------------------------------------------
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!(e.ctrlKey || e.metaKey) || e.altKey) return;
      const t = e.target as HTMLElement | null;
      // In text fields, Ctrl+Z belongs to the text.
      if (t && (t.tagName === "TEXTAREA" || (t.tagName === "INPUT" && (t as HTMLInputElement).type === "text"))) return;
      const key = e.key.toLowerCase();
      if (key === "z" && !e.shiftKey) {
        e.preventDefault();
        dispatch({ type: "undo", evenIfRunning: unreachable });
      } else if ((key === "z" && e.shiftKey) || key === "y") {
        e.preventDefault();
        dispatch({ type: "redo", evenIfRunning: unreachable });
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [unreachable]);

  // Said when Enter or a quick edit is pressed with nothing to run on (otherwise nothing happens,
  // silently). While an edit starts or runs, a second press does nothing on purpose (one press, one
  // session) and the Run button says why. A new command or selection clears it.
  const blockedReason =
    ws.running || starting
      ? undefined
      : ws.items.length === 0
        ? "Add images first: choose files or add image URLs."
        : ws.items.some((i) => ws.selected.includes(i.key) && i.upload && !i.upload.error)
          ? "Wait for the selected images to finish uploading."
          : ws.selected.length === 0
            ? "No image is selected: tick the images to edit, or press Select all."
            : "None of the selected images is ready: their uploads failed. Remove them or add others.";
  const sayBlocked = () => setBlocked(blockedReason ?? null);

  const canUndo = state.past.length > 0 && (!ws.running || unreachable);
  const canRedo = state.future.length > 0 && (!ws.running || unreachable);
  const runLabel = ws.running
    ? "Running…"
    : starting
      ? "Starting…"
      : `Run on ${selectedReady.length || "no"} image${selectedReady.length === 1 ? "" : "s"}`;

  return (
    <div className="app" inert={inert}>
      <header className="topbar">
        <h1 className="brand">
          <span className="logo" aria-hidden="true">
            ◆
          </span>{" "}
          imgedit
        </h1>
        <div className="topbar-actions">
          <button
            type="button"
            className="btn small ghost"
            onClick={() => {
              dispatch({ type: "undo", evenIfRunning: unreachable });
              refocus(() => redoButton.current);
            }}
            disabled={!canUndo}
            ref={undoButton}
            aria-keyshortcuts="Control+Z"
            title="Undo (Ctrl+Z)"
          >
            ↶ Undo
          </button>
          <button
            type="button"
            className="btn small ghost"
            onClick={() => {
              dispatch({ type: "redo", evenIfRunning: unreachable });
              refocus(() => undoButton.current);
            }}
            disabled={!canRedo}
            ref={redoButton}
            aria-keyshortcuts="Control+Shift+Z"
            title="Redo (Ctrl+Shift+Z)"
          >
            ↷ Redo
          </button>
          <span className="user muted" title="Signed in">
            {user.name ?? user.id}
          </span>
          <button type="button" className="btn small ghost" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>

      <div className="sr-only" aria-live="polite" aria-atomic="true" data-testid="announcer">
        {announce}
      </div>

      <div className="layout">
        <div className="area-add">
          <AddImages
            onFiles={addFiles}
            onUrls={addUrls}
            limits={limits}
            limitsKnown={limitsKnown}
            fileNotes={fileNotes}
            chooseRef={chooseFiles}
          />
        </div>

        <main className="area-main">
          <CommandBox
            value={command}
            onChange={setCommand}
            onRun={runCommand}
            history={history}
            canRun={canRun}
            runLabel={runLabel}
            signIns={signIns}
            onBlocked={sayBlocked}
            blocked={blocked}
            inputRef={commandInput}
          >
            <Toolbar onEdit={runQuick} disabled={!canRun} />
          </CommandBox>
          {/* Always in the page, so a screen reader hears the notice when it appears. */}
          <div role="status" aria-live="polite" data-testid="connection">
            {(connectionLost || unreachable) && ws.running && (
              <p className="notice">Connection lost, retrying… The edit carries on in the service.</p>
            )}
            {startRetrying && starting && <p className="notice">Connection lost, retrying… Starting the edit.</p>}
          </div>
          {error && (
            <div className="banner" role="alert">
              <span>{error}</span>
              <button
                type="button"
                className="btn small ghost"
                onClick={() => {
                  setError(null);
                  refocus(() => commandInput.current);
                }}
              >
                Dismiss
              </button>
            </div>
          )}

          <section className="results" aria-labelledby="results-title" ref={grid}>
            <div className="results-head">
              <h2 id="results-title" tabIndex={-1}>
                {ws.label ? (
                  <>
                    <span className="muted">Last edit:</span> {ws.label}
                  </>
                ) : (
                  "Your images"
                )}
              </h2>
              {ws.steps && ws.steps.length > 0 && (
                <p className="muted small steps-inline" data-testid="run-steps">
                  {ws.steps.join(" → ")}
                </p>
              )}
              <div className="selection-bar">
                <span className="muted small" data-testid="selection-count">
                  {ws.selected.length} of {ws.items.length} selected
                </span>
                <button
                  type="button"
                  className="btn small ghost"
                  onClick={() => dispatch({ type: "select", keys: ws.items.map((i) => i.key) })}
                  disabled={ws.items.length === 0}
                  ref={selectAllButton}
                >
                  Select all
                </button>
                <button
                  type="button"
                  className="btn small ghost"
                  onClick={() => {
                    dispatch({ type: "select", keys: [] });
                    refocus(() => selectAllButton.current);
                  }}
                  disabled={ws.selected.length === 0}
                >
                  Select none
                </button>
                <span className="spacer" />
                <button type="button" className="btn small" onClick={saveAll} disabled={withResults.length === 0}>
                  Download all (.zip)
                </button>
                <button
                  type="button"
                  className="btn small primary"
                  onClick={keepEditing}
                  disabled={ws.running || withResults.length === 0}
                >
                  Keep editing
                </button>
              </div>
            </div>
            {ws.items.length === 0 ? (
              <div className="empty">
                <p>No images yet.</p>
                <p className="muted small">Drop some on the left, choose files, or add URLs. Then say what to do.</p>
              </div>
            ) : (
              <div className="grid" data-testid="grid">
                {ws.items.map((item) => (
                  <ImageCard
                    key={item.key}
                    item={item}
                    selected={ws.selected.includes(item.key)}
                    busy={ws.running}
                    onToggle={() => dispatch({ type: "toggle", key: item.key })}
                    onRemove={() => remove(item.key)}
                    onDownload={() => downloadOne(item).catch((e) => setError((e as Error).message))}
                  />
                ))}
              </div>
            )}
          </section>
        </main>

        <div className="area-history">
          <HistoryPanel onOpen={reopen} refreshKey={historyKey + signIns} currentId={ws.sessionId} />
        </div>
      </div>
    </div>
  );
}

// Inputs that take typed or pasted text; a checkbox or the slider does not, so pasting there adds.
const TEXT_INPUTS = new Set(["text", "search", "url", "email", "number", "password", "tel"]);

function isTextEntry(t: EventTarget | null): boolean {
  if (!(t instanceof HTMLElement)) return false;
  if (t instanceof HTMLInputElement) return TEXT_INPUTS.has(t.type);
  return t instanceof HTMLTextAreaElement || t.isContentEditable;
}

/** Originals of a reopened session: uploads made in this tab have a remembered preview link. */
function withPreviews(s: SessionView): SessionView {
  return { ...s, images: s.images.map((i) => ({ ...i, previewUrl: i.previewUrl ?? previewFor(i.sourceUrl) })) };
}

function uploaded(up: UploadAnswer): Partial<Item> {
  rememberPreview(up.url, up.previewUrl);
  return {
    url: up.url,
    width: up.width,
    height: up.height,
    bytes: up.bytes,
    format: up.format,
    upload: undefined,
  };
}
