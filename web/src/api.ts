// The service's HTTP API as the page uses it. Relative URLs: the page is served by the service.
// The bearer token lives in sessionStorage (and memory), never in a URL; the progress stream uses
// the short-lived stream token the server puts in `progressUrl`.

import type { ImageStatus, SessionStatus, SessionView } from "./types";

export type { ImageStatus, ResultView, SessionImageView, SessionStatus, SessionView, SourceView } from "./types";

export interface ApiErrorBody {
  code: string;
  message: string;
  field?: string;
  details?: Record<string, unknown>;
  retryable?: boolean;
}

export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly field?: string;
  readonly details?: Record<string, unknown>;
  readonly retryable: boolean;
  /** From a Retry-After header in seconds, if any. */
  readonly retryAfterSec?: number;
  constructor(status: number, body: ApiErrorBody, retryAfterSec?: number) {
    super(body.message);
    this.name = "ApiError";
    this.status = status;
    this.code = body.code;
    this.field = body.field;
    this.details = body.details;
    // The service says "still being accepted" with details.reason; `retryable` for other servers.
    this.retryable = body.retryable === true || body.details?.reason === "in_progress";
    this.retryAfterSec = retryAfterSec;
  }
}

export interface User {
  id: string;
  name?: string;
}

/** What the server takes, from GET /auth/config (absent from older servers). */
export interface ServerLimits {
  /** Bytes per image, by URL or upload. */
  maxImageBytes: number;
  /** Bytes per upload on this runtime (less than maxImageBytes on AWS Lambda). */
  maxUploadBytes: number;
  maxImagesPerRequest: number;
  /** Input formats read: jpeg, png, webp, gif, tiff, avif, and svg where allowed. */
  formats: string[];
}

export interface AuthConfig {
  localSignIn: boolean;
  limits?: ServerLimits;
}

export interface UploadAnswer {
  id: string;
  url: string;
  name: string;
  bytes: number;
  format: string;
  width: number;
  height: number;
  previewUrl?: string;
}

export interface ParseAnswer {
  plan: unknown[];
  steps: string[];
  source?: string;
}

export interface UnknownWord {
  word: string;
  start: number;
  end: number;
}

export interface StartAnswer {
  sessionId: string;
  status: SessionStatus;
  progressUrl: string;
  streamToken?: string;
  plan: unknown[];
  steps?: string[];
  images: { id: string; status: ImageStatus }[];
}

export interface SessionPage {
  items: SessionView[];
  nextCursor?: string;
}

export type Operation = { op: string } & Record<string, unknown>;
export type EditOperation = { type: "command"; command: string } | { type: "operations"; operations: Operation[] };

const TOKEN_KEY = "imgedit.token";
const USER_KEY = "imgedit.user";

let token: string | null = safeSession(() => sessionStorage.getItem(TOKEN_KEY));
let onUnauthorized: (() => void) | undefined;

function safeSession<T>(f: () => T): T | null {
  try {
    return f();
  } catch {
    return null; // storage disabled (private mode, sandboxed frame): keep it in memory only
  }
}

export function getToken(): string | null {
  return token;
}

export function storedUser(): User | null {
  const raw = safeSession(() => sessionStorage.getItem(USER_KEY));
  if (!raw) return null;
  try {
    return JSON.parse(raw) as User;
  } catch {
    return null;
  }
}

export function setSession(next: { token: string; user: User } | null): void {
  token = next?.token ?? null;
  safeSession(() => {
    if (next) {
      sessionStorage.setItem(TOKEN_KEY, next.token);
      sessionStorage.setItem(USER_KEY, JSON.stringify(next.user));
    } else {
      sessionStorage.removeItem(TOKEN_KEY);
      sessionStorage.removeItem(USER_KEY);
    }
  });
}

/** Called when the server answers 401: the page goes back to sign-in. */
export function setUnauthorizedHandler(f: (() => void) | undefined): void {
  onUnauthorized = f;
}

async function errorFrom(res: Response): Promise<ApiError> {
  let body: ApiErrorBody = { code: "HTTP_" + res.status, message: `${res.status} ${res.statusText}`.trim() };
  try {
    const json = (await res.json()) as { error?: ApiErrorBody };
    if (json?.error?.message) body = json.error;
  } catch {
    // not JSON: keep the status line
  }
  const after = Number(res.headers.get("retry-after") ?? Number.NaN);
  return new ApiError(res.status, body, Number.isFinite(after) && after >= 0 ? after : undefined);
}

