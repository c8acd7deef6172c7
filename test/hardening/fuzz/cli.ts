// `npm run fuzz`: a long fuzz run. FUZZ_COUNT (default 3000), FUZZ_SEED (default random, printed),
// FUZZ_WORKERS (default 2), FUZZ_TIMEOUT_MS (per-image processTimeoutMs, default 4000).
// Exits 1 when any input crashed, hung, threw an untyped error or produced a bad output, or when the
// child's RSS went over 1 GiB.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FAILURE_DIR, formatSummary, runFuzz } from "./harness.js";
import { randomSeed } from "./prng.js";

const env = (name: string, fallback: number) => {
  const v = process.env[name];
  return v === undefined || v === "" ? fallback : Number(v);
};

const seed = env("FUZZ_SEED", randomSeed());
const count = env("FUZZ_COUNT", 3000);
console.log(`fuzz: seed ${seed}, ${count} inputs`);
let last = 0;
const summary = await runFuzz({
  seed,
  count,
  workers: env("FUZZ_WORKERS", 2),
  processTimeoutMs: env("FUZZ_TIMEOUT_MS", 4000),
  onProgress: (done, total) => {
    if (done - last >= 250 || done === total) {
      last = done;
      console.log(`  ${done}/${total}`);
    }
  },
});
console.log(formatSummary(summary));
mkdirSync(FAILURE_DIR, { recursive: true });
writeFileSync(join(FAILURE_DIR, "last-run.json"), JSON.stringify(summary, null, 2));
console.log(`summary written to ${join(FAILURE_DIR, "last-run.json")}`);
// The same generous resource bound as the test: a blow-up, not a timing.
const memoryBlownUp = summary.rssMax > 1024 * 1024 * 1024;
if (memoryBlownUp) console.log("FAIL: the child's RSS went over 1 GiB");
process.exitCode = summary.failures.length > 0 || summary.seedFailures.length > 0 || memoryBlownUp ? 1 : 0;
