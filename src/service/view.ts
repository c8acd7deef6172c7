// Sessions as the API shows them: result keys become signed download URLs.
import { describeOperation } from "../core/operations.js";
import type { ObjectStore, Session, SessionImage } from "../ports.js";
import { uploadKey } from "./edit.js";
import { UPLOAD_URL } from "./schemas.js";

/** How long a download URL handed out in an answer or event stays valid. */
export const DOWNLOAD_URL_TTL_SEC = 3600;

export interface ImageView {
  id: string;
  name: string;
  sourceUrl: string;
  status: SessionImage["status"];
  percent: number;
  attempts: number;
  error?: SessionImage["error"];
  source?: SessionImage["source"];
  /** A signed link to the original when it was an upload (for before/after views). */
  previewUrl?: string;
  result?: { url: string; width: number; height: number; format: string; bytes: number; pages?: number };
}

export interface SessionView {
  sessionId: string;
  status: Session["status"];
  createdAt: string;
  updatedAt: string;
  expiresAt: string;
  version: number;
  command?: string;
  plan: Session["plan"];
  steps: string[];
  options?: Session["options"];
  images: ImageView[];
}

export type Absolutize = (url: string) => string;

export async function imageView(
  img: SessionImage,
  objects: ObjectStore,
  abs: Absolutize,
  userId?: string,
): Promise<ImageView> {
  const { version: _v, result, ...rest } = img;
  const view: ImageView = { ...rest };
  const upload = userId ? UPLOAD_URL.exec(img.sourceUrl) : null;
  if (upload && userId)
    view.previewUrl = abs(await objects.signedGetUrl(uploadKey(userId, upload[1]), DOWNLOAD_URL_TTL_SEC));
  if (result) {
    const { key: _k, ...facts } = result;
    view.result = { url: abs(await objects.signedGetUrl(result.key, DOWNLOAD_URL_TTL_SEC)), ...facts };
  }
  return view;
}

export async function sessionView(s: Session, objects: ObjectStore, abs: Absolutize): Promise<SessionView> {
  return {
    sessionId: s.sessionId,
    status: s.status,
    createdAt: new Date(s.createdAt).toISOString(),
    updatedAt: new Date(s.updatedAt).toISOString(),
    expiresAt: new Date(s.ttl * 1000).toISOString(),
    version: s.version,
    ...(s.command !== undefined ? { command: s.command } : {}),
    plan: s.plan,
    steps: s.plan.map(describeOperation),
    ...(s.options ? { options: s.options } : {}),
    images: await Promise.all(s.images.map((i) => imageView(i, objects, abs, s.userId))),
  };
}

/** The `complete` event / summary of a finished session. */
export function sessionSummary(s: Session) {
  return {
    sessionId: s.sessionId,
    status: s.status,
    completed: s.images.filter((i) => i.status === "done").length,
    failed: s.images.filter((i) => i.status === "failed").length,
    images: s.images.map((i) => ({ id: i.id, status: i.status, ...(i.error ? { error: i.error } : {}) })),
  };
}
