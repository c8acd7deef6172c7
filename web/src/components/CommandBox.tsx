import { type KeyboardEvent, type ReactNode, type RefObject, useEffect, useId, useRef, useState } from "react";
import { ApiError, api, type UnknownWord } from "../api";

export type ParseState =
  | { status: "idle" }
  | { status: "loading" }
  | { status: "ok"; steps: string[]; source?: string }
  | { status: "not-understood"; text: string; message: string; unknown: UnknownWord[]; suggestions: string[] }
  | { status: "error"; message: string };

interface Props {
  value: string;
  onChange(v: string): void;
  onRun(command: string): void;
  history: string[];
  canRun: boolean;
  runLabel: string;
  /** Changes after each sign-in: a plan refused with an expired token is asked for again. */
  signIns?: number;
  /** Rendered under the plan: the quick-edit toolbar. */
  children?: ReactNode;
  /** Called when Enter is pressed with nothing to run on (the editor says why). */
  onBlocked?(): void;
  /** Why the last press could not run (no image selected...), or nothing. */
  blocked?: string | null;
  /** The text box, for the editor to put focus back in it (after an error is dismissed). */
  inputRef?: RefObject<HTMLTextAreaElement | null>;
}

const DEBOUNCE_MS = 300;

/** Reads the planner's "not understood" answer: unknown words with offsets, and suggestions. */
export function notUnderstood(e: unknown, text: string): ParseState | undefined {
  if (!(e instanceof ApiError) || e.code !== "COMMAND_NOT_UNDERSTOOD") return undefined;
  const d = (e.details ?? {}) as { unknown?: unknown; suggestions?: unknown };
  const unknown = Array.isArray(d.unknown)
    ? d.unknown.filter(
        (u): u is UnknownWord =>
          typeof u === "object" &&
          u !== null &&
          typeof (u as UnknownWord).start === "number" &&
          typeof (u as UnknownWord).end === "number",
      )
    : [];
  const suggestions = Array.isArray(d.suggestions)
    ? d.suggestions.filter((s): s is string => typeof s === "string")
    : [];
  return { status: "not-understood", text, message: e.message, unknown, suggestions };
}

/** Levenshtein distance, small strings only. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** Which of several words not understood a suggestion is meant for. */
export function nearest(unknown: UnknownWord[], suggestion: string): UnknownWord | undefined {
  let best: UnknownWord | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const u of unknown) {
    const d = distance(u.word.toLowerCase(), suggestion.toLowerCase());
    if (d < bestD) {
      best = u;
      bestD = d;
    }
  }
  return best;
}

/** The command with the words the planner did not understand marked. */
export function Highlighted({ text, unknown }: { text: string; unknown: UnknownWord[] }) {
  const parts: ReactNode[] = [];
  let at = 0;
  const sorted = [...unknown].sort((a, b) => a.start - b.start);
  for (const u of sorted) {
    if (u.start < at || u.end > text.length || u.end <= u.start) continue;
    if (u.start > at) parts.push(text.slice(at, u.start));
    parts.push(
      <mark key={u.start} className="unknown-word" title="not understood">
        {text.slice(u.start, u.end)}
      </mark>,
    );
    at = u.end;
  }
  parts.push(text.slice(at));
  return <span className="highlighted">{parts}</span>;
}

