// Use cases behind the routes: plan a command (dry run), start an edit (validate, plan, store the
// session, queue one job per image), and the per-user limits on starting edits.
import { createHash } from "node:crypto";
import type { Config } from "../config.js";
import { planCommand } from "../core/command/index.js";
import { llmSettingsFromConfig } from "../core/command/llm.js";
import { ImageEditError } from "../core/errors.js";
import type { Limits } from "../core/limits.js";
import { describeOperation, type Plan } from "../core/operations.js";
import { validatePlan } from "../core/plan.js";
import type { Clock, JobRunner, ObjectStore, Session, SessionImage, SessionStore } from "../ports.js";
import { type EditRequest, EditRequestSchema, parseOrThrow, UPLOAD_URL } from "./schemas.js";
import { isFinished } from "./status.js";

export interface EditDeps {
  config: Config;
  limits: Limits;
  sessions: SessionStore;
  objects: ObjectStore;
  jobs: JobRunner;
  clock: Clock;
}

export interface PlannedEdit {
  plan: Plan;
  steps: string[];
  source: "grammar" | "llm" | "operations";
}

export function uploadKey(userId: string, uploadId: string): string {
  return `uploads/${userId}/${uploadId}`;
}

/**
 * Where an upload's name is kept: a small JSON object beside the upload, `{"name": "..."}`,
 * written only when the client named it (multipart filename or ?name=). Beside the upload, it
 * expires with it (the local sweeper's upload age, the bucket's lifecycle rule on AWS), and needs
 * nothing of the object stores but put and get.
 */
export function uploadNameKey(userId: string, uploadId: string): string {
  return `${uploadKey(userId, uploadId)}.json`;
}

export async function saveUploadName(
  objects: ObjectStore,
  userId: string,
  uploadId: string,
  name: string,
): Promise<void> {
  await objects.put(uploadNameKey(userId, uploadId), Buffer.from(JSON.stringify({ name })), "application/json");
}

/** The name an upload was given, or undefined (none given, uploaded before names were kept, unreadable). */
export async function uploadName(objects: ObjectStore, userId: string, uploadId: string): Promise<string | undefined> {
  const raw = await objects.getBuffer(uploadNameKey(userId, uploadId));
  if (!raw) return undefined;
  try {
    const { name } = JSON.parse(raw.toString("utf8")) as { name?: unknown };
    return typeof name === "string" ? name : undefined;
  } catch {
    return undefined;
  }
}

export function resultPrefix(userId: string, sessionId: string): string {
  return `${userId}/${sessionId}/`;
}

/** Grammar plans by command, per set of limits: the grammar is pure, and clients repeat commands. */
const grammarPlans = new WeakMap<Limits, Map<string, PlannedEdit>>();
const GRAMMAR_PLANS_KEPT = 500;

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Plain English -> plan, or COMMAND_NOT_UNDERSTOOD with the unknown words and suggestions. */
export async function planFromCommand(
  command: string,
  deps: Pick<EditDeps, "config" | "limits">,
  signal?: AbortSignal,
  field = "command",
): Promise<PlannedEdit> {
  let cache = grammarPlans.get(deps.limits);
  const hit = cache?.get(command);
  if (hit) return hit;
  const llm = llmSettingsFromConfig(deps.config);
  const r = await planCommand(command, { llm, signal });
  if (!r.ok) {
    throw new ImageEditError("COMMAND_NOT_UNDERSTOOD", r.error.message, {
      field,
      details: { unknown: r.error.unknown, suggestions: r.error.suggestions },
    });
  }
  // The grammar's (or the model's) plan goes through the same gate as a hand-written one; what the
  // client can change is its command, so that is the field named (a command of too many steps).
  let plan: Plan;
  try {
    plan = validatePlan(r.plan, deps.limits);
  } catch (e) {
    if (e instanceof ImageEditError) throw new ImageEditError(e.code, e.message, { field, details: e.details });
    throw e;
  }
  const planned: PlannedEdit = {
    plan,
    steps: r.steps?.length ? r.steps : plan.map(describeOperation),
    source: r.source ?? "grammar",
  };
  // Only the grammar's answers are kept (a model may answer differently next time). Frozen, since
  // every session planned from this command shares them.
  if (planned.source === "grammar") {
    if (!cache) {
      cache = new Map();
      grammarPlans.set(deps.limits, cache);
    }
    if (cache.size >= GRAMMAR_PLANS_KEPT) cache.delete(cache.keys().next().value as string);
    cache.set(command, deepFreeze(planned));
  }
  return planned;
}

