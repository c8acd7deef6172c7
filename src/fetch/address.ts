// Classifies an IP address as safe to fetch from (public unicast) or not. Own CIDR code on
// byte arrays, so that IPv6 forms that embed an IPv4 address (mapped, compatible, NAT64, 6to4)
// are judged by the IPv4 address they reach.

export type Family = 4 | 6;

export type AddressVerdict =
  | { allowed: true; address: string; family: Family }
  | {
      allowed: false;
      address: string;
      family: Family;
      /** Short name of the range, e.g. "loopback", "private", "cloud metadata". */
      kind: string;
      /** The range in CIDR notation, e.g. "127.0.0.0/8". */
      range: string;
      /** Human phrase for messages, e.g. "a loopback address (127.0.0.0/8)". */
      description: string;
      /**
       * The same without any address of its own, for a host name's refusal: the address an
       * internal name resolves to is not the user's business (nor a map of the network).
       */
      general: string;
    };

interface Range {
  bytes: Uint8Array;
  bits: number;
  cidr: string;
  kind: string;
  /** Phrase with its article: "a private address". */
  phrase: string;
}

function range(cidr: string, kind: string, phrase: string): Range {
  const [addr, bits] = cidr.split("/");
  const bytes = parseIPv4(addr) ?? parseIPv6(addr);
  if (!bytes) throw new Error(`bad range ${cidr}`);
  return { bytes, bits: Number(bits), cidr, kind, phrase };
}

// First match wins: the specific entries (broadcast, metadata) come before their wider ranges.
const V4_BLOCKED: Range[] = [
  range("255.255.255.255/32", "broadcast", "the broadcast address"),
  range("169.254.169.254/32", "cloud metadata", "the cloud metadata address"),
  // Azure's WireServer (VM agent, health probes, DNS): a public-looking address only Azure VMs reach.
  range("168.63.129.16/32", "cloud metadata", "Azure's WireServer address"),
  range("0.0.0.0/8", "unspecified", 'an unspecified ("this network") address'),
  range("10.0.0.0/8", "private", "a private address"),
  range("100.64.0.0/10", "carrier-grade NAT", "a carrier-grade NAT address"),
  range("127.0.0.0/8", "loopback", "a loopback address"),
  range("169.254.0.0/16", "link-local", "a link-local address"),
  range("172.16.0.0/12", "private", "a private address"),
  range("192.0.0.0/24", "IETF protocol assignment", "an IETF protocol assignment address"),
  range("192.0.2.0/24", "documentation", "a documentation (TEST-NET-1) address"),
  range("192.88.99.0/24", "reserved", "a deprecated 6to4 relay address"),
  range("192.168.0.0/16", "private", "a private address"),
  range("198.18.0.0/15", "benchmarking", "a benchmarking address"),
  range("198.51.100.0/24", "documentation", "a documentation (TEST-NET-2) address"),
  range("203.0.113.0/24", "documentation", "a documentation (TEST-NET-3) address"),
  range("224.0.0.0/4", "multicast", "a multicast address"),
  range("240.0.0.0/4", "reserved", "a reserved address"),
];

const V6_BLOCKED: Range[] = [
  range("::/128", "unspecified", "the unspecified address"),
  range("::1/128", "loopback", "the loopback address"),
  range("100::/64", "discard", "a discard-only address"),
  range("64:ff9b:1::/48", "NAT64", "a local-use NAT64 address"),
  range("2001:db8::/32", "documentation", "a documentation address"),
  range("2001::/23", "IETF protocol assignment", "an IETF protocol assignment address (Teredo, benchmarking, ORCHID)"),
  range("3fff::/20", "documentation", "a documentation address"),
  range("fc00::/7", "unique-local", "a unique-local address"),
  range("fe80::/10", "link-local", "a link-local address"),
  range("fec0::/10", "site-local", "a deprecated site-local address"),
  range("ff00::/8", "multicast", "a multicast address"),
];

const GLOBAL_UNICAST = range("2000::/3", "global", "a global unicast address");

// IPv6 ranges whose low or middle bits carry an IPv4 address the packet really goes to.
const EMBEDDING: { range: Range; offset: number; name: string; allowPublic: boolean }[] = [
  { range: range("::ffff:0:0/96", "mapped", ""), offset: 12, name: "an IPv4-mapped IPv6 address", allowPublic: true },
  {
    range: range("::ffff:0:0:0/96", "translated", ""),
    offset: 12,
    name: "an IPv4-translated IPv6 address",
    allowPublic: true,
  },
  { range: range("64:ff9b::/96", "NAT64", ""), offset: 12, name: "a NAT64 address", allowPublic: true },
  { range: range("2002::/16", "6to4", ""), offset: 2, name: "a 6to4 address", allowPublic: true },
  // Deprecated IPv4-compatible form (::a.b.c.d): nothing legitimate uses it any more.
  { range: range("::/96", "compatible", ""), offset: 12, name: "an IPv4-compatible IPv6 address", allowPublic: false },
];