/** The command box: Enter runs, Shift+Enter is a new line, up/down walk the history. */
export function CommandBox({
  value,
  onChange,
  onRun,
  history,
  canRun,
  runLabel,
  signIns,
  children,
  onBlocked,
  blocked,
  inputRef,
}: Props) {
  const [parse, setParse] = useState<ParseState>({ status: "idle" });
  const [cursor, setCursor] = useState<number | null>(null); // index into history while browsing
  const draft = useRef("");
  const ownArea = useRef<HTMLTextAreaElement>(null);
  const area = inputRef ?? ownArea;
  const id = useId();

  // biome-ignore lint/correctness/useExhaustiveDependencies: signIns is a trigger, not an input
  useEffect(() => {
    const text = value.trim();
    if (!text) {
      setParse({ status: "idle" });
      return;
    }
    const ctrl = new AbortController();
    const timer = setTimeout(async () => {
      setParse((p) => (p.status === "idle" ? { status: "loading" } : p));
      try {
        const r = await api.parse(value, ctrl.signal);
        setParse({ status: "ok", steps: r.steps ?? [], source: r.source });
      } catch (e) {
        if (ctrl.signal.aborted) return;
        setParse(notUnderstood(e, value) ?? { status: "error", message: (e as Error).message });
      }
    }, DEBOUNCE_MS);
    return () => {
      clearTimeout(timer);
      ctrl.abort();
    };
  }, [value, signIns]);

  const run = () => {
    if (!value.trim()) return;
    if (!canRun) {
      onBlocked?.();
      return;
    }
    setCursor(null);
    onRun(value.trim());
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    const el = e.currentTarget;
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      run();
      return;
    }
    const before = el.value.slice(0, el.selectionStart);
    const after = el.value.slice(el.selectionEnd);
    if (e.key === "ArrowUp" && !before.includes("\n") && history.length) {
      e.preventDefault();
      if (cursor === null) draft.current = value;
      const next = cursor === null ? history.length - 1 : Math.max(0, cursor - 1);
      setCursor(next);
      onChange(history[next]);
    } else if (e.key === "ArrowDown" && !after.includes("\n") && cursor !== null) {
      e.preventDefault();
      const next = cursor + 1;
      if (next >= history.length) {
        setCursor(null);
        onChange(draft.current);
      } else {
        setCursor(next);
        onChange(history[next]);
      }
    } else if (e.key === "Escape" && cursor !== null) {
      setCursor(null);
      onChange(draft.current);
    }
  };

  const applySuggestion = (s: string) => {
    if (parse.status !== "not-understood") return;
    const word = s.trim();
    // A one-word suggestion replaces the unknown word it is nearest to; a phrase replaces the command.
    const target = /\s/.test(word) ? undefined : nearest(parse.unknown, word);
    onChange(target ? parse.text.slice(0, target.start) + word + parse.text.slice(target.end) : word);
    area.current?.focus();
  };

  return (
    <section className="panel command" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Edit</h2>
      <label htmlFor={id} className="sr-only">
        Edit command
      </label>
      <div className="command-row">
        <textarea
          ref={area}
          id={id}
          className="command-input"
          rows={2}
          value={value}
          placeholder="e.g. resize to 800px and convert to webp"
          onChange={(e) => {
            setCursor(null);
            onChange(e.target.value);
          }}
          onKeyDown={onKeyDown}
          aria-describedby={`${id}-help ${id}-plan`}
          spellCheck={false}
          data-testid="command"
        />
        <button type="button" className="btn primary" onClick={run} disabled={!canRun || !value.trim()}>
          {runLabel}
        </button>
      </div>
      <div>
        {/* Always in the page (a live region must be there before it speaks); empty, it takes no room. */}
        <p className="error-text" role="status" data-testid="run-blocked">
          {blocked}
        </p>
        <p id={`${id}-help`} className="hint muted">
          <kbd>Enter</kbd> runs · <kbd>Shift</kbd>+<kbd>Enter</kbd> new line · <kbd>↑</kbd>/<kbd>↓</kbd> past commands
        </p>
      </div>
      <div id={`${id}-plan`} className="plan" aria-live="polite" data-testid="plan" data-status={parse.status}>
        {parse.status === "loading" && <p className="muted">Reading…</p>}
        {parse.status === "ok" && (
          <>
            <p className="plan-title">Plan{parse.source === "llm" ? " (interpreted by the assistant)" : ""}</p>
            <ol className="steps">
              {parse.steps.map((s, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: steps are positional and may repeat
                <li key={i}>{s}</li>
              ))}
            </ol>
          </>
        )}
        {parse.status === "not-understood" && (
          <div className="not-understood" data-testid="not-understood">
            <p className="plan-title error-text">Not understood</p>
            <p className="echo">
              <Highlighted text={parse.text} unknown={parse.unknown} />
            </p>
            <p className="muted small">{parse.message}</p>
            {parse.suggestions.length > 0 && (
              <div className="suggestions">
                <span className="muted small">Try: </span>
                {parse.suggestions.map((s) => (
                  <button key={s} type="button" className="chip" onClick={() => applySuggestion(s)}>
                    {s}
                  </button>
                ))}
              </div>
            )}
          </div>
        )}
        {parse.status === "error" && <p className="error-text">{parse.message}</p>}
      </div>
      {children}
    </section>
  );
}
