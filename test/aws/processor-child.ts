// Runs the processor handler in a process of its own, as one Lambda container would: one job
// after another (a warm container takes the next event), then prints the outcomes and the
// process's peak resident memory as one JSON line. The parent gives the events as argv[2] (a JSON
// array) and the function's settings as environment variables.

import { EmfMetrics } from "../../src/adapters/aws/emf-metrics.js";
import { loadConfig } from "../../src/config.js";
import { buildLambdaDeps } from "../../src/lambda/deps.js";
import { makeProcessorHandler } from "../../src/lambda/processor.js";
import { silentLogger } from "../../src/logger.js";
import { TEST_CREDENTIALS } from "./servers.js";

const deps = buildLambdaDeps(loadConfig(process.env), {
  functionLabel: "processor",
  credentials: TEST_CREDENTIALS,
  logger: silentLogger(),
  metrics: new EmfMetrics({ write: () => {} }),
});
const handler = makeProcessorHandler(() => deps);
const outs: unknown[] = [];
for (const event of JSON.parse(process.argv[2]) as unknown[])
  outs.push(await handler(event, { getRemainingTimeInMillis: () => 300_000 }));
process.stdout.write(`${JSON.stringify({ outs, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
process.exit(0);
