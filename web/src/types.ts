// Shapes of the service's answers that the page's pure logic (state.ts) uses: no DOM here, so tests
// type-check it under the root tsconfig (api.ts re-exports them).

export type ImageStatus = "queued" | "fetching" | "processing" | "storing" | "done" | "failed";
export type SessionStatus = "queued" | "running" | "completed" | "partial" | "failed";

export interface ResultView {
  url: string;
  width: number;
  height: number;
  format: string;
  bytes: number;
}

export interface SourceView {
  width: number;
  height: number;
  format: string;
  bytes: number;
}

export interface SessionImageView {
  id: string;
  name: string;
  sourceUrl: string;
  status: ImageStatus;
  percent: number;
  error?: { code: string; message: string };
  result?: ResultView;
  source?: SourceView;
  previewUrl?: string;
}

export interface SessionView {
  sessionId: string;
  /** ISO 8601 */
  createdAt: string | number;
  updatedAt?: string | number;
  expiresAt?: string;
  status: SessionStatus;
  command?: string;
  plan: unknown[];
  steps?: string[];
  images: SessionImageView[];
  streamToken?: string;
  progressUrl?: string;
}
