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
  if (reason) process.stderr.write(`\nnpm run test:integration: SKIPPED (nothing was tested) because ${reason}\n\n`);
  else if (typeof s !== "string") {
    process.stderr.write(`\nnpm run test:integration: table ${s.table}, bucket ${s.bucket}, region ${s.region}\n\n`);
  }
}
