// The shared store contracts against the AWS adapters, on dynalite and s3rver.

import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll } from "vitest";
import { dynamoDocumentClient, s3Client } from "../../src/adapters/aws/clients.js";
import { S3ObjectStore } from "../../src/adapters/aws/object-store.js";
import { DynamoSessionStore } from "../../src/adapters/aws/session-store.js";
import { objectStoreContract } from "../contract/object-store.contract.js";
import { sessionStoreContract } from "../contract/session-store.contract.js";
import {
  createBucket,
  createSessionsTable,
  type LoopbackAws,
  startLoopbackAws,
  TEST_CREDENTIALS,
  TEST_REGION,
} from "./servers.js";

let aws: LoopbackAws;
const TABLE = "image-edit-sessions";
const BUCKET = "generated-images-bucket";

beforeAll(async () => {
  aws = await startLoopbackAws();
  await createSessionsTable(aws.dynamoEndpoint, TABLE);
  await createBucket(aws.s3Endpoint, BUCKET);
});
afterAll(async () => {
  await aws?.close();
});

sessionStoreContract("DynamoDB (dynalite)", async () => {
  const settings = { endpoint: aws.dynamoEndpoint, region: TEST_REGION, credentials: TEST_CREDENTIALS };
  // A second writer with its own client and connection pool, as a second Lambda container would have.
  const secondClient = DynamoDBDocumentClient.from(new DynamoDBClient(settings), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return {
    store: new DynamoSessionStore({ client: dynamoDocumentClient(settings), table: TABLE }),
    second: new DynamoSessionStore({ client: secondClient, table: TABLE }),
    async cleanup() {
      secondClient.destroy();
    },
  };
});

objectStoreContract(
  "S3 (s3rver)",
  async () => ({
    store: new S3ObjectStore({
      client: s3Client({ endpoint: aws.s3Endpoint, region: TEST_REGION, credentials: TEST_CREDENTIALS }),
      bucket: BUCKET,
      partSize: 5 * 1024 * 1024,
    }),
    async cleanup() {},
  }),
  { verifiesSignatures: false },
);
