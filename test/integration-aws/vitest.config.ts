// `npm run test:integration`: the store contracts against a deployed stack's real table and bucket.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/integration-aws/**/*.test.ts"],
    globalSetup: ["test/integration-aws/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
