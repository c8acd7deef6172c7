// Decides once whether the run can talk to AWS, and says so plainly when it cannot.
import type { TestProject } from "vitest/node";
import { credentialProblem, settingsFromEnv } from "./settings.js";

declare module "vitest" {
  export interface ProvidedContext {
    awsSkipReason: string;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const s = settingsFromEnv(process.env);
  const reason = typeof s === "string" ? s : await credentialProblem(s.region);
  project.provide("awsSkipReason", reason ?? "");
  const api = process.env.IMGEDIT_AWS_API_URL && process.env.IMGEDIT_AWS_TOKEN;
  if (reason) {
    process.stderr.write(`\nnpm run test:integration: store contracts SKIPPED (not tested) because ${reason}\n`);
  } else if (typeof s !== "string") {
    process.stderr.write(`\nnpm run test:integration: table ${s.table}, bucket ${s.bucket}, region ${s.region}\n`);
  }
  process.stderr.write(
    api
      ? `npm run test:integration: deployed API check against ${process.env.IMGEDIT_AWS_API_URL}\n\n`
      : "npm run test:integration: deployed API check SKIPPED (not tested) because IMGEDIT_AWS_API_URL and IMGEDIT_AWS_TOKEN are not set\n\n",
  );
}