function planFromOperations(operations: unknown, limits: Limits): PlannedEdit {
  // Fields named as the client sent them (operation.operations[1].width), in the error and its issues
  const plan = validatePlan(operations, limits, { root: "operation.operations" });
  return { plan, steps: plan.map(describeOperation), source: "operations" };
}

/** Control characters (C0, DEL, C1), and the bidirectional overrides that make "photo\u202Egnp.exe" read as "photoexe.png". */
const UNSHOWN = /[\p{Cc}\u202a-\u202e\u2066-\u2069]/u;

/**
 * A name to show: no control characters or bidi overrides (they would garble logs, headers and
 * pages, or disguise an extension), trimmed, at most 255 characters (cut by code point, never
 * inside a surrogate pair).
 */
export function cleanName(name: string | undefined | null, fallback: string): string {
  const clean = [...(name ?? "")]
    .filter((ch) => !UNSHOWN.test(ch))
    .join("")
    .trim();
  return [...clean].slice(0, 255).join("").trim() || fallback;
}

/** A file's name from a path or URL path (the last segment), cleaned. */
export function fileName(p: string | undefined | null, fallback: string): string {
  return cleanName((p ?? "").split(/[\\/]/).pop(), fallback);
}

function nameFromUrl(url: string, fallback: string): string {
  try {
    return fileName(decodeURIComponent(new URL(url).pathname), fallback);
  } catch {
    return fallback;
  }
}

export interface StartEditResult {
  session: Session;
  steps: string[];
  /** True when an Idempotency-Key matched an earlier request. */
  replayed: boolean;
}

/**
 * An optional SessionStore extension: stores that can count a user's unfinished sessions without
 * reading their documents (SQLite) offer it; others are asked for their latest 100 sessions.
 */
export interface CountsUnfinished {
  countUnfinishedByUser(userId: string): Promise<number>;
}

/**
 * Answers RATE_LIMITED when the user already has MAX_CONCURRENT_SESSIONS unfinished sessions,
 * counting `starting` more: edits this process is starting and has not stored yet.
 */
export async function checkConcurrentSessions(
  userId: string,
  deps: Pick<EditDeps, "config" | "sessions">,
  starting = 0,
) {
  const max = deps.config.MAX_CONCURRENT_SESSIONS;
  const counter = deps.sessions as Partial<CountsUnfinished>;
  const stored =
    typeof counter.countUnfinishedByUser === "function"
      ? await counter.countUnfinishedByUser(userId)
      : (await deps.sessions.listByUser(userId, { limit: 100 })).items.filter((s) => !isFinished(s.status)).length;
  const open = stored + starting;
  if (open >= max) {
    throw new ImageEditError(
      "RATE_LIMITED",
      `you have ${open} ${open === 1 ? "edit" : "edits"} still running; the limit is ${max} at a time. Wait for one to finish.`,
      { details: { retryAfterSec: 5, limit: max, reason: "concurrent_sessions" } },
    );
  }
}

/** JSON with object keys sorted and undefined members left out: one text per value, however it was sent. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

const FINGERPRINT_VERSION = "v1";

/**
 * A session is one DynamoDB item, which holds at most 400 KB, and grows as its images finish
 * (results, errors of up to 500 characters). A session that could outgrow it would fail later,
 * stuck as running: it is refused up front, on every runtime alike. Lengths are checked in
 * characters by the schema, but a character of a non-Latin URL or name takes 2-4 bytes.
 */
export const MAX_SESSION_BYTES = 380 * 1024;
/** Room kept per image for what finishing adds (result, source facts, an error message). */
export const SESSION_BYTES_PER_IMAGE_RESERVE = 2048;

function checkSessionSize(session: Session): void {
  const bytes = Buffer.byteLength(JSON.stringify(session)) + session.images.length * SESSION_BYTES_PER_IMAGE_RESERVE;
  if (bytes <= MAX_SESSION_BYTES) return;
  const kb = (n: number) => `${Math.ceil(n / 1024).toLocaleString("en-US")} KB`;
  throw new ImageEditError(
    "INVALID_INPUT",
    `images: this edit would need ${kb(bytes)} of session record (URLs, names and the plan, plus room for each image's result); the limit is ${kb(MAX_SESSION_BYTES)}: use shorter URLs or names, or fewer images per request`,
    { field: "images" },
  );
}

/**
 * What an edit request asks for, as a digest: sha256 of the canonical JSON of the validated request
 * (images with their ids as defaulted, urls (so upload ids) and names; the operation, command or
 * plan, as sent; the options). Key order, whitespace, an id or options spelled out at their
 * defaults do not change it. Versioned ("v1:<hex>"): a fingerprint of another version is not
 * compared, so changing the canonical form later cannot refuse an honest retry.
 */
