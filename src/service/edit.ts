// Use cases behind the routes: plan a command (dry run), start an edit (validate, plan, store the
// session, queue one job per image), and the per-user limits on starting edits.
import type { Config } from "../config.js";
import { planCommand } from "../core/command/index.js";
import { llmSettingsFromConfig } from "../core/command/llm.js";
import { ImageEditError } from "../core/errors.js";
import type { Limits } from "../core/limits.js";
import { describeOperation, type Plan } from "../core/operations.js";
import { validatePlan } from "../core/plan.js";
import type { Clock, JobRunner, ObjectStore, Session, SessionImage, SessionStore } from "../ports.js";
import { EditRequestSchema, parseOrThrow, UPLOAD_URL } from "./schemas.js";
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
  // The grammar's (or the model's) plan goes through the same gate as a hand-written one.
  const plan = validatePlan(r.plan, deps.limits);
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
  try {
    const plan = validatePlan(operations, limits);
    return { plan, steps: plan.map(describeOperation), source: "operations" };
  } catch (e) {
    // Name the field as the client sent it: operation.operations[1].width
    if (e instanceof ImageEditError && e.field) {
      // Messages that start with the field name it again in full; others stay as they are.
      const message = e.message.startsWith(e.field) ? `operation.${e.message}` : e.message;
      throw new ImageEditError(e.code, message, {
        field: `operation.${e.field}`,
        details: e.details,
      });
    }
    throw e;
  }
}

/** A name to show: no control characters (they would garble logs, headers and pages), trimmed, at most 255. */
export function cleanName(name: string | undefined | null, fallback: string): string {
  const clean = [...(name ?? "")]
    .filter((ch) => ch.charCodeAt(0) >= 0x20 && ch.charCodeAt(0) !== 0x7f)
    .join("")
    .trim()
    .slice(0, 255);
  return clean || fallback;
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

/** Answers RATE_LIMITED when the user already has MAX_CONCURRENT_SESSIONS unfinished sessions. */
export async function checkConcurrentSessions(userId: string, deps: Pick<EditDeps, "config" | "sessions">) {
  const max = deps.config.MAX_CONCURRENT_SESSIONS;
  const counter = deps.sessions as Partial<CountsUnfinished>;
  const open =
    typeof counter.countUnfinishedByUser === "function"
      ? await counter.countUnfinishedByUser(userId)
      : (await deps.sessions.listByUser(userId, { limit: 100 })).items.filter((s) => !isFinished(s.status)).length;
  if (open >= max) {
    throw new ImageEditError(
      "RATE_LIMITED",
      `you have ${open} edits still running; the limit is ${max} at a time. Wait for one to finish.`,
      { details: { retryAfterSec: 5, limit: max, reason: "concurrent_sessions" } },
    );
  }
}

export async function findReplay(
  userId: string,
  idempotencyKey: string | undefined,
  deps: Pick<EditDeps, "sessions">,
): Promise<StartEditResult | undefined> {
  if (!idempotencyKey) return undefined;
  const s = await deps.sessions.findByIdempotencyKey(userId, idempotencyKey);
  return s ? { session: s, steps: s.plan.map(describeOperation), replayed: true } : undefined;
}

/** Validate, plan, store and queue. The caller has authenticated userId and applied rate limits. */
export async function startEdit(
  userId: string,
  body: unknown,
  deps: EditDeps,
  opts: { idempotencyKey?: string; signal?: AbortSignal } = {},
): Promise<StartEditResult> {
  const max = deps.config.MAX_IMAGES_PER_REQUEST;
  const count = (body as { images?: unknown })?.images;
  if (Array.isArray(count) && count.length > max) {
    throw new ImageEditError("TOO_MANY_IMAGES", `images: ${count.length} images in one request; the limit is ${max}`, {
      field: "images",
      details: { count: count.length, limit: max },
    });
  }
  const req = parseOrThrow(EditRequestSchema, body);

  const seen = new Set<string>();
  const images: SessionImage[] = [];
  for (const [i, ref] of req.images.entries()) {
    const id = ref.id ?? `image-${i + 1}`;
    if (seen.has(id))
      throw new ImageEditError("INVALID_INPUT", `images[${i}].id: "${id}" is used twice`, { field: `images[${i}].id` });
    seen.add(id);
    const upload = UPLOAD_URL.exec(ref.url);
    if (upload) {
      if (!(await deps.objects.exists(uploadKey(userId, upload[1]))))
        throw new ImageEditError("INVALID_INPUT", `images[${i}].url: no upload ${upload[1]} (uploads expire)`, {
          field: `images[${i}].url`,
        });
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
      name: ref.name !== undefined ? cleanName(ref.name, id) : upload ? id : nameFromUrl(ref.url, id),
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
  };
  if (session.command === undefined) delete session.command;
  if (session.options === undefined) delete session.options;
  if (session.idempotencyKey === undefined) delete session.idempotencyKey;

  try {
    await deps.sessions.create(session);
  } catch (e) {
    // Two identical requests raced: the other one stored the session under this key.
    if (e instanceof ImageEditError && e.code === "CONFLICT" && opts.idempotencyKey) {
      const again = await findReplay(userId, opts.idempotencyKey, deps);
      if (again) return again;
    }
    throw e;
  }
  try {
    await deps.jobs.enqueue(
      images.map((img) => ({ sessionId: session.sessionId, imageId: img.id, userId, attempt: 1 })),
    );
  } catch (e) {
    // No job on its way (or not for every image): the session would stay "queued" and count as
    // unfinished until it expires (nothing on AWS looks for it again). Forget it, so the client's
    // retry, same Idempotency-Key included, starts afresh; a job that did get queued finds the
    // session gone and drops its work.
    await deps.sessions.delete(session.sessionId).catch(() => undefined);
    throw e;
  }
  return { session, steps: planned.steps, replayed: false };
}
