// RateCounter on DynamoDB, for the API function: its warm containers share the counts, where each
// one counting in memory would let a user through the limit once per container. One item per key
// and calendar minute in the sessions table, sessionId `rate#<sha256 of the key>#<minute>`: no
// userId or createdAt, so the GSI and the session scans never see it, and its ttl lets DynamoDB
// remove it. A hit is one conditional UpdateItem (ADD, only while under the limit): containers
// never read-modify-write, so none can overcount another's hit.
import { createHash } from "node:crypto";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { Clock, RateCounter } from "../../ports.js";
import { RATE_PREFIX, storageError } from "./session-store.js";

const WINDOW_MS = 60_000;

export function rateItemId(key: string, windowStart: number): string {
  return `${RATE_PREFIX}${createHash("sha256").update(key).digest("hex")}#${windowStart / 1000}`;
}

export interface DynamoRateCounterOptions {
  client: DynamoDBDocumentClient;
  table: string;
  clock?: Clock;
}

export class DynamoRateCounter implements RateCounter {
  private readonly client: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly clock: Clock;
  /** The window of each key's latest hit here, for refund (a refund follows its take in one request). */
  private readonly lastWindow = new Map<string, number>();

  constructor(opts: DynamoRateCounterOptions) {
    this.client = opts.client;
    this.table = opts.table;
    this.clock = opts.clock ?? { now: () => Date.now() };
  }

  async take(key: string, limit: number): Promise<number> {
    const now = this.clock.now();
    const start = now - (now % WINDOW_MS);
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { sessionId: rateItemId(key, start) },
          UpdateExpression: "ADD hits :one SET #ttl = :ttl",
          ConditionExpression: "attribute_not_exists(hits) OR hits < :limit",
          ExpressionAttributeNames: { "#ttl": "ttl" },
          ExpressionAttributeValues: { ":one": 1, ":limit": limit, ":ttl": (start + 2 * WINDOW_MS) / 1000 },
        }),
      );
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return Math.max(1, Math.ceil((start + WINDOW_MS - now) / 1000));
      throw storageError("rate count", e);
    }
    this.lastWindow.delete(key); // re-inserted last: the map stays in hit order, oldest first
    this.lastWindow.set(key, start);
    if (this.lastWindow.size > 10_000) this.lastWindow.delete(this.lastWindow.keys().next().value as string);
    return 0;
  }

  async refund(key: string): Promise<void> {
    const start = this.lastWindow.get(key);
    if (start === undefined) return;
    this.lastWindow.delete(key);
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { sessionId: rateItemId(key, start) },
          UpdateExpression: "ADD hits :minus",
          ConditionExpression: "hits > :zero",
          ExpressionAttributeValues: { ":minus": -1, ":zero": 0 },
        }),
      );
    } catch (e) {
      // Nothing to give back (the item is gone with its window): the count is right already.
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
    }
  }
}