export function requestFingerprint(req: EditRequest): string {
  const options = req.options && Object.values(req.options).some((v) => v !== undefined) ? req.options : undefined;
  const canonical = canonicalJson({
    images: req.images.map((ref, i) => ({ id: ref.id ?? `image-${i + 1}`, url: ref.url, name: ref.name })),
    operation: req.operation,
    options,
  });
  return `${FINGERPRINT_VERSION}:${createHash("sha256").update(canonical).digest("hex")}`;
}

/** A validated POST /image-edit body and its fingerprint. */
export interface ValidEdit {
  request: EditRequest;
  fingerprint: string;
}

/** Checks a POST /image-edit body (TOO_MANY_IMAGES, INVALID_INPUT naming the field); nothing is stored. */
export function validateEdit(body: unknown, deps: Pick<EditDeps, "config">): ValidEdit {
  const max = deps.config.MAX_IMAGES_PER_REQUEST;
  const count = (body as { images?: unknown })?.images;
  if (Array.isArray(count) && count.length > max) {
    throw new ImageEditError("TOO_MANY_IMAGES", `images: ${count.length} images in one request; the limit is ${max}`, {
      field: "images",
      details: { count: count.length, limit: max },
    });
  }
  const request = parseOrThrow(EditRequestSchema, body);
  return { request, fingerprint: requestFingerprint(request) };
}

/**
 * The session an earlier request with this Idempotency-Key created (per user), to answer again.
 * Given the fingerprint of this request, a session created by a different request is refused with
 * IDEMPOTENCY_KEY_REUSED (422) rather than passed off as this request's answer; a session stored
 * without a fingerprint (before they were kept) replays as it always did.
 */
export async function findReplay(
  userId: string,
  idempotencyKey: string | undefined,
  deps: Pick<EditDeps, "sessions">,
  fingerprint?: string,
): Promise<StartEditResult | undefined> {
  if (!idempotencyKey) return undefined;
  const s = await deps.sessions.findByIdempotencyKey(userId, idempotencyKey);
  if (!s) return undefined;
  const stored = s.requestFingerprint;
  const comparable = stored && fingerprint && stored.split(":")[0] === fingerprint.split(":")[0];
  if (comparable && stored !== fingerprint) {
    throw new ImageEditError(
      "IDEMPOTENCY_KEY_REUSED",
      `Idempotency-Key: this key was already used for a different request (session ${s.sessionId}); ` +
        "send that same request again to get its session, or use a new key for a new edit",
      { field: "Idempotency-Key", details: { sessionId: s.sessionId } },
    );
  }
  // Its jobs are not queued yet, and if queueing fails it is deleted: never hand it out. One that
  // has moved on was queued whatever its mark says (a mark that failed to be written).
  const progressed = s.status !== "queued" || s.images.some((i) => i.status !== "queued");
  if (s.enqueued === false && !progressed) throw stillAccepting();
  return { session: s, steps: s.plan.map(describeOperation), replayed: true };
}

/** The key's first request is still being accepted: 409, retryable, with a Retry-After. */
function stillAccepting(): ImageEditError {
  return new ImageEditError(
    "CONFLICT",
    "Idempotency-Key: the same request is still being accepted (its images are being queued); send it again in a moment to get its session",
    { field: "Idempotency-Key", retryable: true, details: { retryAfterSec: 1, reason: "in_progress" } },
  );
}

/** Validate, plan, store and queue. The caller has authenticated userId and applied rate limits. */
export async function startEdit(
  userId: string,
  body: unknown,
  deps: EditDeps,
  opts: { idempotencyKey?: string; signal?: AbortSignal } = {},
): Promise<StartEditResult> {
  return startValidatedEdit(userId, validateEdit(body, deps), deps, opts);
}