export async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  opts: { signal?: AbortSignal; auth?: boolean; headers?: Record<string, string> } = {},
): Promise<T> {
  const headers: Record<string, string> = { ...opts.headers, accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  const sentWith = token;
  if (opts.auth !== false && sentWith) headers.authorization = `Bearer ${sentWith}`;
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: opts.signal,
  });
  if (!res.ok) {
    const err = await errorFrom(res);
    // A late 401 for a token replaced since (signed in again meanwhile) must not sign out the new one.
    if (res.status === 401 && opts.auth !== false && sentWith === token) onUnauthorized?.();
    throw err;
  }
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export const api = {
  authConfig: () => request<AuthConfig>("GET", "auth/config", undefined, { auth: false }),
  localSignIn: (user?: string) =>
    request<{ token: string; user: User | string }>("POST", "auth/local", user ? { user } : {}, { auth: false }),
  parse: (command: string, signal?: AbortSignal) =>
    request<ParseAnswer>("POST", "image-edit/parse", { command }, { signal }),
  start: (images: { id: string; url: string; name: string }[], operation: EditOperation, idempotencyKey: string) =>
    request<StartAnswer>(
      "POST",
      "image-edit",
      { images, operation },
      { headers: { "idempotency-key": idempotencyKey } },
    ),
  sessions: (cursor?: string) =>
    request<SessionPage>("GET", "image-edit/sessions" + (cursor ? `?cursor=${encodeURIComponent(cursor)}` : "")),
  session: (id: string, signal?: AbortSignal) =>
    request<SessionView>("GET", `image-edit/sessions/${encodeURIComponent(id)}`, undefined, { signal }),
};

/** Checks a pasted token by asking for the user's sessions (any authenticated route would do). */
export async function checkToken(candidate: string): Promise<void> {
  const res = await fetch("image-edit/sessions?limit=1", {
    headers: { authorization: `Bearer ${candidate}`, accept: "application/json" },
  });
  if (!res.ok) throw await errorFrom(res);
}

/** The `sub` of a JWT, for display only (the server verifies the token). */
export function tokenSubject(jwt: string): string | undefined {
  try {
    const payload = jwt.split(".")[1];
    const json = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as { sub?: string };
    return json.sub;
  } catch {
    return undefined;
  }
}

/**
 * Uploads one file with XMLHttpRequest, because fetch cannot report upload progress.
 * `onProgress` gets 0..100.
 */
export function uploadFile(
  file: File,
  onProgress: (percent: number) => void,
  signal?: AbortSignal,
): Promise<UploadAnswer> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "uploads");
    const sentWith = token;
    if (sentWith) xhr.setRequestHeader("authorization", `Bearer ${sentWith}`);
    xhr.setRequestHeader("accept", "application/json");
    xhr.responseType = "text";
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) onProgress(Math.min(100, Math.round((e.loaded / e.total) * 100)));
    };
    xhr.onload = () => {
      let json: unknown;
      try {
        json = JSON.parse(xhr.responseText || "null");
      } catch {
        json = null;
      }
      if (xhr.status >= 200 && xhr.status < 300 && json) {
        onProgress(100);
        resolve(json as UploadAnswer);
        return;
      }
      const body = (json as { error?: ApiErrorBody } | null)?.error ?? {
        code: "HTTP_" + xhr.status,
        message: `upload failed (${xhr.status || "network error"})`,
      };
      if (xhr.status === 401 && sentWith === token) onUnauthorized?.();
      reject(new ApiError(xhr.status, body));
    };
    xhr.onerror = () => reject(new ApiError(0, { code: "NETWORK", message: "network error while uploading" }));
    xhr.onabort = () => reject(new ApiError(0, { code: "ABORTED", message: "upload cancelled" }));
    signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
}

/** Fetches a result file (same-origin signed URL locally, presigned S3 URL on AWS). */
export async function fetchBlob(url: string): Promise<Blob> {
  const res = await fetch(url);
  if (!res.ok) throw await errorFrom(res);
  return res.blob();
}

/** Uploads bytes we already hold (a result becoming a new input) through the same route. */
export async function uploadBlob(blob: Blob, name: string): Promise<UploadAnswer> {
  return uploadFile(new File([blob], name, { type: blob.type }), () => {});
}

// Signed preview links of this tab's uploads, by `upload:<id>`, so a reopened session can show its
// originals: session answers name an upload source but carry no link to it.
const PREVIEWS_KEY = "imgedit.previews";

export function rememberPreview(uploadUrl: string, previewUrl: string | undefined): void {
  if (!previewUrl) return;
  safeSession(() => {
    const map = JSON.parse(sessionStorage.getItem(PREVIEWS_KEY) ?? "{}") as Record<string, string>;
    map[uploadUrl] = previewUrl;
    const keys = Object.keys(map);
    for (const k of keys.slice(0, Math.max(0, keys.length - 500))) delete map[k];
    sessionStorage.setItem(PREVIEWS_KEY, JSON.stringify(map));
  });
}

export function previewFor(sourceUrl: string): string | undefined {
  const map = safeSession(() => JSON.parse(sessionStorage.getItem(PREVIEWS_KEY) ?? "{}") as Record<string, string>);
  return map?.[sourceUrl];
}
