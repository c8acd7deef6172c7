// What the server takes (GET /auth/config `limits`), checked on the page before anything is sent:
// a file the server would refuse is named with the reason instead of failing after its upload (on
// AWS, a body over ~4.5 MB never reaches the service: Lambda answers its own opaque 413).
import type { ServerLimits } from "./api";

const MB = 1024 * 1024;

/** The MIME types and file extensions of the formats the service can read. */
const BY_MIME: Record<string, string> = {
  "image/jpeg": "jpeg",
  "image/jpg": "jpeg",
  "image/pjpeg": "jpeg",
  "image/png": "png",
  "image/x-png": "png",
  "image/apng": "png",
  "image/webp": "webp",
  "image/gif": "gif",
  "image/tiff": "tiff",
  "image/avif": "avif",
  "image/svg+xml": "svg",
  "image/heic": "heif",
  "image/heif": "heif",
  "image/bmp": "bmp",
};
const BY_EXT: Record<string, string> = {
  jpg: "jpeg",
  jpeg: "jpeg",
  jpe: "jpeg",
  jfif: "jpeg",
  png: "png",
  apng: "png",
  webp: "webp",
  gif: "gif",
  tif: "tiff",
  tiff: "tiff",
  avif: "avif",
  svg: "svg",
  heic: "heif",
  heif: "heif",
  bmp: "bmp",
};
const LABELS: Record<string, string> = { jpeg: "JPEG", webp: "WebP", heif: "HEIC" };

/** Today's behaviour, for a server that does not publish its limits. */
const FALLBACK_HINT = "JPEG, PNG, WebP, AVIF, GIF, TIFF · up to 25 MB each";
const FALLBACK_FORMATS = "JPEG, PNG, WebP, AVIF, GIF or TIFF";
const looksLikeImage = (f: File) =>
  f.type.startsWith("image/") || /\.(jpe?g|png|webp|avif|gif|tiff?|heic|heif|svg)$/i.test(f.name);

export function formatLabel(format: string): string {
  return LABELS[format] ?? format.toUpperCase();
}

/** The limits when the answer carries usable ones, else undefined (an older server). */
export function readLimits(answer: unknown): ServerLimits | undefined {
  const l = (answer as { limits?: Partial<ServerLimits> } | null)?.limits;
  const positive = (n: unknown) => typeof n === "number" && Number.isFinite(n) && n > 0;
  if (!l || !positive(l.maxImageBytes) || !positive(l.maxUploadBytes) || !positive(l.maxImagesPerRequest))
    return undefined;
  if (!Array.isArray(l.formats) || !l.formats.every((f) => typeof f === "string") || l.formats.length === 0)
    return undefined;
  return l as ServerLimits;
}

/** A size in MB as people read it; exact bytes when the rounded figures would look equal. */
export function megabytes(n: number, other?: number): string {
  const mb = (v: number) => `${Number(v >= MB ? (v / MB).toFixed(1) : (v / MB).toPrecision(2))} MB`;
  if (other !== undefined && other !== n && mb(n) === mb(other)) return `${n.toLocaleString("en-US")} bytes`;
  return mb(n);
}

/** What a file is by its type, else its extension: a format name, or undefined when not an image. */
export function formatOfFile(f: File): string | undefined {
  const byType = BY_MIME[f.type.toLowerCase()];
  if (byType) return byType;
  const ext = /\.([a-z0-9]+)$/i.exec(f.name)?.[1]?.toLowerCase();
  const byExt = ext ? BY_EXT[ext] : undefined;
  if (byExt) return byExt;
  // Another image type the browser knows (image/x-icon...): an image, not one read here.
  return f.type.startsWith("image/") ? f.type.slice(6).replace(/^x-/, "") : undefined;
}

export function limitsHint(limits: ServerLimits | undefined): string {
  if (!limits) return FALLBACK_HINT;
  const formats = limits.formats.map(formatLabel).join(", ");
  const byUrl = limits.maxUploadBytes < limits.maxImageBytes ? `, ${megabytes(limits.maxImageBytes)} by URL` : "";
  const count = limits.maxImagesPerRequest;
  return `${formats} · up to ${megabytes(limits.maxUploadBytes)} each${byUrl} · ${count} image${count === 1 ? "" : "s"} per edit`;
}

