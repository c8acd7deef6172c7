import { type MouseEvent, useState } from "react";
import { formatBytes, formatDims, formatName } from "../format";
import type { Item } from "../state";
import { CompareSlider } from "./CompareSlider";

interface Props {
  item: Item;
  selected: boolean;
  onToggle(): void;
  onDownload(): void;
  onRemove(): void;
  busy: boolean;
}

const STATUS_TEXT: Record<string, string> = {
  queued: "Waiting…",
  fetching: "Fetching the source…",
  processing: "Processing…",
  storing: "Saving the result…",
  done: "Done",
  failed: "Failed",
};

function change(before: number | undefined, after: number): string {
  if (!before) return "";
  const pct = Math.round(((after - before) / before) * 100);
  return pct === 0 ? " (same)" : ` (${pct > 0 ? "+" : "−"}${Math.abs(pct)}%)`;
}

/** For tests and styling: "done" only once the result is on the card (it follows the last progress event). */
function cardStatus(item: Item): string {
  if (item.upload) return item.upload.error ? "upload-failed" : "uploading";
  if (!item.run) return "ready";
  if (item.run.status === "done" && !item.run.result) return "storing";
  return item.run.status;
}

/** One image: fixed size whatever its state, so progress never shifts the layout. */
export function ImageCard({ item, selected, onToggle, onDownload, onRemove, busy }: Props) {
  const run = item.run;
  // A pasted URL may not load in the page (hotlink rules, private hosts): show a placeholder.
  const [previewFailed, setPreviewFailed] = useState(false);
  const result = run?.result;
  const uploading = item.upload && !item.upload.error;
  const failed = run?.status === "failed" || Boolean(item.upload?.error);
  const percent = uploading ? item.upload!.percent : (run?.percent ?? 0);
  const active = uploading || (run && run.status !== "done" && run.status !== "failed");
  const statusText = item.upload?.error
    ? item.upload.error
    : uploading
      ? `Uploading… ${percent}%`
      : run?.status === "failed"
        ? (run.error?.message ?? "Failed")
        : run
          ? run.status === "done" || !active
            ? STATUS_TEXT[run.status]
            : `${STATUS_TEXT[run.status] ?? run.status} ${percent}%`
          : "Ready";

  const onCardClick = (e: MouseEvent) => {
    // Clicking the card (not one of its controls) toggles selection; the checkbox is the keyboard path.
    if ((e.target as HTMLElement).closest("button, input, a, label")) return;
    onToggle();
  };

  return (
    // biome-ignore lint/a11y/useKeyWithClickEvents: the checkbox inside is the keyboard equivalent
    <article
      className={`card${selected ? " selected" : ""}${failed ? " failed" : ""}`}
      aria-label={item.name}
      data-testid="card"
      data-key={item.key}
      data-status={cardStatus(item)}
      onClick={onCardClick}
    >
      <div className="frame">
        {result ? (
          <CompareSlider
            key={`${item.previewUrl} ${result.url}`}
            before={item.previewUrl}
            after={result.url}
            name={item.name}
          />
        ) : item.previewUrl && !previewFailed ? (
          <img className="frame-img" src={item.previewUrl} alt={item.name} onError={() => setPreviewFailed(true)} />
        ) : (
          <div className="frame-empty" aria-hidden="true">
            {uploading ? "⇪" : "◇"}
          </div>
        )}
      </div>
      <div className="card-body">
        <label className="select">
          <input type="checkbox" checked={selected} onChange={onToggle} aria-label={`Select ${item.name}`} />
          <span className="name" title={item.name}>
            {item.name}
          </span>
        </label>
        <p className="facts" data-testid="source-facts">
          {formatDims(item.width, item.height)} · {formatName(item.format)} · {formatBytes(item.bytes)}
        </p>
        <p
          className="facts result-facts"
          data-testid="result-facts"
          data-width={result?.width}
          data-height={result?.height}
          data-format={result?.format}
        >
          {result ? (
            <>
              <span aria-hidden="true">→ </span>
              <span className="sr-only">Result: </span>
              {formatDims(result.width, result.height)} · {formatName(result.format)} · {formatBytes(result.bytes)}
              <span className="muted">{change(item.bytes, result.bytes)}</span>
            </>
          ) : (
            "\u00a0"
          )}
        </p>
        <div
          className={`progress${active ? " active" : ""}${failed ? " failed" : ""}${run?.status === "done" ? " done" : ""}`}
          role="progressbar"
          aria-label={`Progress for ${item.name}`}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={percent}
        >
          <span style={{ transform: `scaleX(${percent / 100})` }} />
        </div>
        <p className={`status${failed ? " error-text" : ""}`} data-testid="card-status" title={statusText}>
          {statusText}
        </p>
        <div className="card-actions">
          <button type="button" className="btn small" onClick={onDownload} disabled={!result}>
            Download<span className="sr-only"> {item.name}</span>
          </button>
          <button type="button" className="btn small ghost" onClick={onRemove} disabled={busy} data-action="remove">
            Remove<span className="sr-only"> {item.name}</span>
          </button>
        </div>
      </div>
    </article>
  );
}
