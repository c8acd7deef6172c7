import { QUICK_EDITS, type QuickEdit } from "../quick-edits";

interface Props {
  onEdit(edit: QuickEdit): void;
  disabled: boolean;
}

/** One-click edits on the selected images. */
export function Toolbar({ onEdit, disabled }: Props) {
  return (
    <div className="toolbar" role="toolbar" aria-label="Quick edits">
      {QUICK_EDITS.map((q) => (
        <button
          key={q.id}
          type="button"
          className="tool"
          onClick={() => onEdit(q)}
          disabled={disabled}
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
