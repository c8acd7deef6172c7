import { defineConfig } from "vitest/config";

// Browser tests: the real service on loopback driven by Debian's Chromium (playwright-core).
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    globalSetup: ["test/e2e/global-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    // One browser at a time: the machine is small and the steps of a test build on each other.
    fileParallelism: false,
  },
});
