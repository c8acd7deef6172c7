import { type KeyboardEvent, useState } from "react";
import { QUICK_EDITS, type QuickEdit } from "../quick-edits";

interface Props {
  /** Called on every press: when `disabled`, the editor does not run it and says why. */
  onEdit(edit: QuickEdit): void;
  disabled: boolean;
}

/**
 * One-click edits on the selected images. A toolbar is one Tab stop; the arrow keys, Home and End
 * move between its buttons (the WAI-ARIA toolbar pattern).
 */
export function Toolbar({ onEdit, disabled }: Props) {
  const [active, setActive] = useState(0);

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const last = QUICK_EDITS.length - 1;
    const next =
      e.key === "ArrowRight"
        ? active === last
          ? 0
          : active + 1
        : e.key === "ArrowLeft"
          ? active === 0
            ? last
            : active - 1
          : e.key === "Home"
            ? 0
            : e.key === "End"
              ? last
              : undefined;
    if (next === undefined) return;
    e.preventDefault();
    setActive(next);
    e.currentTarget.querySelectorAll<HTMLButtonElement>("button")[next]?.focus();
  };

  return (
    <div className="toolbar" role="toolbar" aria-label="Quick edits" onKeyDown={onKeyDown}>
      {QUICK_EDITS.map((q, i) => (
        <button
          key={q.id}
          type="button"
          className="tool"
          tabIndex={i === active ? 0 : -1}
          onFocus={() => setActive(i)}
          // Unavailable, a press still reaches the editor, which says why nothing runs.
          onClick={() => onEdit(q)}
          aria-disabled={disabled || undefined}
          title={`${q.label} (same as “${q.command}”)`}
        >
          <span className="tool-icon" aria-hidden="true">
            {q.icon}
          </span>
          <span>{q.label}</span>
        </button>
      ))}
    </div>
  );
}
