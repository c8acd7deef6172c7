// The editor's state: a workspace of images (inputs plus their latest run), and undo/redo over
// "keep editing" steps (each step makes the results the new inputs). Pure reducer, no I/O.
// .js specifiers: tests type-check this file under the root tsconfig (NodeNext).
import { resultFileName } from "./format.js";
import type { ImageStatus, ResultView, SessionView, SourceView } from "./types.js";

export interface Run {
  status: ImageStatus;
  percent: number;
  error?: { code: string; message: string };
  result?: ResultView;
  /** The session that made `result`: its signed link expires, and that session signs a fresh one. */
  sessionId?: string;
}

export interface Item {
  /** Local key; also the image id sent to the service (unique within a session). */
  key: string;
  name: string;
  /** What the service fetches: `upload:<id>`, an https URL, ... Absent while uploading. */
  url?: string;
  /** What the page shows for the input. */
  previewUrl?: string;
  width?: number;
  height?: number;
  bytes?: number;
  format?: string;
  upload?: { percent: number; error?: string };
  run?: Run;
}

export interface Workspace {
  items: Item[];
  selected: string[];
  sessionId?: string;
  /** The edit that produced the current runs, for display. */
  label?: string;
  steps?: string[];
  running: boolean;
}

export interface State {
  ws: Workspace;
  past: Workspace[];
  future: Workspace[];
}

export const initialState: State = { ws: { items: [], selected: [], running: false }, past: [], future: [] };

export type Action =
  | { type: "add"; items: Item[] }
  | { type: "update"; key: string; patch: Partial<Item> }
  | { type: "remove"; keys: string[] }
  | { type: "select"; keys: string[] }
  | { type: "toggle"; key: string }
  | { type: "started"; sessionId: string; label: string; steps?: string[]; keys: string[] }
  | { type: "progress"; sessionId: string; imageId: string; status: ImageStatus; percent: number; error?: Run["error"] }
  | { type: "image"; sessionId: string; imageId: string; result: ResultView }
  | { type: "complete"; sessionId: string; images?: { id: string; status: ImageStatus; error?: Run["error"] }[] }
  | { type: "session"; session: SessionView; replace: boolean }
  | { type: "keepEditing"; items: Item[] }
  // evenIfRunning: the running edit on screen is one the page cannot reach; coming back asks again.
  | { type: "undo"; evenIfRunning?: boolean }
  | { type: "redo"; evenIfRunning?: boolean };