/** Why a file of `size` bytes cannot be uploaded here, or undefined when it can. */
export function sizeRefusal(name: string, size: number, limits: ServerLimits | undefined): string | undefined {
  if (!limits) return undefined;
  if (size > limits.maxImageBytes)
    return `${name} is ${megabytes(size, limits.maxImageBytes)}: images can be up to ${megabytes(limits.maxImageBytes, size)} here.`;
  // Only where uploads are capped below the image limit (AWS Lambda): a URL still takes it.
  if (size > limits.maxUploadBytes)
    return `${name} is ${megabytes(size, limits.maxUploadBytes)}: uploads can be up to ${megabytes(limits.maxUploadBytes, size)} here. Add it by URL instead (up to ${megabytes(limits.maxImageBytes)}).`;
  return undefined;
}

const list = (names: string[]) => names.join(", ");

/** Why images past one edit's limit (files or URLs, by name) were not added; `room`: what was left. */
export function overLimitNote(names: string[], max: number, room: number): string {
  return `${list(names)} ${names.length === 1 ? "was" : "were"} not added: an edit takes at most ${max} image${max === 1 ? "" : "s"}${room > 0 ? "" : " and the page has that many"}. Remove some to add others.`;
}

/**
 * Pasted or dropped URLs against one edit's image limit: the first ones that fit are added, the
 * others are named with the limit (the server would refuse the whole edit). No limits: all go.
 */
export function screenUrls(
  urls: string[],
  limits: ServerLimits | undefined,
  room: number,
): { accepted: string[]; refused: string[]; note?: string } {
  if (!limits) return { accepted: urls, refused: [] };
  const accepted = urls.slice(0, Math.max(0, room));
  const refused = urls.slice(accepted.length);
  return refused.length
    ? { accepted, refused, note: overLimitNote(refused, limits.maxImagesPerRequest, room) }
    : { accepted, refused };
}
const isAre = (names: string[], one: string, many: string) => (names.length === 1 ? one : many);

/**
 * The files the server would take, and a sentence for each kind of refusal. `room`: how many more
 * images the page can hold (one edit takes at most maxImagesPerRequest). The files kept are
 * uploaded; the others are never sent.
 */
export function screenFiles(
  files: File[],
  limits: ServerLimits | undefined,
  room: number,
): { accepted: File[]; notes: string[] } {
  if (!limits) {
    const skipped = files.filter((f) => !looksLikeImage(f)).map((f) => f.name);
    return {
      accepted: files.filter(looksLikeImage),
      notes: skipped.length
        ? [`${list(skipped)} ${isAre(skipped, "is not an image", "are not images")}: add ${FALLBACK_FORMATS} files.`]
        : [],
    };
  }
  const readable = limits.formats.map(formatLabel);
  const readableList = `${readable.slice(0, -1).join(", ")}${readable.length > 1 ? " or " : ""}${readable.at(-1)}`;
  const notImages: string[] = [];
  const unsupported: string[] = [];
  const notes: string[] = [];
  const fitting: File[] = [];
  for (const f of files) {
    const format = formatOfFile(f);
    if (!format) notImages.push(f.name);
    else if (!limits.formats.includes(format)) unsupported.push(`${f.name} (${formatLabel(format)})`);
    else {
      const tooLarge = sizeRefusal(f.name, f.size, limits);
      if (tooLarge) notes.push(tooLarge);
      else fitting.push(f);
    }
  }
  // One sentence for the files of the wrong kind, naming what to add once.
  const wrongKind = [
    notImages.length ? `${list(notImages)} ${isAre(notImages, "is not an image", "are not images")}` : "",
    unsupported.length
      ? `${list(unsupported)} ${isAre(unsupported, "is a format", "are formats")} this service does not read`
      : "",
  ].filter(Boolean);
  if (wrongKind.length) notes.unshift(`${wrongKind.join("; ")}: add ${readableList} files.`);
  const accepted = fitting.slice(0, Math.max(0, room));
  const extra = fitting.slice(accepted.length);
  if (extra.length)
    notes.push(
      overLimitNote(
        extra.map((f) => f.name),
        limits.maxImagesPerRequest,
        room,
      ),
    );
  // Two files of one name and size say the same: once is enough (and keys the lines on the page).
  return { accepted, notes: [...new Set(notes)] };
}
