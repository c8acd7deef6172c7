import { describe, expect, it } from "vitest";
import { ConfigError, ConfigSchema, loadConfig } from "../src/config.js";

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

describe("loadConfig: empty values", () => {
  const defaults = loadConfig({});

  // docker-compose `PORT=`, an .env template with blank lines: the default, never port 0 (random).
  it("PORT= (empty) or PORT=' ' listens on the default 8080, not on a random port", () => {
    expect(loadConfig({ PORT: "" }).PORT).toBe(8080);
    expect(loadConfig({ PORT: "  " }).PORT).toBe(8080);
    expect(loadConfig({ PORT: "0" }).PORT).toBe(0); // 0 still asks for a free port
  });

  it("every setting: an empty or blank value is the same as leaving it unset", () => {
    for (const name of Object.keys(ConfigSchema.shape)) {
      expect(loadConfig({ [name]: "" }), name).toEqual(defaults);
      expect(loadConfig({ [name]: " \t" }), name).toEqual(defaults);
    }
  });

  it("surrounding spaces are ignored", () => {
    const c = loadConfig({
      PORT: " 9000 ",
      LOG_LEVEL: "debug ",
      HOST: " 0.0.0.0",
      JWKS_URL: " https://idp.example/jwks ",
    });
    expect([c.PORT, c.LOG_LEVEL, c.HOST, c.JWKS_URL]).toEqual([9000, "debug", "0.0.0.0", "https://idp.example/jwks"]);
  });
});

describe("loadConfig: URLs", () => {
  const urls = [
    "JWKS_URL",
    "PUBLIC_URL",
    "LLM_BASE_URL",
    "S3_ENDPOINT",
    "DYNAMODB_ENDPOINT",
    "LAMBDA_ENDPOINT",
  ] as const;

  it.each(urls)("%s refuses a value that is not a URL, naming the variable and the value", (name) => {
    expect(() => loadConfig({ [name]: "notaurl" })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: "notaurl" })).toThrow(
      `invalid configuration: ${name}: "notaurl" is not a URL (give an http:// or https:// URL)`,
    );
  });

  it.each(urls)("%s takes only http:// and https://", (name) => {
    expect(() => loadConfig({ [name]: "ftp://files.example/" })).toThrow(
      `${name}: "ftp://files.example/" is not an http:// or https:// URL`,
    );
    expect(() => loadConfig({ [name]: "localhost:9000" })).toThrow(ConfigError);
    expect(loadConfig({ [name]: "http://127.0.0.1:9000/x" })[name]).toBe("http://127.0.0.1:9000/x");
    expect(loadConfig({ [name]: "https://example.com" })[name]).toBe("https://example.com");
  });

  it("PUBLIC_URL and LLM_BASE_URL are bases (paths are added): no query or fragment", () => {
    for (const name of ["PUBLIC_URL", "LLM_BASE_URL"]) {
      expect(() => loadConfig({ [name]: "https://x.example/v1?key=1" }), name).toThrow(/has a query or fragment/);
      expect(() => loadConfig({ [name]: "https://x.example/#top" }), name).toThrow(/has a query or fragment/);
    }
    expect(loadConfig({ PUBLIC_URL: "https://imgedit.example/app/" }).PUBLIC_URL).toBe("https://imgedit.example/app/");
  });
});

describe("loadConfig: FETCH_ALLOW_HOSTS", () => {
  it("refuses a malformed entry at start-up, naming the variable and the entry", () => {
    expect(() => loadConfig({ FETCH_ALLOW_HOSTS: "http://foo/" })).toThrow(ConfigError);
    expect(() => loadConfig({ FETCH_ALLOW_HOSTS: "http://foo/" })).toThrow(
      'invalid configuration: FETCH_ALLOW_HOSTS: allow-list entry "http://foo/" is not a host or host:port (write foo, not a URL)',
    );
    expect(() => loadConfig({ FETCH_ALLOW_HOSTS: "ok.example, host:99999" })).toThrow(
      'invalid configuration: FETCH_ALLOW_HOSTS: allow-list entry "host:99999" has a bad port (give 1-65535)',
    );
  });

  it("accepts what the fetcher accepts, lower-cased, blanks dropped", () => {
    expect(
      loadConfig({ FETCH_ALLOW_HOSTS: "Images.Internal, ,10.0.0.7:9000,[::1]:8080,::1" }).FETCH_ALLOW_HOSTS,
    ).toEqual(["images.internal", "10.0.0.7:9000", "[::1]:8080", "::1"]);
  });
});

describe("loadConfig: the error", () => {
  it("is one line; several problems are joined with '; '", () => {
    let error: unknown;
    try {
      loadConfig({ PORT: "abc", JWKS_URL: "notaurl", FETCH_ALLOW_HOSTS: "a:0", LOG_LEVEL: "loud" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { message, problems } = error as ConfigError;
    expect(message).not.toContain("\n");
    expect(problems).toHaveLength(4);
    expect(message).toBe(`invalid configuration: ${problems.join("; ")}`);
    expect(problems[0]).toBe("PORT: must be a whole number from 0 to 65535");
    expect(message).toContain("LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent");
  });

  it("a size in bytes written with a unit says it is bytes, with an example", () => {
    expect(() => loadConfig({ MAX_IMAGE_SIZE: "25MB" })).toThrow(
      "MAX_IMAGE_SIZE: must be a whole number of bytes from 1 up, e.g. 26214400 for 25 MB",
    );
  });

  it("a value with a line break is quoted on the same line", () => {
    expect(() => loadConfig({ JWKS_URL: "https://a\nb" })).toThrow(/^[^\n]*JWKS_URL: "https:\/\/a\\nb" is not a URL/);
  });
});
