// The interfaces the service needs from its runtime. Local adapters (SQLite, filesystem,
// worker threads, prom-client) and AWS adapters (DynamoDB, S3, Lambda, CloudWatch EMF)
// implement them; the service and the HTTP app see only these.
import type { Readable } from "node:stream";
import type { ErrorCode } from "./core/errors.js";
import type { Plan } from "./core/operations.js";

export type SessionStatus = "queued" | "running" | "completed" | "partial" | "failed";
export type ImageStatus = "queued" | "fetching" | "processing" | "storing" | "done" | "failed";

export interface ImageResult {
  /** Object key: {userId}/{sessionId}/{imageId}.{ext} */
  key: string;
  width: number;
  height: number;
  format: string;
  bytes: number;
  /** Frames, when the result is animated. */
  pages?: number;
}

export interface SessionImage {
  id: string;
  name: string;
  sourceUrl: string;
  status: ImageStatus;
  /** 0..100 */
  percent: number;
  error?: { code: ErrorCode; message: string };
  result?: ImageResult;
  /** Source facts, once fetched: for the page's before/after. */
  source?: { width: number; height: number; format: string; bytes: number };
  /** Delivery attempts so far (bounded retries). */
  attempts: number;
  /** The session version at which this image last changed (progress event ids derive from it). */
  version: number;
}

export interface SessionOptions {
  outputFormat?: "jpeg" | "png" | "webp" | "avif" | "gif" | "tiff";
  quality?: number;
  maxWidth?: number;
  maxHeight?: number;
  preserveMetadata?: boolean;
}

export interface Session {
  sessionId: string;
  userId: string;
  /** epoch ms */
  createdAt: number;
  /** epoch ms */
  updatedAt: number;
  status: SessionStatus;
  command?: string;
  plan: Plan;
  options?: SessionOptions;
  images: SessionImage[];
  /** epoch seconds; the session and its files are gone after this. */
  ttl: number;
  /** Monotonic: bumped by every change, used for optimistic concurrency and event ids. */
  version: number;
  idempotencyKey?: string;
  /**
   * With an idempotencyKey: a digest of the request that created the session (see
   * requestFingerprint in service/edit.ts), so a replay can tell the same request from another one
   * sent with the key. Absent on sessions stored before it existed: those replay as before.
   */
  requestFingerprint?: string;
  /**
   * False on a keyed session from its create until its jobs are queued (markEnqueued): a replay
   * must not hand it out yet, since a failed enqueue deletes it. Never stored as a field (the
   * stores keep it beside the session) and reported only by findByIdempotencyKey; absent means
   * queued, as on every session stored before it existed.
   */
  enqueued?: boolean;
}

export interface Page<T> {
  items: T[];
  /** Opaque; pass back to get the next page. Absent on the last page. */
  nextCursor?: string;
}

export interface SessionStore {
  /** Create; fails with CONFLICT if the id exists. */
  create(session: Session): Promise<void>;
  /** Undefined when missing or expired (ttl in the past). */
  get(sessionId: string): Promise<Session | undefined>;
  /** A user's sessions, newest first. */
  listByUser(userId: string, opts: { limit: number; cursor?: string }): Promise<Page<Session>>;
  /**
   * Apply a change to one image atomically (conditional on version, retried on conflict, so two
   * writers never lose each other's progress); recomputes the session status; returns the new session.
   */
  updateImage(
    sessionId: string,
    imageId: string,
    patch: Partial<Omit<SessionImage, "id" | "version">>,
  ): Promise<Session>;
  delete(sessionId: string): Promise<void>;
  /**
   * A previous session created by this user with this Idempotency-Key, if any; `enqueued: false`
   * while its jobs are not queued yet.
   */
  findByIdempotencyKey(userId: string, key: string): Promise<Session | undefined>;
  /**
   * A session created with `enqueued: false` has its jobs queued: a replay may hand it out from
   * now on. At most one conditional write. CONFLICT or NOT_FOUND when the session is no longer
   * there (or no longer holds its key). A store without it is never given `enqueued: false`.
   */
  markEnqueued?(session: Session): Promise<void>;
  /** Sessions whose ttl (epoch s) is before `nowSec`, for the sweeper. */
  listExpired(nowSec: number, limit: number): Promise<Session[]>;
  /** Sessions not yet finished (queued or running), for recovery after a crash. */
  listUnfinished(limit: number): Promise<Session[]>;
  close?(): Promise<void>;
}

export interface StoredObject {
  body: Readable;
  contentType: string;
  bytes: number;
}

export interface ObjectStore {
  put(key: string, body: Buffer, contentType: string): Promise<void>;
  /** Streamed put with a byte cap enforced while streaming; returns the bytes written. */
  putStream(key: string, body: Readable, contentType: string, maxBytes: number): Promise<number>;
  get(key: string): Promise<StoredObject | undefined>;
  getBuffer(key: string): Promise<Buffer | undefined>;
  exists(key: string): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** Delete every object whose key starts with prefix. */
  deletePrefix(prefix: string): Promise<void>;
  /** Keys under a prefix (for the sweeper's orphan check). */
  list(prefix: string): Promise<string[]>;
  /** A URL anyone holding it can GET until it expires (HMAC-signed locally, presigned on S3). */
  signedGetUrl(key: string, expiresInSec: number): Promise<string>;
  /** A URL a client can PUT an upload to directly, where the store supports it (S3). */
  signedPutUrl?(key: string, contentType: string, expiresInSec: number): Promise<string>;
}

export interface Job {
  sessionId: string;
  imageId: string;
  userId: string;
  /** 1-based delivery attempt. */
  attempt: number;
}

export type JobHandler = (job: Job) => Promise<void>;

export interface JobRunner {
  /** Queue jobs; returns once they are accepted (not done). */
  enqueue(jobs: Job[]): Promise<void>;
  /** Jobs waiting plus running, for the queue-depth metric. */
  depth(): number;
  /** Stop taking jobs; wait for running ones up to the deadline, then hand back the rest. */
  stop(deadlineMs: number): Promise<void>;
  /**
   * Drop a deleted session's waiting jobs and abort its running ones, where the runner can (in
   * process; a Lambda's job stops at its next write instead).
   */
  cancelSession?(sessionId: string): void;
}

export type Labels = Record<string, string | number>;

export interface Metrics {
  increment(name: string, labels?: Labels, value?: number): void;
  observe(name: string, value: number, labels?: Labels): void;
  gauge(name: string, value: number, labels?: Labels): void;
  /** Exposition text for GET /metrics (Prometheus); undefined where metrics leave another way (EMF). */
  render?(): Promise<string>;
  contentType?: string;
}

// ---- added by the service (H5) ----

/** Time source; tests and the sweeper pass their own. */
export interface Clock {
  /** epoch ms */
  now(): number;
}

/**
 * Hits per key over a minute, for per-user rate limits. Every process serving the API must see
 * the same counts: on AWS each warm container would otherwise allow the limit on its own.
 */
export interface RateCounter {
  /** Records a hit of `key` unless `limit` are counted already: 0 when recorded, else seconds to wait. */
  take(key: string, limit: number): Promise<number>;
  /** Gives back the latest hit of `key`: what it was taken for did not happen. */
  refund(key: string): Promise<void>;
}

/**
 * Change notifications for one session, for the progress stream. In-process locally (every
 * change), by polling the store on Lambda (changes may be coalesced: subscribers diff by version).
 */
export interface SessionWatcher {
  /** Calls onChange with the session after it changed (undefined once deleted); returns unsubscribe. */
  watch(sessionId: string, onChange: (session: Session | undefined) => void): () => void;
}
