import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { classifyAddress, parseIPv4, parseIPv6, sameAddress } from "../../src/fetch/address.js";

// [address, expected kind] — undefined kind means allowed.
const TABLE: [string, string | undefined][] = [
  // IPv4 public
  ["8.8.8.8", undefined],
  ["1.1.1.1", undefined],
  ["93.184.216.34", undefined],
  ["9.255.255.255", undefined],
  ["11.0.0.0", undefined],
  ["100.63.255.255", undefined],
  ["100.128.0.0", undefined],
  ["126.255.255.255", undefined],
  ["128.0.0.0", undefined],
  ["169.253.255.255", undefined],
  ["169.255.0.0", undefined],
  ["172.15.255.255", undefined],
  ["172.32.0.0", undefined],
  ["192.0.1.0", undefined],
  ["192.0.3.0", undefined],
  ["192.167.255.255", undefined],
  ["192.169.0.0", undefined],
  ["198.17.255.255", undefined],
  ["198.20.0.0", undefined],
  ["223.255.255.255", undefined],
  // IPv4 blocked
  ["0.0.0.0", "unspecified"],
  ["0.1.2.3", "unspecified"],
  ["10.0.0.1", "private"],
  ["10.255.255.255", "private"],
  ["100.64.0.1", "carrier-grade NAT"],
  ["100.100.100.200", "carrier-grade NAT"], // Alibaba Cloud metadata
  ["100.127.255.255", "carrier-grade NAT"],
  ["127.0.0.1", "loopback"],
  ["127.255.255.254", "loopback"],
  ["169.254.0.1", "link-local"],
  ["169.254.169.254", "cloud metadata"],
  ["168.63.129.16", "cloud metadata"],
  ["169.254.170.2", "link-local"], // ECS task metadata
  ["172.16.0.1", "private"],
  ["172.31.255.255", "private"],
  ["192.0.0.1", "IETF protocol assignment"],
  ["192.0.0.192", "IETF protocol assignment"], // Oracle Cloud metadata
  ["192.0.2.1", "documentation"],
  ["192.88.99.1", "reserved"],
  ["192.168.0.1", "private"],
  ["192.168.1.1", "private"],
  ["198.18.0.1", "benchmarking"],
  ["198.19.255.255", "benchmarking"],
  ["198.51.100.7", "documentation"],
  ["203.0.113.9", "documentation"],
  ["224.0.0.1", "multicast"],
  ["239.255.255.250", "multicast"],
  ["240.0.0.1", "reserved"],
  ["255.255.255.254", "reserved"],
  ["255.255.255.255", "broadcast"],
  // IPv6 public
  ["2606:4700:4700::1111", undefined],
  ["2001:4860:4860::8888", undefined],
  ["2a00:1450:4001:80b::200e", undefined],
  ["::ffff:8.8.8.8", undefined], // mapped public IPv4
  ["64:ff9b::808:808", undefined], // NAT64 of 8.8.8.8
  ["2002:808:808::1", undefined], // 6to4 of 8.8.8.8
  // IPv6 blocked
  ["::", "unspecified"],
  ["::1", "loopback"],
  ["0:0:0:0:0:0:0:1", "loopback"],
  ["::ffff:127.0.0.1", "loopback"],
  ["::ffff:7f00:1", "loopback"],
  ["::ffff:0.0.0.0", "unspecified"],
  ["::ffff:10.1.2.3", "private"],
  ["::ffff:169.254.169.254", "cloud metadata"],
  ["::ffff:a9fe:a9fe", "cloud metadata"],
  ["::ffff:192.168.1.1", "private"],
  ["::ffff:0:7f00:1", "loopback"], // IPv4-translated (SIIT)
  ["::127.0.0.1", "loopback"], // IPv4-compatible
  ["::7f00:1", "loopback"],
  ["::8.8.8.8", "reserved"], // IPv4-compatible is deprecated even for public addresses
  ["64:ff9b::7f00:1", "loopback"],
  ["64:ff9b::10.0.0.1", "private"],
  ["64:ff9b::a9fe:a9fe", "cloud metadata"],
  ["64:ff9b:1::1", "NAT64"],
  ["2002:7f00:1::", "loopback"],
  ["2002:c0a8:101::1", "private"],
  ["2002:a9fe:a9fe::", "cloud metadata"],
  ["2001::1", "IETF protocol assignment"], // Teredo
  ["2001:2::1", "IETF protocol assignment"], // benchmarking
  ["2001:db8::1", "documentation"],
  ["3fff::1", "documentation"],
  ["100::1", "discard"],
  ["fc00::1", "unique-local"],
  ["fd00::2", "unique-local"],
  ["fd00:ec2::254", "unique-local"], // AWS IMDS over IPv6
  ["fe80::1", "link-local"],
  ["febf:ffff::1", "link-local"],
  ["fec0::1", "site-local"],
  ["ff02::1", "multicast"],
  ["ff05::2", "multicast"],
  ["4000::1", "reserved"],
  ["1::1", "reserved"],
  ["[::1]", "loopback"],
  ["fe80::1%eth0", "link-local"],
  // not addresses at all
  ["localhost", "invalid"],
  ["127.1", "invalid"],
  ["0177.0.0.1", "invalid"],
  ["1.2.3.256", "invalid"],
  ["", "invalid"],
];

