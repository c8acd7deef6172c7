// AWS SDK clients, created once per container (module-level, lazy) and reused across
// invocations: a Lambda container keeps its sockets and credentials warm. Keyed by
// region + endpoint so tests against loopback servers get their own clients.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { S3Client } from "@aws-sdk/client-s3";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Config } from "../../config.js";

export interface AwsClientSettings {
  region?: string;
  /** Loopback stand-ins (dynalite, s3rver, a local Invoke endpoint) or LocalStack. */
  endpoint?: string;
  /** Static credentials, for stand-ins that need none real; else the default provider chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

const cache = new Map<string, unknown>();

function once<T>(kind: string, s: AwsClientSettings, make: () => T): T {
  const key = `${kind}|${s.region ?? ""}|${s.endpoint ?? ""}|${s.credentials?.accessKeyId ?? ""}`;
  let client = cache.get(key) as T | undefined;
  if (!client) {
    client = make();
    cache.set(key, client);
  }
  return client;
}

function base(s: AwsClientSettings) {
  return {
    region: s.region ?? "us-east-1",
    ...(s.endpoint ? { endpoint: s.endpoint } : {}),
    ...(s.credentials ? { credentials: s.credentials } : {}),
  };
}

export function dynamoDocumentClient(s: AwsClientSettings): DynamoDBDocumentClient {
  return once("dynamodb", s, () =>
    DynamoDBDocumentClient.from(new DynamoDBClient(base(s)), {
      // Optional fields of a session are absent, not NULL; plain objects become maps.
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    }),
  );
}

export function s3Client(s: AwsClientSettings): S3Client {
  // Path-style only for custom endpoints (s3rver, MinIO, LocalStack): they have no per-bucket DNS.
  return once("s3", s, () => new S3Client({ ...base(s), forcePathStyle: Boolean(s.endpoint) }));
}

export function lambdaClient(s: AwsClientSettings): LambdaClient {
  return once("lambda", s, () => new LambdaClient(base(s)));
}

/** Client settings for each service from the configuration. */
export function awsSettings(config: Config): {
  dynamodb: AwsClientSettings;
  s3: AwsClientSettings;
  lambda: AwsClientSettings;
} {
  const region = config.AWS_REGION;
  return {
    dynamodb: { region, endpoint: config.DYNAMODB_ENDPOINT },
    s3: { region, endpoint: config.S3_ENDPOINT },
    lambda: { region, endpoint: config.LAMBDA_ENDPOINT },
  };
}