/** startEdit for a body validateEdit has checked already (the route checks it before the replay lookup). */
export async function startValidatedEdit(
  userId: string,
  edit: ValidEdit,
  deps: EditDeps,
  opts: { idempotencyKey?: string; signal?: AbortSignal } = {},
): Promise<StartEditResult> {
  const req = edit.request;

  const seen = new Set<string>();
  const images: SessionImage[] = [];
  for (const [i, ref] of req.images.entries()) {
    const id = ref.id ?? `image-${i + 1}`;
    if (seen.has(id))
      throw new ImageEditError("INVALID_INPUT", `images[${i}].id: "${id}" is used twice`, { field: `images[${i}].id` });
    seen.add(id);
    const upload = UPLOAD_URL.exec(ref.url);
    let uploadedAs: string | undefined;
    if (upload) {
      const [exists, stored] = await Promise.all([
        deps.objects.exists(uploadKey(userId, upload[1])),
        ref.name === undefined ? uploadName(deps.objects, userId, upload[1]) : undefined,
      ]);
      if (!exists)
        throw new ImageEditError("INVALID_INPUT", `images[${i}].url: no upload ${upload[1]} (uploads expire)`, {
          field: `images[${i}].url`,
        });
      uploadedAs = stored;
    } else if (ref.url.startsWith("upload:")) {
      throw new ImageEditError("INVALID_INPUT", `images[${i}].url: not an upload id this service issued`, {
        field: `images[${i}].url`,
      });
    } else if (!URL.canParse(ref.url)) {
      throw new ImageEditError("INVALID_INPUT", `images[${i}].url: not a URL`, { field: `images[${i}].url` });
    } else if (!/^https?:$/.test(new URL(ref.url).protocol)) {
      const scheme = new URL(ref.url).protocol.slice(0, -1);
      throw new ImageEditError(
        "INVALID_INPUT",
        `images[${i}].url: the scheme "${scheme}" is not allowed; use an http(s) URL or upload:<id>`,
        { field: `images[${i}].url` },
      );
    }
    images.push({
      id,
      // Given, else the name the upload was given, else the URL's last segment (an upload's is its id).
      name:
        ref.name !== undefined
          ? cleanName(ref.name, id)
          : upload
            ? cleanName(uploadedAs, id)
            : nameFromUrl(ref.url, id),
      sourceUrl: ref.url,
      status: "queued",
      percent: 0,
      attempts: 0,
      version: 1,
    });
  }

  const planned =
    req.operation.type === "command"
      ? await planFromCommand(req.operation.command, deps, opts.signal, "operation.command")
      : planFromOperations(req.operation.operations, deps.limits);

  const now = deps.clock.now();
  const session: Session = {
    sessionId: globalThis.crypto.randomUUID(),
    userId,
    createdAt: now,
    updatedAt: now,
    status: "queued",
    command: req.operation.type === "command" ? req.operation.command : undefined,
    plan: planned.plan,
    options: req.options,
    images,
    ttl: Math.floor(now / 1000) + deps.config.SESSION_TTL_DAYS * 86_400,
    version: 1,
    idempotencyKey: opts.idempotencyKey,
    // Only a keyed session is ever looked up again to be compared.
    requestFingerprint: opts.idempotencyKey ? edit.fingerprint : undefined,
  };
  if (session.command === undefined) delete session.command;
  if (session.options === undefined) delete session.options;
  if (session.idempotencyKey === undefined) delete session.idempotencyKey;
  if (session.requestFingerprint === undefined) delete session.requestFingerprint;
  checkSessionSize(session);

  // A keyed session is stored as not yet queued, so a retry does not replay it before its jobs are
  // (a failed enqueue deletes it); stores that cannot mark it replay it at once, as before.
  const marks = opts.idempotencyKey !== undefined && typeof deps.sessions.markEnqueued === "function";
  try {
    await deps.sessions.create(marks ? { ...session, enqueued: false } : session);
  } catch (e) {
    // Two identical requests raced: the other one stored the session under this key.
    if (e instanceof ImageEditError && e.code === "CONFLICT" && opts.idempotencyKey) {
      const again = await findReplay(userId, opts.idempotencyKey, deps, edit.fingerprint);
      if (again) return again;
      // The key's holder is not readable yet: its create is still in flight.
      throw stillAccepting();
    }
    throw e;
  }
  try {
    await deps.jobs.enqueue(
      images.map((img) => ({ sessionId: session.sessionId, imageId: img.id, userId, attempt: 1 })),
    );
    if (marks)
      await deps.sessions.markEnqueued!(session).catch((e: unknown) => {
        // The key changed hands meanwhile, or the session was deleted: the retry finds out which.
        const lost = e instanceof ImageEditError && (e.code === "CONFLICT" || e.code === "NOT_FOUND");
        throw lost ? stillAccepting() : e;
      });
  } catch (e) {
    // No job on its way (or not for every image): the session would stay "queued" and count as
    // unfinished until it expires (nothing on AWS looks for it again). Forget it, so the client's
    // retry, same Idempotency-Key included, starts afresh; a job that did get queued finds the
    // session gone and drops its work. (A failed mark ends the same way.)
    await deps.sessions.delete(session.sessionId).catch(() => undefined);
    throw e;
  }
  return { session, steps: planned.steps, replayed: false };
}
