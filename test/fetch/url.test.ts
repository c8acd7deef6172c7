import { describe, expect, it } from "vitest";
import { ImageEditError } from "../../src/core/errors.js";
import { checkUrl, compileAllowList } from "../../src/fetch/url.js";

describe("checkUrl", () => {
  it.each([
    ["http://2130706433/", "127.0.0.1"],
    ["http://0177.0.0.1/", "127.0.0.1"],
    ["http://0x7f.0.0.1/", "127.0.0.1"],
    ["http://0x7f.1/", "127.0.0.1"],
    ["http://127.1/", "127.0.0.1"],
    ["http://017700000001/", "127.0.0.1"],
    ["http://0xA9FEA9FE/", "169.254.169.254"],
    ["http://[::ffff:127.0.0.1]/", "::ffff:7f00:1"],
    ["http://[0:0:0:0:0:0:0:1]/", "::1"],
    ["http://LOCALHOST./", "localhost"],
    ["http://Bücher.Example/", "xn--bcher-kva.example"],
  ])("normalises %s to host %s before any check", (url, host) => {
    expect(checkUrl(url).host).toBe(host);
  });

  it("knows IP literals from names", () => {
    expect(checkUrl("http://10.0.0.1/").ip).toEqual({ address: "10.0.0.1", family: 4 });
    expect(checkUrl("http://[::1]/").ip).toEqual({ address: "::1", family: 6 });
    expect(checkUrl("http://example.com/").ip).toBeUndefined();
  });

  it("uses the scheme's default port", () => {
    expect(checkUrl("http://example.com/").port).toBe(80);
    expect(checkUrl("https://example.com/").port).toBe(443);
    expect(checkUrl("http://example.com:80/").port).toBe(80);
    expect(checkUrl("https://example.com:8443/").port).toBe(8443);
  });

  it("refuses port 0", () => {
    expect(() => checkUrl("http://example.com:0/")).toThrow(ImageEditError);
  });

  it("refuses a host name longer than DNS allows, saying so (getaddrinfo would only say EINVAL)", () => {
    const host = `${"a".repeat(60)}.`.repeat(5) + "example";
    expect(() => checkUrl(`http://${host}/x.png`)).toThrow(
      `has a host name of ${host.length} characters; DNS names are at most 253`,
    );
    expect(checkUrl(`http://${"a".repeat(60)}.example/`).host).toHaveLength(68);
  });

  it("names the hop in refusals", () => {
    expect(() => checkUrl("ftp://example.com/a", 3)).toThrow(
      'refused redirect 3 to ftp:...: the scheme "ftp" is not allowed, only http and https',
    );
  });
});

describe("compileAllowList", () => {
  const allows = (entries: string[], url: string) => compileAllowList(entries).allows(checkUrl(url));

  it("matches a name on any port, or host:port exactly", () => {
    expect(allows(["images.example"], "http://images.example/a.png")).toBe(true);
    expect(allows(["images.example"], "https://images.example:8443/a.png")).toBe(true);
    expect(allows(["images.example:8443"], "https://images.example:8443/a.png")).toBe(true);
    expect(allows(["images.example:8443"], "https://images.example/a.png")).toBe(false);
    expect(allows(["images.example:80"], "http://images.example/a.png")).toBe(true);
    expect(allows(["images.example:443"], "http://images.example/a.png")).toBe(false);
  });

  it("never widens to other names: subdomains, parents, lookalikes", () => {
    for (const url of [
      "http://cdn.images.example/",
      "http://example/",
      "http://images.example.evil.test/",
      "http://imagesXexample/",
      "http://127.0.0.1/",
    ]) {
      expect(allows(["images.example"], url), url).toBe(false);
    }
  });

  it("accepts IP literals in any spelling the URL parser accepts", () => {
    expect(allows(["127.0.0.1"], "http://127.1:8080/")).toBe(true);
    expect(allows(["0x7f.1:8080"], "http://127.0.0.1:8080/")).toBe(true);
    expect(allows(["::1"], "http://[::1]:9000/")).toBe(true);
    expect(allows(["[::1]:9000"], "http://[::1]:9000/")).toBe(true);
    expect(allows(["[::1]:9000"], "http://[::1]:9001/")).toBe(false);
    expect(allows(["127.0.0.1"], "http://[::ffff:127.0.0.1]/")).toBe(false);
  });

  it("ignores case, blanks and a trailing root dot", () => {
    expect(allows([" Images.Example ", ""], "http://IMAGES.example./")).toBe(true);
  });

  it.each(["http://x.example/", "x.example/path", "user@x.example", "x.example:99999", "x.example:port", "a b"])(
    "rejects the entry %j",
    (entry) => {
      expect(() => compileAllowList([entry])).toThrow(/allow-list entry/);
    },
  );
});
