// What the integration run needs, and why it skips when it does not have it.
import { S3Client } from "@aws-sdk/client-s3";

export interface IntegrationSettings {
  table: string;
  bucket: string;
  region: string;
}

export function settingsFromEnv(env: Record<string, string | undefined>): IntegrationSettings | string {
  const table = env.IMGEDIT_AWS_TABLE;
  const bucket = env.IMGEDIT_AWS_BUCKET;
  const missing = [!table && "IMGEDIT_AWS_TABLE", !bucket && "IMGEDIT_AWS_BUCKET"].filter(Boolean);
  if (missing.length > 0) {
    return `${missing.join(" and ")} not set. Deploy the stack (make deploy), then run e.g. AWS_PROFILE=dev IMGEDIT_AWS_TABLE=image-edit-sessions IMGEDIT_AWS_BUCKET=<BucketName output> npm run test:integration`;
  }
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1";
  return { table: table!, bucket: bucket!, region };
}

/** Undefined when credentials resolve (profile, env, SSO, instance role), else why not. */
export async function credentialProblem(region: string): Promise<string | undefined> {
  const client = new S3Client({ region });
  try {
    const creds = await client.config.credentials();
    return creds.accessKeyId ? undefined : "the AWS credential chain returned no access key";
  } catch (e) {
    return `no AWS credentials (${e instanceof Error ? e.message : String(e)}); set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY`;
  } finally {
    client.destroy();
  }
}
