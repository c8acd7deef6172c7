// Real servers that speak the AWS wire protocols, on loopback ports chosen by the OS:
// dynalite (DynamoDB) and s3rver (S3, path-style). No SDK mocks anywhere.
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import dynalite from "dynalite";
import S3rver from "s3rver";

// s3rver's built-in account; dynalite accepts any credentials.
export const TEST_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
export const TEST_REGION = "us-east-1";

export interface LoopbackAws {
  dynamoEndpoint: string;
  s3Endpoint: string;
  /** A function's settings that reach these servers (and the table and bucket, when made). */
  env: Record<string, string>;
  close(): Promise<void>;
}

/** With `make`, the sessions table and the bucket are created too. */
export async function startLoopbackAws(make?: { table: string; bucket: string }): Promise<LoopbackAws> {
  const dyn = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => dyn.listen(0, "127.0.0.1", () => resolve()));
  const dynPort = (dyn.address() as AddressInfo).port;

  const dir = await mkdtemp(path.join(os.tmpdir(), "imgedit-s3rver-"));
  const s3 = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: dir });
  const addr = (await s3.run()) as AddressInfo;

  const dynamoEndpoint = `http://127.0.0.1:${dynPort}`;
  const s3Endpoint = `http://127.0.0.1:${addr.port}`;
  if (make) {
    await createSessionsTable(dynamoEndpoint, make.table);
    await createBucket(s3Endpoint, make.bucket);
  }
  return {
    dynamoEndpoint,
    s3Endpoint,
    env: {
      ...(make && { S3_BUCKET: make.bucket, DYNAMODB_TABLE: make.table }),
      S3_ENDPOINT: s3Endpoint,
      DYNAMODB_ENDPOINT: dynamoEndpoint,
      AWS_REGION: TEST_REGION,
    },
    async close() {
      await s3.close();
      await new Promise<void>((resolve) => dyn.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The table exactly as the stack defines it (dynalite has no UpdateTimeToLive: TTL is filtered on read). */
export async function createSessionsTable(endpoint: string, table: string): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: TEST_REGION, credentials: TEST_CREDENTIALS });
  await client.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [
        { AttributeName: "sessionId", AttributeType: "S" },
        { AttributeName: "userId", AttributeType: "S" },
        { AttributeName: "createdAt", AttributeType: "N" },
      ],
      KeySchema: [{ AttributeName: "sessionId", KeyType: "HASH" }],
      GlobalSecondaryIndexes: [
        {
          IndexName: "userId-createdAt-index",
          KeySchema: [
            { AttributeName: "userId", KeyType: "HASH" },
            { AttributeName: "createdAt", KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "ALL" },
        },
      ],
    }),
  );
  client.destroy();
}

export async function createBucket(endpoint: string, bucket: string): Promise<void> {
  const client = new S3Client({ endpoint, region: TEST_REGION, credentials: TEST_CREDENTIALS, forcePathStyle: true });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  client.destroy();
}
