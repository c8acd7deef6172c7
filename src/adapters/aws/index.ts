// The AWS adapters, composed from the configuration.
import type { Config } from "../../config.js";
import { ImageEditError } from "../../core/errors.js";
import type { JobRunner, Metrics, ObjectStore, RateCounter, SessionStore } from "../../ports.js";
import { type AwsClientSettings, awsSettings, dynamoDocumentClient, lambdaClient, s3Client } from "./clients.js";
import { EmfMetrics } from "./emf-metrics.js";
import { LambdaJobRunner } from "./job-runner.js";
import { S3ObjectStore } from "./object-store.js";
import { DynamoRateCounter } from "./rate-counter.js";
import { DynamoSessionStore } from "./session-store.js";

export { type AwsClientSettings, awsSettings, dynamoDocumentClient, lambdaClient, s3Client } from "./clients.js";
export { EmfMetrics, unitFor } from "./emf-metrics.js";
export { type JobEvent, LambdaJobRunner } from "./job-runner.js";
export { S3ObjectStore } from "./object-store.js";
export { DynamoRateCounter, rateItemId } from "./rate-counter.js";
export { DynamoSessionStore, RATE_PREFIX, USER_INDEX } from "./session-store.js";

export interface AwsAdapters {
  sessions: SessionStore;
  objects: ObjectStore;
  /** Absent when no processor function is configured (the processor itself needs none). */
  jobs?: JobRunner;
  metrics: Metrics;
  /** Per-user request counts shared by every container (the API's rate limits). */
  rates: RateCounter;
}

export function createAwsAdapters(
  config: Config,
  opts: { functionLabel?: string; credentials?: AwsClientSettings["credentials"] } = {},
): AwsAdapters {
  if (!config.table || !config.bucket) {
    throw new ImageEditError(
      "INTERNAL",
      "AWS mode needs DYNAMODB_TABLE (or IMAGE_EDIT_SESSIONS_TABLE) and S3_BUCKET (or GENERATED_IMAGES_BUCKET)",
    );
  }
  const s = awsSettings(config);
  const withCreds = (x: AwsClientSettings) => (opts.credentials ? { ...x, credentials: opts.credentials } : x);
  const dynamo = dynamoDocumentClient(withCreds(s.dynamodb));
  return {
    sessions: new DynamoSessionStore({ client: dynamo, table: config.table }),
    rates: new DynamoRateCounter({ client: dynamo, table: config.table }),
    objects: new S3ObjectStore({ client: s3Client(withCreds(s.s3)), bucket: config.bucket }),
    jobs: config.IMAGE_PROCESSOR_FUNCTION_ARN
      ? new LambdaJobRunner({
          client: lambdaClient(withCreds(s.lambda)),
          functionName: config.IMAGE_PROCESSOR_FUNCTION_ARN,
        })
      : undefined,
    metrics: new EmfMetrics({
      dimensions: { service: "imgedit", function: opts.functionLabel ?? "api" },
    }),
  };
}
