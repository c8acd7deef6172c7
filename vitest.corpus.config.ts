// The corpus run: real-world files from IMGEDIT_CORPUS_DIR (default ../shared/fixtures).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/corpus/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