let counter = 0;
/** Short unique ids: safe as service image ids and as React keys. */
export function newKey(prefix = "img"): string {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${counter.toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

const mapItem = (ws: Workspace, key: string, f: (i: Item) => Item): Workspace => ({
  ...ws,
  items: ws.items.map((i) => (i.key === key ? f(i) : i)),
});

const sameSession = (ws: Workspace, sessionId: string) => ws.sessionId === sessionId;

/** What a session did, for people: its command, or its steps for structured edits. */
export function sessionLabel(s: Pick<SessionView, "command" | "steps">): string {
  return s.command || s.steps?.join(", ") || "structured edit";
}

/** A session from the service as a workspace: its images with their sources and results. */
export function workspaceFromSession(s: SessionView): Workspace {
  const items = s.images.map(
    (img): Item => ({
      key: img.id,
      name: img.name,
      url: img.sourceUrl,
      previewUrl: img.previewUrl ?? (/^https?:/i.test(img.sourceUrl) ? img.sourceUrl : undefined),
      ...sourceFacts(img.source),
      run: { status: img.status, percent: img.percent, error: img.error, result: img.result, sessionId: s.sessionId },
    }),
  );
  const done = s.status === "completed" || s.status === "partial" || s.status === "failed";
  return {
    items,
    selected: items.map((i) => i.key),
    sessionId: s.sessionId,
    label: sessionLabel(s),
    steps: s.steps,
    running: !done,
  };
}

function sourceFacts(src: SourceView | undefined): Partial<Item> {
  return src ? { width: src.width, height: src.height, bytes: src.bytes, format: src.format } : {};
}

function reduceWs(ws: Workspace, a: Action): Workspace {
  switch (a.type) {
    case "add":
      return { ...ws, items: [...ws.items, ...a.items], selected: [...ws.selected, ...a.items.map((i) => i.key)] };
    case "update":
      return mapItem(ws, a.key, (i) => ({ ...i, ...a.patch }));
    case "remove":
      return {
        ...ws,
        items: ws.items.filter((i) => !a.keys.includes(i.key)),
        selected: ws.selected.filter((k) => !a.keys.includes(k)),
      };
    case "select":
      return { ...ws, selected: a.keys.filter((k) => ws.items.some((i) => i.key === k)) };
    case "toggle":
      return {
        ...ws,
        selected: ws.selected.includes(a.key) ? ws.selected.filter((k) => k !== a.key) : [...ws.selected, a.key],
      };
    case "started": {
      // Images not in this run keep their earlier result; the ones in it start afresh.
      const next = {
        ...ws,
        sessionId: a.sessionId,
        label: a.label,
        steps: a.steps,
        running: true,
      };
      return {
        ...next,
        items: ws.items.map((i) => (a.keys.includes(i.key) ? { ...i, run: { status: "queued", percent: 0 } } : i)),
      };
    }
    case "progress":
      if (!sameSession(ws, a.sessionId)) return ws;
      return mapItem(ws, a.imageId, (i) => ({
        ...i,
        run: {
          ...i.run,
          status: a.status,
          // Progress never goes backwards on screen (events may be replayed after a reconnect).
          percent: a.status === "failed" ? (i.run?.percent ?? 0) : Math.max(a.percent, i.run?.percent ?? 0),
          error: a.error ?? (a.status === "failed" ? i.run?.error : undefined),
        },
      }));
    case "image":
      if (!sameSession(ws, a.sessionId)) return ws;
      return mapItem(ws, a.imageId, (i) => ({
        ...i,
        run: { ...i.run, status: "done", percent: 100, result: a.result, sessionId: a.sessionId },
      }));
    case "complete": {
      if (!sameSession(ws, a.sessionId)) return ws;
      let next: Workspace = { ...ws, running: false };
      for (const img of a.images ?? []) {
        next = mapItem(next, img.id, (i) => ({
          ...i,
          run: { ...i.run, percent: i.run?.percent ?? 0, status: img.status, error: img.error ?? i.run?.error },
        }));
      }
      return next;
    }
    case "session": {
      if (!sameSession(ws, a.session.sessionId)) return ws;
      // Merge what the server knows (source facts, signed result URLs) into the live cards.
      const fresh = workspaceFromSession(a.session);
      return {
        ...ws,
        running: fresh.running,
        steps: ws.steps ?? fresh.steps,
        items: ws.items.map((i) => {
          const f = fresh.items.find((x) => x.key === i.key);
          if (!f) return i;
          return {
            ...i,
            width: i.width ?? f.width,
            height: i.height ?? f.height,
            bytes: i.bytes ?? f.bytes,
            format: i.format ?? f.format,
            run: f.run,
          };
        }),
      };
    }
    default:
      return ws;
  }
}

export function reducer(state: State, a: Action): State {
  switch (a.type) {
    case "update": {
      // An upload's news reaches its item wherever it is: Undo, Redo or reopening a session may have
      // moved its workspace off screen, and coming back must not find it uploading forever.
      const patch = (w: Workspace) => (w.items.some((i) => i.key === a.key) ? reduceWs(w, a) : w);
      return { ws: patch(state.ws), past: state.past.map(patch), future: state.future.map(patch) };
    }
    case "keepEditing":
      return {
        past: [...state.past, state.ws],
        future: [],
        ws: { items: a.items, selected: a.items.map((i) => i.key), running: false },
      };
    case "undo": {
      const prev = state.past.at(-1);
      if (!prev || (state.ws.running && !a.evenIfRunning)) return state;
      return { past: state.past.slice(0, -1), future: [state.ws, ...state.future], ws: prev };
    }
    case "redo": {
      const next = state.future[0];
      if (!next || (state.ws.running && !a.evenIfRunning)) return state;
      return { past: [...state.past, state.ws], future: state.future.slice(1), ws: next };
    }
    case "session":
      if (a.replace) {
        // Reopening a past session is a step too: undo goes back to what was on screen.
        const keep = state.ws.items.length > 0;
        return {
          past: keep ? [...state.past, state.ws] : state.past,
          future: [],
          ws: workspaceFromSession(a.session),
        };
      }
      return { ...state, ws: reduceWs(state.ws, a) };
    default:
      return { ...state, ws: reduceWs(state.ws, a) };
  }
}

/**
 * Keep editing's new inputs: each result, to be read back and uploaded (`from` maps its new key to
 * the item it came from), and the images without one as they are. An upload still under way keeps
 * its key, so its news reaches this copy too (a new key would leave it uploading forever).
 */
export function resultsAsInputs(items: Item[]): { items: Item[]; from: Map<string, Item> } {
  const from = new Map<string, Item>();
  const next = items.map((i): Item => {
    const r = i.run?.result;
    if (!r) return { ...i, key: uploading(i) ? i.key : newKey(), run: undefined };
    const key = newKey();
    from.set(key, i);
    return {
      key,
      name: resultFileName(i.name, r.format),
      previewUrl: r.url,
      width: r.width,
      height: r.height,
      bytes: r.bytes,
      format: r.format,
      upload: { percent: 0 },
    };
  });
  return { items: next, from };
}

/** Counts against one edit's image limit: present or on its way; a failed upload is never sent. */
export const takesSlot = (i: Item) => !i.upload?.error;

/** On its way up: neither uploaded nor failed. */
export const uploading = (i: Item) => Boolean(i.upload && !i.upload.error);

/** An input the service can read: uploaded (or a URL) and not still uploading. */
export const isReady = (i: Item) => Boolean(i.url) && !i.upload;
