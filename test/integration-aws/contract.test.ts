// The same store contracts as on dynalite/s3rver, against the deployed table and bucket.
// Everything a test writes is deleted afterwards (sessions by id, objects by key).

import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { describe, inject, it } from "vitest";
import { S3ObjectStore } from "../../src/adapters/aws/object-store.js";
import { DynamoSessionStore } from "../../src/adapters/aws/session-store.js";
import type { ObjectStore, SessionStore } from "../../src/ports.js";
import { objectStoreContract } from "../contract/object-store.contract.js";
import { sessionStoreContract } from "../contract/session-store.contract.js";
import { settingsFromEnv } from "./settings.js";

const reason = inject("awsSkipReason");

if (reason) {
  describe("AWS integration", () => {
    it.skip(`skipped: ${reason}`, () => {});
  });
} else {
  const s = settingsFromEnv(process.env);
  if (typeof s === "string") throw new Error(s);

  const docClient = () =>
    DynamoDBDocumentClient.from(new DynamoDBClient({ region: s.region }), {
      marshallOptions: { removeUndefinedValues: true },
    });

  /** Records every session created through it, for cleanup. */
  function tracked(store: SessionStore, created: Set<string>): SessionStore {
    return new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === "create") {
          return async (session: Parameters<SessionStore["create"]>[0]) => {
            created.add(session.sessionId);
            return target.create(session);
          };
        }
        const v = Reflect.get(target, prop, receiver);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
  }

  sessionStoreContract(`DynamoDB table ${s.table}`, async () => {
    const a = docClient();
    const b = docClient();
    const created = new Set<string>();
    const store = new DynamoSessionStore({ client: a, table: s.table });
    return {
      store: tracked(store, created),
      second: tracked(new DynamoSessionStore({ client: b, table: s.table }), created),
      async cleanup() {
        for (const id of created) await store.delete(id);
        a.destroy();
        b.destroy();
      },
    };
  });

  objectStoreContract(
    `S3 bucket ${s.bucket}`,
    async () => {
      const client = new S3Client({ region: s.region });
      const inner = new S3ObjectStore({ client, bucket: s.bucket, partSize: 5 * 1024 * 1024 });
      const prefixes = new Set<string>();
      const remember = (key: string) => prefixes.add(key.slice(0, key.indexOf("/") + 1));
      const store: ObjectStore = new Proxy(inner, {
        get(target, prop, receiver) {
          const v = Reflect.get(target, prop, receiver);
          if (typeof v !== "function") return v;
          return (...args: unknown[]) => {
            if (typeof args[0] === "string" && ["put", "putStream", "signedPutUrl"].includes(String(prop))) {
              remember(args[0]);
            }
            return v.apply(target, args);
          };
        },
      });
      return {
        store,
        async cleanup() {
          for (const p of prefixes) if (p) await inner.deletePrefix(p);
          client.destroy();
        },
      };
    },
    { verifiesSignatures: true },
  );
}