describe("classifyAddress", () => {
  it.each(TABLE)("%s -> %s", (address, kind) => {
    const verdict = classifyAddress(address);
    if (kind === undefined) {
      expect(verdict).toMatchObject({ allowed: true });
    } else {
      expect(verdict.allowed).toBe(false);
      if (!verdict.allowed) {
        expect(verdict.kind).toBe(kind);
        expect(verdict.description.length).toBeGreaterThan(5);
      }
    }
  });

  it("names the embedded address of mapped forms", () => {
    const v = classifyAddress("::ffff:7f00:1");
    expect(v.allowed).toBe(false);
    if (!v.allowed) expect(v.description).toMatch(/IPv4-mapped.*127\.0\.0\.1.*loopback/);
    const m = classifyAddress("169.254.169.254");
    if (!m.allowed) expect(m.description).toMatch(/cloud metadata/);
  });

  it("reports the family", () => {
    expect(classifyAddress("8.8.8.8")).toMatchObject({ family: 4 });
    expect(classifyAddress("2606:4700:4700::1111")).toMatchObject({ family: 6 });
    expect(classifyAddress("::1")).toMatchObject({ family: 6 });
  });
});

describe("address parsing", () => {
  it("parses IPv4 strictly", () => {
    expect(Array.from(parseIPv4("192.168.1.2")!)).toEqual([192, 168, 1, 2]);
    for (const bad of ["1.2.3", "01.2.3.4", "1.2.3.4.5", "a.b.c.d", "1.2.3.-1", " 1.2.3.4"]) {
      expect(parseIPv4(bad), bad).toBeUndefined();
    }
  });

  it("parses IPv6 forms", () => {
    const hex = (s: string) => Buffer.from(parseIPv6(s)!).toString("hex");
    expect(hex("::1")).toBe("00000000000000000000000000000001");
    expect(hex("1::")).toBe("00010000000000000000000000000000");
    expect(hex("1:2:3:4:5:6:7:8")).toBe("00010002000300040005000600070008");
    expect(hex("::ffff:1.2.3.4")).toBe("00000000000000000000ffff01020304");
    expect(hex("1:2:3:4:5:6:1.2.3.4")).toBe("00010002000300040005000601020304");
    for (const bad of [
      ":::",
      "1:2:3:4:5:6:7:8:9",
      "1::2::3",
      ":1",
      "1:",
      "12345::",
      "1.2.3.4::",
      "::g",
      "1:2:3:4:5:6:7:8::",
    ]) {
      expect(parseIPv6(bad), bad).toBeUndefined();
    }
  });

  it("compares addresses by value", () => {
    expect(sameAddress("::1", "0:0:0:0:0:0:0:1")).toBe(true);
    expect(sameAddress("127.0.0.1", "127.0.0.1")).toBe(true);
    expect(sameAddress("127.0.0.1", "::ffff:127.0.0.1")).toBe(false);
    expect(sameAddress("10.0.0.1", "10.0.0.2")).toBe(false);
  });
});

describe("embedded IPv4 forms agree with IPv4 (property)", () => {
  const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
  const dotted = (t: number[]) => t.join(".");
  const hex16 = (a: number, b: number) => ((a << 8) | b).toString(16);

  it("::ffff:a.b.c.d, its hex form, NAT64 and 6to4 are blocked exactly when a.b.c.d is", () => {
    fc.assert(
      fc.property(v4, (t) => {
        const plain = classifyAddress(dotted(t)).allowed;
        const forms = [
          `::ffff:${dotted(t)}`,
          `::ffff:${hex16(t[0], t[1])}:${hex16(t[2], t[3])}`,
          `64:ff9b::${dotted(t)}`,
          `2002:${hex16(t[0], t[1])}:${hex16(t[2], t[3])}::1`,
        ];
        for (const f of forms) expect(classifyAddress(f).allowed, f).toBe(plain);
      }),
      { numRuns: 2000 },
    );
  });

  it("decimal, hex and octal URL hosts normalise to the dotted form the classifier judges", () => {
    fc.assert(
      fc.property(fc.nat(0xffffffff), (n) => {
        const t = [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
        for (const host of [String(n), `0x${n.toString(16)}`, `0${n.toString(8)}`]) {
          const hostname = new URL(`http://${host}/`).hostname;
          expect(hostname).toBe(dotted(t));
          expect(classifyAddress(hostname).allowed).toBe(classifyAddress(dotted(t)).allowed);
        }
      }),
      { numRuns: 500 },
    );
  });
});
