// SessionStore on DynamoDB: one item per session (table `image-edit-sessions`, hash key
// sessionId, GSI userId-createdAt-index, TTL attribute `ttl`). Image progress is written with
// a read-modify-write conditional on `version`, retried with jittered backoff on conflict, so
// two writers (two processor Lambdas on images of one session) never lose each other's progress.
// DynamoDB deletes expired items late (up to days), so every read filters on ttl itself.
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
import { sessionStatusOf } from "../../service/status.js";

export const USER_INDEX = "userId-createdAt-index";

export interface DynamoSessionStoreOptions {
  client: DynamoDBDocumentClient;
  table: string;
  /** Conflict retries before giving up with a retryable STORAGE_FAILED. */
  maxAttempts?: number;
  now?: () => number;
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

function storageError(action: string, e: unknown): ImageEditError {
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

  constructor(opts: DynamoSessionStoreOptions) {
    this.client = opts.client;
    this.table = opts.table;
    this.maxAttempts = opts.maxAttempts ?? 30;
    this.now = opts.now ?? Date.now;
  }

  private live(s: Session | undefined): Session | undefined {
    return s && s.ttl * 1000 > this.now() ? s : undefined;
  }

  async create(session: Session): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: session,
          ConditionExpression: "attribute_not_exists(sessionId)",
        }),
      );
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) {
        throw new ImageEditError("CONFLICT", `session ${session.sessionId} already exists`);
      }
      throw storageError("create", e);
    }
  }

  private async read(sessionId: string): Promise<Session | undefined> {
    try {
      const out = await this.client.send(
        new GetCommand({ TableName: this.table, Key: { sessionId }, ConsistentRead: true }),
      );
      return out.Item as Session | undefined;
    } catch (e) {
      throw storageError("get", e);
    }
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
    for (let attempt = 1; ; attempt++) {
      const current = await this.read(sessionId);
      if (!current) throw new ImageEditError("NOT_FOUND", `session ${sessionId} not found`);
      const index = current.images.findIndex((i) => i.id === imageId);
      if (index < 0) throw new ImageEditError("NOT_FOUND", `image ${imageId} not found in session ${sessionId}`);
      const version = current.version + 1;
      const merged: SessionImage = { ...current.images[index], ...patch, id: imageId, version };
      // A key patched to undefined clears that field.
      for (const [k, v] of Object.entries(patch))
        if (v === undefined) delete (merged as unknown as Record<string, unknown>)[k];
      const images = current.images.map((img, i) => (i === index ? merged : img));
      const next: Session = {
        ...current,
        images,
        status: sessionStatusOf(images),
        updatedAt: Math.max(this.now(), current.updatedAt),
        version,
      };
      try {
        await this.client.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { sessionId },
            UpdateExpression: "SET images = :images, #status = :status, updatedAt = :updatedAt, version = :next",
            ConditionExpression: "version = :prev",
            ExpressionAttributeNames: { "#status": "status" },
            ExpressionAttributeValues: {
              ":images": images,
              ":status": next.status,
              ":updatedAt": next.updatedAt,
              ":next": version,
              ":prev": current.version,
            },
          }),
        );
        return next;
      } catch (e) {
        if (!(e instanceof ConditionalCheckFailedException)) throw storageError("updateImage", e);
        if (attempt >= this.maxAttempts) {
          throw new ImageEditError("STORAGE_FAILED", `session ${sessionId}: too many concurrent updates`, {
            retryable: true,
          });
        }
        // Full jitter: writers that collided spread out instead of colliding again.
        await sleep(Math.random() * Math.min(500, 5 * 2 ** attempt));
      }
    }
  }

  async delete(sessionId: string): Promise<void> {
    try {
      await this.client.send(new DeleteCommand({ TableName: this.table, Key: { sessionId } }));
    } catch (e) {
      throw storageError("delete", e);
    }
  }

  async findByIdempotencyKey(userId: string, key: string): Promise<Session | undefined> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await this.query({
        TableName: this.table,
        IndexName: USER_INDEX,
        KeyConditionExpression: "userId = :u",
        FilterExpression: "idempotencyKey = :k AND #ttl > :now",
        ExpressionAttributeNames: { "#ttl": "ttl" },
        ExpressionAttributeValues: { ":u": userId, ":k": key, ":now": Math.floor(this.now() / 1000) },
        ScanIndexForward: false,
        ExclusiveStartKey: startKey,
      });
      const hit = (out.Items ?? [])[0] as Session | undefined;
      // The index projects everything, but read the base item for a consistent copy.
      if (hit) return this.get(hit.sessionId);
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return undefined;
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

  listExpired(nowSec: number, limit: number): Promise<Session[]> {
    return this.scan("#ttl < :now", { "#ttl": "ttl" }, { ":now": nowSec }, limit);
  }

  async listUnfinished(limit: number): Promise<Session[]> {
    const nowSec = Math.floor(this.now() / 1000);
    return this.scan(
      "(#status = :q OR #status = :r) AND #ttl > :now",
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