function inRange(bytes: Uint8Array, r: Range): boolean {
  if (bytes.length !== r.bytes.length) return false;
  let bits = r.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((bytes[i] & mask) !== (r.bytes[i] & mask)) return false;
  }
  return true;
}

/** Strict dotted-quad IPv4 (the canonical form DNS and the URL parser produce). */
export function parseIPv4(s: string): Uint8Array | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

/** IPv6 in any textual form (compressed, embedded dotted IPv4, optional brackets or zone id). */
export function parseIPv6(input: string): Uint8Array | undefined {
  let s = input;
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  if (!s.includes(":")) return undefined;
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    const items = part.split(":");
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (i === items.length - 1 && item.includes(".")) {
        const v4 = parseIPv4(item);
        if (!v4) return undefined;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(item)) return undefined;
        out.push(Number.parseInt(item, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return undefined;
  // A dotted IPv4 may only end the address.
  if (halves.length === 2 && halves[0].includes(".")) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

/** Parses an IPv4 or IPv6 literal; undefined for hostnames. */
export function parseIp(s: string): { bytes: Uint8Array; family: Family } | undefined {
  const v4 = parseIPv4(s);
  if (v4) return { bytes: v4, family: 4 };
  const v6 = parseIPv6(s);
  if (v6) return { bytes: v6, family: 6 };
  return undefined;
}

/** Whether two textual addresses are the same address (e.g. "::1" and "0:0::1"). */
export function sameAddress(a: string, b: string): boolean {
  const pa = parseIp(a);
  const pb = parseIp(b);
  if (!pa || !pb || pa.bytes.length !== pb.bytes.length) return false;
  return pa.bytes.every((v, i) => v === pb.bytes[i]);
}

type Refusal = Extract<AddressVerdict, { allowed: false }>;

function refuse(
  address: string,
  family: Family,
  kind: string,
  range: string,
  description: string,
  general = description,
): Refusal {
  return { allowed: false, address, family, kind, range, description, general };
}

/** Refused for lying in one of the listed ranges. */
function inBlockedRange(address: string, family: Family, r: Range): Refusal {
  return refuse(address, family, r.kind, r.cidr, `${r.phrase} (${r.cidr})`);
}

function formatV4(bytes: Uint8Array, offset = 0): string {
  return Array.from(bytes.subarray(offset, offset + 4)).join(".");
}

function classifyV4(address: string, bytes: Uint8Array): AddressVerdict {
  for (const r of V4_BLOCKED) {
    if (inRange(bytes, r)) {
      return inBlockedRange(address, 4, r);
    }
  }
  return { allowed: true, address, family: 4 };
}

function classifyV6(address: string, bytes: Uint8Array): AddressVerdict {
  // :: and ::1 sit inside ::/96; name them for what they are.
  for (const r of V6_BLOCKED.slice(0, 2)) {
    if (inRange(bytes, r)) {
      return inBlockedRange(address, 6, r);
    }
  }
  for (const e of EMBEDDING) {
    if (!inRange(bytes, e.range)) continue;
    const v4 = formatV4(bytes, e.offset);
    const inner = classifyV4(v4, bytes.subarray(e.offset, e.offset + 4));
    if (!inner.allowed) {
      return refuse(
        address,
        6,
        inner.kind,
        inner.range,
        `${e.name} (${e.range.cidr}) embedding ${v4}, ${inner.description}`,
        `${e.name} (${e.range.cidr}) embedding ${inner.general}`,
      );
    }
    if (e.allowPublic) return { allowed: true, address, family: 6 };
    return refuse(address, 6, "reserved", e.range.cidr, `${e.name} (${e.range.cidr}), a deprecated form`);
  }
  for (const r of V6_BLOCKED) {
    if (inRange(bytes, r)) {
      return inBlockedRange(address, 6, r);
    }
  }
  if (!inRange(bytes, GLOBAL_UNICAST)) {
    return refuse(address, 6, "reserved", "outside 2000::/3", "a reserved address (not global unicast 2000::/3)");
  }
  return { allowed: true, address, family: 6 };
}

/**
 * Judges an IP literal. Anything that does not parse as an address is refused too: callers pass
 * only what DNS or the URL parser produced, so garbage here means something is wrong.
 */
export function classifyAddress(address: string): AddressVerdict {
  const ip = parseIp(address);
  if (!ip) {
    return refuse(address, 4, "invalid", "-", "not a valid IP address");
  }
  return ip.family === 4 ? classifyV4(address, ip.bytes) : classifyV6(address, ip.bytes);
}
