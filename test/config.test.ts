import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.js";

describe("loadConfig: timeouts", () => {
  const timeouts = ["FETCH_TIMEOUT_MS", "FETCH_CONNECT_TIMEOUT_MS", "PROCESS_TIMEOUT_MS", "LLM_TIMEOUT_MS"] as const;

  it.each(timeouts)("%s accepts up to 2147483647 ms, the longest timer Node can wait", (name) => {
    expect(loadConfig({ [name]: "2147483647" })[name]).toBe(2_147_483_647);
  });

  // Node turns a longer setTimeout into 1 ms: every fetch (or job) would time out at once.
  it.each(timeouts)("%s refuses 2147483648 at start-up, naming the variable", (name) => {
    expect(() => loadConfig({ [name]: "2147483648" })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: "2147483648" })).toThrow(
      `${name}: must be at most 2147483647 ms (about 24.8 days), the longest timer Node can wait`,
    );
    expect(() => loadConfig({ [name]: "1e12" })).toThrow(ConfigError);
  });

  it.each(timeouts)("%s still refuses 0, negatives and fractions", (name) => {
    for (const bad of ["0", "-5", "1.5", "soon"]) expect(() => loadConfig({ [name]: bad }), bad).toThrow(ConfigError);
  });
});
