import { type DragEvent, type FormEvent, useId, useRef, useState } from "react";
import type { ServerLimits } from "../api";
import { limitsHint } from "../limits";

interface Props {
  /** Every file dropped or chosen: the editor keeps what the server takes and says why not the rest. */
  onFiles(files: File[]): void;
  onUrls(urls: string[]): void;
  /** The server's limits, for the hint (absent: an older server). */
  limits?: ServerLimits;
  /** Files left out of the last drop or pick, and why: one sentence per reason. */
  fileNotes: string[];
}

/** Drop zone + file picker (several files) + pasted image URLs. */
export function AddImages({ onFiles, onUrls, limits, fileNotes }: Props) {
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
    if (dropped.length && !e.dataTransfer.files.length) onUrls(dropped);
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
    setUrlError(null);
    if (parts.length) onUrls(parts);
    setUrls("");
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
        <button type="button" className="btn" onClick={() => input.current?.click()}>
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
          {limitsHint(limits)}
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
          <p id={`${urlId}-err`} className="error-text">
            {urlError}
          </p>
        )}
      </form>
    </section>
  );
}
