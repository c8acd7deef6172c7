// Small display helpers: sizes, dimensions, file names.

export function formatBytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return "—";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

export function formatDims(w: number | undefined, h: number | undefined): string {
  return w && h ? `${w}×${h}` : "—";
}

export function formatName(format: string | undefined): string {
  if (!format) return "—";
  return format === "jpeg" ? "JPEG" : format.toUpperCase();
}

const EXT: Record<string, string> = { jpeg: "jpg", tiff: "tif" };

/**
 * A name safe to save or put in a zip: image names come from users and URLs, so path separators
 * and control characters become `_` and leading dots go (no `../` or `C:\` escaping the folder).
 */
export function safeFileName(name: string): string {
  return (
    name
      .replace(/[/\\:\p{Cc}]/gu, "_")
      .replace(/^[\s.]+/, "")
      .trim() || "image"
  );
}

/** "holiday.jpg" edited to webp -> "holiday.webp"; keeps names unique in a zip via `taken`. */
export function resultFileName(name: string, format: string, taken?: Set<string>): string {
  const base = safeFileName(name).replace(/\.[a-z0-9]{1,5}$/i, "") || "image";
  const ext = EXT[format] ?? format;
  let candidate = `${base}.${ext}`;
  for (let i = 2; taken?.has(candidate); i++) candidate = `${base}-${i}.${ext}`;
  taken?.add(candidate);
  return candidate;
}

export function nameFromUrl(url: string): string {
  try {
    const u = new URL(url);
    const last = u.pathname.split("/").filter(Boolean).pop();
    // Decoding can bring back separators (`x%2F..%2Fevil.jpg`): the name is what follows the last.
    const name =
      last &&
      decodeURIComponent(last)
        .split(/[/\\]/)
        .filter((p) => p && p !== "." && p !== "..")
        .pop();
    return name || u.hostname;
  } catch {
    return url.slice(0, 40);
  }
}

/** The service sends ISO timestamps; older answers may carry epoch ms. */
export function timeAgo(at: number | string, now = Date.now()): string {
  const ms = typeof at === "number" ? at : Date.parse(at);
  if (!Number.isFinite(ms)) return "";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(ms).toLocaleDateString();
}
