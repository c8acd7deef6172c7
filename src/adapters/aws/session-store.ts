// SessionStore on DynamoDB: one item per session (table `image-edit-sessions`, hash key
// sessionId, GSI userId-createdAt-index, TTL attribute `ttl`). Image progress is written in place
// (only that image's fields, with an atomic version increment), so two writers (processor
// Lambdas on images of one session) never lose each other's progress and never have to retry;
// the derived session status is then written conditional on `version`, re-read on conflict.
// DynamoDB deletes expired items late (up to days), so every read filters on ttl itself.
//
// Idempotency-Key: a session created with a key also claims a marker item in the same table,
// sessionId `idem#<sha256 of [userId, key]>`, conditional on the marker not existing; the claim is
// what makes two creates with one (user, key) exclusive (the GSI is eventually consistent, so it
// cannot). See claim() for the protocol. Markers have no userId or createdAt, so the (sparse) GSI
// never holds them and listings never see them; scans skip them explicitly. Rate counts
// (rate-counter.ts) share the table the same way.
import { createHash } from "node:crypto";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { ImageEditError } from "../../core/errors.js";
import type { Page, Session, SessionImage, SessionStore } from "../../ports.js";
// The one status rule every store shares (the service owns it).
import { sessionStatusOf, writableImage } from "../../service/status.js";

export const USER_INDEX = "userId-createdAt-index";

/** Key prefix of idempotency marker items; session ids are UUIDs and never start with it. */
export const MARKER_PREFIX = "idem#";

/** Key prefix of rate-count items (rate-counter.ts); session ids never start with it either. */
export const RATE_PREFIX = "rate#";

/** Items of the table that are not sessions: idempotency markers and rate counts. */
function isReservedId(id: string): boolean {
  return id.startsWith(MARKER_PREFIX) || id.startsWith(RATE_PREFIX);
}

/** The marker item's key for one user's Idempotency-Key. */
export function idempotencyMarkerId(userId: string, key: string): string {
  return `${MARKER_PREFIX}${createHash("sha256")
    .update(JSON.stringify([userId, key]))
    .digest("hex")}`;
}

/** The marker item: which session holds the key, and whether that session was written. */
interface Marker {
  sessionId: string;
  /** The session holding the key. */
  target: string;
  /** The session's ttl, so DynamoDB's TTL removes the marker with it. */
  ttl: number;
  /** epoch ms of the claim. */
  claimedAt: number;
  /**
   * Set once the target session is stored and (for a session created with `enqueued: false`) its
   * jobs are queued; until then the claim is in flight (or its writer died).
   */
  committed?: boolean;
}

export interface DynamoSessionStoreOptions {
  client: DynamoDBDocumentClient;
  table: string;
  /** Status-write conflicts before giving up with a retryable STORAGE_FAILED. */
  maxAttempts?: number;
  now?: () => number;
  /**
   * How long an uncommitted idempotency claim counts as in flight (its session not stored, or its
   * jobs not queued, yet). After that its writer is taken to be dead and another create with the
   * key takes the claim over.
   */
  claimGraceMs?: number;
  /** How long findByIdempotencyKey waits for an in-flight claim's session to be written. */
  replayWaitMs?: number;
}

/**
 * An item holds the whole session and DynamoDB caps items at 400 KB: with 50 images of 4 KB URLs
 * the sources alone take ~200 KB, so stored error messages are kept short.
 */
export const MAX_STORED_MESSAGE = 500;

