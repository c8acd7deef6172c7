import { type DragEvent, type FormEvent, type RefObject, useId, useRef, useState } from "react";
import type { ServerLimits } from "../api";
import { limitsHint } from "../limits";

interface Props {
  /** Every file dropped or chosen: the editor keeps what the server takes and says why not the rest. */
  onFiles(files: File[]): void;
  /** Adds what fits one edit; `refused` (past the image limit) come back with the reason. */
  onUrls(urls: string[]): { refused: string[]; note?: string };
  /** The server's limits, for the hint (absent: an older server). */
  limits?: ServerLimits;
  /** False until the server has said what its limits are: no hint yet rather than a wrong one. */
  limitsKnown: boolean;
  /** Files left out of the last drop or pick, and why: one sentence per reason. */
  fileNotes: string[];
  /** The "Choose files…" button, for the editor to start there after sign-in. */
  chooseRef?: RefObject<HTMLButtonElement | null>;
}

/** Drop zone + file picker (several files) + pasted image URLs. */
export function AddImages({ onFiles, onUrls, limits, limitsKnown, fileNotes, chooseRef }: Props) {
  const [over, setOver] = useState(false);
  const [urls, setUrls] = useState("");
  const [urlError, setUrlError] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);
  const urlId = useId();

  const take = (list: FileList | null) => {
    // Even none: a new drop clears the note about the last one.
    onFiles(Array.from(list ?? []));
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    take(e.dataTransfer.files);
    const text = e.dataTransfer.getData("text/uri-list") || "";
    const dropped = text.split(/\s+/).filter((u) => /^https?:\/\//i.test(u));
    if (dropped.length && !e.dataTransfer.files.length) setUrlError(onUrls(dropped).note ?? null);
  };

  const addUrls = (e: FormEvent) => {
    e.preventDefault();
    const parts = urls.split(/[\s,]+/).filter(Boolean);
    const bad = parts.filter((u) => {
      try {
        return !/^https?:$/.test(new URL(u).protocol);
      } catch {
        return true;
      }
    });
    if (bad.length) {
      setUrlError(`Not an http(s) URL: ${bad.join(", ")}`);
      return;
    }
    // The URLs past the image limit stay in the box, with the reason, to edit or remove.
    const { refused, note } = parts.length ? onUrls(parts) : { refused: [] };
    setUrlError(note ?? null);
    setUrls(refused.join(" "));
  };

  return (
    <section className="panel add-images" aria-labelledby="add-title">
      <h2 id="add-title">Images</h2>
      {/* biome-ignore lint/a11y/noStaticElementInteractions: the drop target; the button inside is the keyboard path */}
      <div
        className={`dropzone${over ? " over" : ""}`}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
        data-testid="dropzone"
      >
        <p>
          <strong>Drop images here</strong>
          <span className="muted"> or </span>
        </p>
        <button type="button" className="btn" onClick={() => input.current?.click()} ref={chooseRef}>
          Choose files…
        </button>
        <input
          ref={input}
          type="file"
          accept="image/*"
          multiple
          hidden
          aria-label="Choose image files"
          data-testid="file-input"
          onChange={(e) => {
            take(e.target.files);
            e.target.value = "";
          }}
        />
        <p className="hint muted" data-testid="limits-hint">
          {/* A blank line until the limits arrive: the hint does not jump from a guess to the real one. */}
          {limitsKnown ? limitsHint(limits) : "\u00a0"}
        </p>
        <p className="error-text" role="status" aria-live="polite" data-testid="file-error">
          {fileNotes.map((n, i) => (
            // A line each; the space keeps the sentences apart for screen readers and textContent.
            <span key={n} className="file-note">
              {i ? ` ${n}` : n}
            </span>
          ))}
        </p>
      </div>
      <form className="url-form" onSubmit={addUrls}>
        <label htmlFor={urlId}>Or add image URLs</label>
        <div className="row">
          <input
            id={urlId}
            type="text"
            inputMode="url"
            placeholder="https://example.com/photo.jpg"
            value={urls}
            onChange={(e) => setUrls(e.target.value)}
            aria-invalid={urlError ? true : undefined}
            aria-describedby={urlError ? `${urlId}-err` : undefined}
          />
          <button type="submit" className="btn" disabled={!urls.trim()}>
            Add
          </button>
        </div>
        {urlError && (
          <p id={`${urlId}-err`} className="error-text" role="alert">
            {urlError}
          </p>
        )}
      </form>
    </section>
  );
}