function compactPatch(patch: Partial<Omit<SessionImage, "id" | "version">>) {
  if (!patch.error || patch.error.message.length <= MAX_STORED_MESSAGE) return patch;
  return { ...patch, error: { ...patch.error, message: `${patch.error.message.slice(0, MAX_STORED_MESSAGE - 1)}…` } };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** DynamoDB's limit on a partition key value (UTF-8 bytes). */
const MAX_KEY_BYTES = 2048;

/**
 * Whether an id can be a key of the table at all. Ids arrive from URLs and events: one DynamoDB
 * refuses (empty, or over its key limit) names no session, and asking would fail the request as a
 * storage error (a 503 clients retry) instead of answering "no such session".
 */
export function isStorableKey(id: string): boolean {
  return id.length > 0 && Buffer.byteLength(id, "utf8") <= MAX_KEY_BYTES;
}

export function storageError(action: string, e: unknown): ImageEditError {
  const message = e instanceof Error ? e.message : String(e);
  if (/item size/i.test(message)) {
    return new ImageEditError(
      "STORAGE_FAILED",
      `session store: ${action}: the session is over DynamoDB's 400 KB item limit`,
      {
        cause: e,
      },
    );
  }
  return new ImageEditError("STORAGE_FAILED", `session store: ${action} failed: ${message}`, {
    retryable: true,
    cause: e,
  });
}

export class DynamoSessionStore implements SessionStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly maxAttempts: number;
  private readonly now: () => number;
  private readonly claimGraceMs: number;
  private readonly replayWaitMs: number;

  constructor(opts: DynamoSessionStoreOptions) {
    this.client = opts.client;
    this.table = opts.table;
    this.maxAttempts = opts.maxAttempts ?? 30;
    this.now = opts.now ?? Date.now;
    this.claimGraceMs = opts.claimGraceMs ?? 30_000;
    this.replayWaitMs = opts.replayWaitMs ?? 2_000;
  }

  private live(s: Session | undefined): Session | undefined {
    return s && s.ttl * 1000 > this.now() ? s : undefined;
  }

  private conflict(session: Session): ImageEditError {
    return new ImageEditError("CONFLICT", `session ${session.sessionId} (or its idempotency key) exists`);
  }

  /**
   * With an Idempotency-Key: claim the key's marker, write the session, commit the claim (all
   * conditional writes on single items, which dynalite and DynamoDB both serialise per item):
   *  - claim: put the marker if absent. Taken: CONFLICT (the service then replays the holder),
   *    unless the holder is stale (see takeOver);
   *  - write the session; if that fails, release the marker;
   *  - commit: mark the claim committed, conditional on it still being ours. If it was taken over
   *    meanwhile (we were slower than claimGraceMs), remove our session and answer CONFLICT.
   *    A session created with `enqueued: false` is committed by markEnqueued instead, once its
   *    jobs are queued: the same write, later, so a replay never finds a session that a failed
   *    enqueue is about to delete.
   * Every change to a marker is conditional on its target, so a claim is committed or taken over,
   * never both, and exactly one session holds the key.
   */
  async create(session: Session): Promise<void> {
    const { enqueued, ...item } = session;
    const marker = session.idempotencyKey ? idempotencyMarkerId(session.userId, session.idempotencyKey) : undefined;
    if (marker) await this.claim(marker, session);
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: "attribute_not_exists(sessionId)",
        }),
      );
    } catch (e) {
      if (marker) await this.release(marker, session.sessionId);
      if (e instanceof ConditionalCheckFailedException) throw this.conflict(session);
      throw storageError("create", e);
    }
    if (marker && enqueued !== false) await this.commit(marker, session);
  }

  /** Commits the key's claim (see create); a session created without a key has none. */
  async markEnqueued(session: Session): Promise<void> {
    if (session.idempotencyKey) await this.commit(idempotencyMarkerId(session.userId, session.idempotencyKey), session);
  }

  private async commit(marker: string, session: Session): Promise<void> {
    try {
      await this.markCommitted(marker, session.sessionId);
    } catch (e) {
      // Taken over (the key now belongs to another session) or not known: either way this session
      // must not stay, or a retry would find two. The caller's retry starts afresh or replays.
      await this.deleteItem(session.sessionId).catch(() => undefined);
      if (!(e instanceof ConditionalCheckFailedException)) await this.release(marker, session.sessionId);
      if (e instanceof ConditionalCheckFailedException) throw this.conflict(session);
      throw storageError("create", e);
    }
  }

  private async claim(marker: string, session: Session): Promise<void> {
    const item: Marker = { sessionId: marker, target: session.sessionId, ttl: session.ttl, claimedAt: this.now() };
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        await this.client.send(
          new PutCommand({ TableName: this.table, Item: item, ConditionExpression: "attribute_not_exists(sessionId)" }),
        );
        return;
      } catch (e) {
        if (!(e instanceof ConditionalCheckFailedException)) throw storageError("create", e);
      }
      const held = await this.readMarker(marker);
      if (!held) continue; // released or deleted meanwhile: claim again
      if (await this.takeOver(held, item, session)) return;
      throw this.conflict(session);
    }
    throw this.conflict(session);
  }

  /**
   * Take a held claim over when it no longer protects a live session: the marker expired, its
   * committed session is gone or expired, or it was never committed and is older than the grace
   * (its writer died between claim and commit). Conditional on the claim being as read, so of two
   * creators only one takes it, and a late commit of the old claim fails.
   */
  private async takeOver(held: Marker, mine: Marker, session: Session): Promise<boolean> {
    const nowMs = this.now();
    if (held.ttl * 1000 > nowMs) {
      if (held.committed) {
        const target = this.live(await this.read(held.target));
        if (target?.userId === session.userId && target.idempotencyKey === session.idempotencyKey) return false;
      } else if (nowMs - held.claimedAt < this.claimGraceMs) {
        return false; // in flight: the service's replay lookup waits for it
      } else if (await this.adopt(held, session)) {
        return false; // the key now names that session: the caller replays it
      }
    }
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: mine,
          ConditionExpression: held.committed
            ? "#target = :old AND committed = :t"
            : "#target = :old AND attribute_not_exists(committed)",
          ExpressionAttributeNames: { "#target": "target" },
          ExpressionAttributeValues: { ":old": held.target, ...(held.committed ? { ":t": true } : {}) },
        }),
      );
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return false;
      throw storageError("create", e);
    }
    // An uncommitted claim's session, if its writer got that far, can never be committed now.
    if (!held.committed) await this.deleteItem(held.target).catch(() => undefined);
    return true;
  }

  /**
   * An uncommitted claim past the grace whose session is stored: its writer got as far as queueing
   * its jobs (the commit comes after them) and then died or stalled. The jobs may have run, so the
   * session is kept and the claim committed to it, not taken over (which would delete it).
   */
  private async adopt(held: Marker, session: Session): Promise<boolean> {
    const target = this.live(await this.read(held.target));
    if (target?.userId !== session.userId || target.idempotencyKey !== session.idempotencyKey) return false;
    try {
      await this.markCommitted(held.sessionId, held.target);
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw storageError("create", e);
      // taken over meanwhile: the caller's replay reads whatever the key names now
    }
    return true;
  }

  /** The key's claim holds for `target` from now on; conditional on it still naming `target`. */
  private markCommitted(marker: string, target: string) {
    return this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { sessionId: marker },
        UpdateExpression: "SET committed = :t",
        ConditionExpression: "#target = :target",
        ExpressionAttributeNames: { "#target": "target" },
        ExpressionAttributeValues: { ":t": true, ":target": target },
      }),
    );
  }

  /** Drop our claim (best effort: a leftover uncommitted claim is taken over after the grace). */
  private async release(marker: string, sessionId: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { sessionId: marker },
          ConditionExpression: "#target = :me",
          ExpressionAttributeNames: { "#target": "target" },
          ExpressionAttributeValues: { ":me": sessionId },
        }),
      );
    } catch {
      // not ours any more, or unreachable: nothing to do
    }
  }

  /** One item by its key, read strongly consistent. */
  private async getItem(sessionId: string): Promise<Record<string, unknown> | undefined> {
    try {
      const out = await this.client.send(
        new GetCommand({ TableName: this.table, Key: { sessionId }, ConsistentRead: true }),
      );
      return out.Item;
    } catch (e) {
      throw storageError("get", e);
    }
  }

  private async readMarker(marker: string): Promise<Marker | undefined> {
    return (await this.getItem(marker)) as Marker | undefined;
  }

  /** The stored session, expired or not; undefined for a marker item. */
  private async read(sessionId: string): Promise<Session | undefined> {
    if (isReservedId(sessionId) || !isStorableKey(sessionId)) return undefined;
    const item = (await this.getItem(sessionId)) as Session | undefined;
    return item && typeof item.userId === "string" ? item : undefined;
  }

  async get(sessionId: string): Promise<Session | undefined> {
    return this.live(await this.read(sessionId));
  }

  async listByUser(userId: string, opts: { limit: number; cursor?: string }): Promise<Page<Session>> {
    const limit = Math.max(1, Math.min(100, Math.floor(opts.limit)));
    let startKey = opts.cursor ? decodeCursor(opts.cursor, userId) : undefined;
    const items: Session[] = [];
    const nowSec = Math.floor(this.now() / 1000);
    // A filter applies after Limit, so keep reading until the page is full or the index ends;
    // LastEvaluatedKey of the last read is exactly where the next page starts.
    do {
      const out = await this.query({
        TableName: this.table,
        IndexName: USER_INDEX,
        KeyConditionExpression: "userId = :u",
        FilterExpression: "#ttl > :now",
        ExpressionAttributeNames: { "#ttl": "ttl" },
        ExpressionAttributeValues: { ":u": userId, ":now": nowSec },
        ScanIndexForward: false,
        Limit: limit - items.length,
        ExclusiveStartKey: startKey,
      });
      for (const it of out.Items ?? []) {
        const s = this.live(it as Session);
        if (s) items.push(s);
      }
      startKey = out.LastEvaluatedKey;
    } while (startKey && items.length < limit);
    return { items, nextCursor: startKey ? encodeCursor(startKey) : undefined };
  }

  private async query(input: QueryCommandInput) {
    try {
      return await this.client.send(new QueryCommand(input));
    } catch (e) {
      if (e instanceof Error && e.name === "ValidationException" && input.ExclusiveStartKey) {
        throw new ImageEditError("INVALID_INPUT", "invalid cursor", { field: "cursor" });
      }
      throw storageError("query", e);
    }
  }

  async updateImage(
    sessionId: string,
    imageId: string,
    rawPatch: Partial<Omit<SessionImage, "id" | "version">>,
  ): Promise<Session> {
    const patch = compactPatch(rawPatch);
    // An expired session (DynamoDB deletes it late) is gone for writers too, as in every store.
    const current = this.live(await this.read(sessionId));
    if (!current) throw new ImageEditError("NOT_FOUND", `session ${sessionId} not found`);
    const index = current.images.findIndex((i) => i.id === imageId);
    if (index < 0) throw new ImageEditError("NOT_FOUND", `image ${imageId} not found in session ${sessionId}`);
    const after = await this.writeImage(sessionId, imageId, index, patch);
    return this.reconcileStatus(after);
  }

  /**
   * Step 1: change only this image's fields, in place, and take the next version atomically
   * (every right-hand side reads the item as it was before this write). Writers on different
   * images never conflict, so 50 processor runs on one session never retry each other away.
   */
  private async writeImage(
    sessionId: string,
    imageId: string,
    index: number,
    patch: Partial<Omit<SessionImage, "id" | "version">>,
  ): Promise<Session> {
    const names: Record<string, string> = {
      "#images": "images",
      "#id": "id",
      "#version": "version",
      "#updatedAt": "updatedAt",
      "#st": "status",
      "#ttl": "ttl",
    };
    // The condition is writableImage's rule (service/status.ts) as DynamoDB checks it.
    const retry = patch.status === "queued";
    const values: Record<string, unknown> = {
      ":id": imageId,
      ":one": 1,
      ":now": this.now(),
      ":done": "done",
      // live() in the condition: the ttl may pass between the read and this write.
      ":nowSec": this.now() / 1000,
      ...(retry ? {} : { ":failed": "failed" }),
    };
    const img = `#images[${index}]`;
    const sets = [`${img}.#version = #version + :one`, "#version = #version + :one", "#updatedAt = :now"];
    const removes: string[] = [];
    Object.entries(patch).forEach(([key, value], n) => {
      if (key === "id" || key === "version") return;
      names[`#f${n}`] = key;
      if (value === undefined) removes.push(`${img}.#f${n}`);
      else {
        values[`:f${n}`] = value;
        sets.push(`${img}.#f${n} = :f${n}`);
      }
    });
    try {
      const out = await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { sessionId },
          UpdateExpression: `SET ${sets.join(", ")}${removes.length ? ` REMOVE ${removes.join(", ")}` : ""}`,
          // Images are never reordered or removed, but never write into the wrong one. A done image
          // is final and a failed one only goes back to queued: two deliveries of one job (Lambda's
          // at-least-once) both read it unfinished, and the loser must not overwrite the outcome.
          ConditionExpression: `attribute_exists(sessionId) AND #ttl > :nowSec AND ${img}.#id = :id AND ${img}.#st <> :done${
            retry ? "" : ` AND ${img}.#st <> :failed`
          }`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: "ALL_NEW",
        }),
      );
      return out.Attributes as Session;
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) {
        const now = this.live(await this.read(sessionId));
        const status = now?.images[index]?.id === imageId ? now.images[index].status : undefined;
        if (status && !writableImage(status, patch))
          throw new ImageEditError("CONFLICT", `image ${imageId} of session ${sessionId} is already ${status}`);
        throw new ImageEditError("NOT_FOUND", `image ${imageId} not found in session ${sessionId}`);
      }
      throw storageError("updateImage", e);
    }
  }

  /**
   * Step 2: the session status follows from all images. If it no longer matches, record it,
   * conditional on the version just read (bumping it, so pollers see the change); if another
   * write came in between, look again at the newer state. Status writes are rare (a session
   * changes status a few times), so this loop settles at once in practice.
   */
  private async reconcileStatus(after: Session): Promise<Session> {
    let seen = after;
    for (let attempt = 1; ; attempt++) {
      const status = sessionStatusOf(seen.images);
      if (status === seen.status) return seen;
      try {
        const out = await this.client.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { sessionId: seen.sessionId },
            UpdateExpression: "SET #status = :status, #version = #version + :one",
            ConditionExpression: "#version = :seen",
            ExpressionAttributeNames: { "#status": "status", "#version": "version" },
            ExpressionAttributeValues: { ":status": status, ":one": 1, ":seen": seen.version },
            ReturnValues: "ALL_NEW",
          }),
        );
        return out.Attributes as Session;
      } catch (e) {
        if (!(e instanceof ConditionalCheckFailedException)) throw storageError("updateImage", e);
        const latest = await this.read(seen.sessionId);
        if (!latest) throw new ImageEditError("NOT_FOUND", `session ${seen.sessionId} not found`);
        if (attempt >= this.maxAttempts) {
          throw new ImageEditError("STORAGE_FAILED", `session ${seen.sessionId}: too many concurrent updates`, {
            retryable: true,
          });
        }
        seen = latest;
        await sleep(Math.random() * Math.min(200, 2 ** attempt));
      }
    }
  }

  /**
   * Deleting a session frees its Idempotency-Key, as locally: a retry with the key then starts
   * afresh (the service relies on it when queueing fails). The marker goes first, so a failure in
   * between leaves a session without marker (deleting again finishes), never a stale claim.
   */
  async delete(sessionId: string): Promise<void> {
    if (isReservedId(sessionId) || !isStorableKey(sessionId)) return;
    const s = await this.read(sessionId);
    if (s?.idempotencyKey) await this.release(idempotencyMarkerId(s.userId, s.idempotencyKey), sessionId);
    await this.deleteItem(sessionId);
  }

  private async deleteItem(sessionId: string): Promise<void> {
    try {
      await this.client.send(new DeleteCommand({ TableName: this.table, Key: { sessionId } }));
    } catch (e) {
      throw storageError("delete", e);
    }
  }

  /**
   * Strongly consistent: the key's marker, then the session it names. An uncommitted claim is a
   * create in flight (the racing request that lost the claim lands here): wait briefly for it; if
   * its session is stored but its jobs are still being queued, answer it as `enqueued: false`.
   */
  async findByIdempotencyKey(userId: string, key: string): Promise<Session | undefined> {
    const marker = idempotencyMarkerId(userId, key);
    const deadline = this.now() + this.replayWaitMs;
    for (let wait = 25; ; wait = Math.min(wait * 2, 400)) {
      const m = await this.readMarker(marker);
      // No marker, no replay: every keyed session is created with its marker (and a delete
      // removes the marker first), so a new key costs one read, not a walk of the user's history.
      if (!m) return undefined;
      const nowMs = this.now();
      if (m.ttl * 1000 <= nowMs) return undefined;
      if (m.committed) {
        const s = this.live(await this.read(m.target));
        return s?.userId === userId && s.idempotencyKey === key ? s : undefined;
      }
      if (nowMs - m.claimedAt >= this.claimGraceMs) return undefined;
      if (nowMs >= deadline) {
        const s = this.live(await this.read(m.target));
        return s?.userId === userId && s.idempotencyKey === key ? { ...s, enqueued: false } : undefined;
      }
      await sleep(wait);
    }
  }

  private async scan(
    filter: string,
    names: Record<string, string>,
    values: Record<string, unknown>,
    limit: number,
  ): Promise<Session[]> {
    const found: Session[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      try {
        const out = await this.client.send(
          new ScanCommand({
            TableName: this.table,
            FilterExpression: filter,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ExclusiveStartKey: startKey,
          }),
        );
        found.push(...((out.Items ?? []) as Session[]));
        startKey = out.LastEvaluatedKey;
      } catch (e) {
        throw storageError("scan", e);
      }
    } while (startKey && found.length < limit);
    return found.slice(0, limit);
  }

  // Both scans skip idempotency markers and rate counts (no userId): they are not sessions. An
  // expired session's marker goes with it when the sweeper deletes the session, or by TTL (it carries the same ttl).
  listExpired(nowSec: number, limit: number): Promise<Session[]> {
    return this.scan("#ttl < :now AND attribute_exists(userId)", { "#ttl": "ttl" }, { ":now": nowSec }, limit);
  }

  async listUnfinished(limit: number): Promise<Session[]> {
    const nowSec = Math.floor(this.now() / 1000);
    return this.scan(
      "(#status = :q OR #status = :r) AND #ttl > :now AND attribute_exists(userId)",
      { "#status": "status", "#ttl": "ttl" },
      { ":q": "queued", ":r": "running", ":now": nowSec },
      limit,
    );
  }
}

function encodeCursor(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

function decodeCursor(cursor: string, userId: string): Record<string, unknown> {
  try {
    const key = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as Record<string, unknown>;
    if (
      key &&
      typeof key === "object" &&
      key.userId === userId &&
      typeof key.sessionId === "string" &&
      typeof key.createdAt === "number" &&
      Object.keys(key).length === 3
    ) {
      return key;
    }
  } catch {
    // fall through
  }
  throw new ImageEditError("INVALID_INPUT", "invalid cursor", { field: "cursor" });
}
