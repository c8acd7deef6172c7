// URL checks that need no network: scheme, credentials, the host as the WHATWG parser
// normalised it (so 2130706433, 0177.0.0.1, 0x7f.1 and 127.1 all arrive as 127.0.0.1), and the
// allow list.
import { ImageEditError } from "../core/errors.js";
import { parseIp } from "./address.js";

/** Longest URL we accept; longer ones are almost surely an attack or a mistake. */
export const MAX_URL_LENGTH = 8192;

export interface TargetUrl {
  url: URL;
  /** Hostname without brackets or a trailing dot, lowercase (punycode for IDNs). */
  host: string;
  /** The port the connection goes to (the scheme's default when the URL has none). */
  port: number;
  /** Present when the host is an IP literal. */
  ip?: { address: string; family: 4 | 6 };
}

const DEFAULT_PORTS: Record<string, number> = { "http:": 80, "https:": 443 };

/** The host as a comparable string: no IPv6 brackets, no trailing root dot. */
const MAX_HOST_LENGTH = 253;

function bareHost(hostname: string): string {
  let h = hostname.toLowerCase();
  if (h.startsWith("[") && h.endsWith("]")) h = h.slice(1, -1);
  if (h.endsWith(".")) h = h.slice(0, -1);
  return h;
}

/** How refusals start: "refused: " for the URL given, "refused redirect 2 to <url>: " for a hop. */
export function refusedPrefix(hop: number, shown: string): string {
  return `refused${hop === 0 ? ":" : ""} ${hopPrefix(hop, shown)}`;
}

/** Names the hop in failure messages: "" for the URL given, "redirect 2 to <url>: " for a hop. */
export function hopPrefix(hop: number, shown: string): string {
  return hop === 0 ? "" : `redirect ${hop} to ${shown}: `;
}

/**
 * Parses and checks one URL: the one given (hop 0) or a redirect's resolved Location (hop >= 1).
 */
export function checkUrl(raw: string | URL, hop = 0): TargetUrl {
  const what = hop === 0 ? "URL" : `redirect ${hop}`;
  let url: URL;
  if (raw instanceof URL) {
    url = raw;
  } else {
    if (raw.length > MAX_URL_LENGTH) {
      throw new ImageEditError("INVALID_INPUT", `${what} is longer than ${MAX_URL_LENGTH} characters`);
    }
    try {
      url = new URL(raw);
    } catch {
      throw new ImageEditError(
        "INVALID_INPUT",
        `${what} is not a valid absolute URL: ${JSON.stringify(raw.slice(0, 200))}`,
      );
    }
  }
  const scheme = url.protocol.replace(/:$/, "");
  // Only http(s) URLs are echoed: a data: or javascript: URL can be long and is never useful.
  const shown = url.protocol in DEFAULT_PORTS ? redact(url) : `${scheme}:...`;
  const prefix = refusedPrefix(hop, shown);
  if (!(url.protocol in DEFAULT_PORTS)) {
    throw new ImageEditError("FETCH_BLOCKED", `${prefix}the scheme "${scheme}" is not allowed, only http and https`, {
      details: { reason: "scheme", scheme, hop },
    });
  }
  if (url.username !== "" || url.password !== "") {
    throw new ImageEditError("FETCH_BLOCKED", `${prefix}URLs with credentials (user:password@) are not allowed`, {
      details: { reason: "credentials", url: shown, hop },
    });
  }
  const host = bareHost(url.hostname);
  if (host === "") {
    throw new ImageEditError("INVALID_INPUT", `${what} has no host`);
  }
  // DNS names stop at 253 characters: a longer one could only fail later as "EINVAL" from getaddrinfo.
  if (host.length > MAX_HOST_LENGTH) {
    throw new ImageEditError(
      "INVALID_INPUT",
      `${what} has a host name of ${host.length} characters; DNS names are at most ${MAX_HOST_LENGTH}`,
    );
  }
  const port = url.port === "" ? DEFAULT_PORTS[url.protocol] : Number(url.port);
  if (port === 0) {
    throw new ImageEditError("FETCH_BLOCKED", `${prefix}port 0 is not allowed`, {
      details: { reason: "port", url: shown, hop },
    });
  }
  const parsed = parseIp(host);
  return { url, host, port, ip: parsed ? { address: host, family: parsed.family } : undefined };
}

/** The URL for messages and logs, without credentials or fragment. */
export function redact(url: URL): string {
  const copy = new URL(url.href);
  copy.username = "";
  copy.password = "";
  copy.hash = "";
  return copy.href;
}

interface AllowEntry {
  host: string;
  /** undefined: any port. */
  port?: number;
}

/** A compiled FETCH_ALLOW_HOSTS list. */
export interface AllowList {
  /** Whether this exact host (and port) is exempt from the private-address check. */
  allows(target: TargetUrl): boolean;
  readonly entries: readonly string[];
}

/** For an entry written as a URL (`http://images.internal:9000/`), what to write instead. */
function urlHint(entry: string): string {
  try {
    const u = new URL(entry);
    if ((u.protocol === "http:" || u.protocol === "https:") && u.host) return ` (write ${u.host}, not a URL)`;
  } catch {
    // not a URL either
  }
  return "";
}

/**
 * Compiles allow-list entries: `name`, `name:port`, an IPv4 literal (with optional `:port`), or an
 * IPv6 literal (`::1`, `[::1]`, `[::1]:8080`). Entries are normalised with the same URL parser as
 * the fetched URLs, so `0x7f.1` in the list means 127.0.0.1. Throws INVALID_INPUT for a bad entry.
 */
export function compileAllowList(entries: readonly string[]): AllowList {
  const compiled: AllowEntry[] = entries
    .map((e) => e.trim())
    .filter((e) => e !== "")
    .map((entry) => {
      let hostPart = entry;
      let portPart: string | undefined;
      const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
      const hostPort = /^([^:[\]]+):(\d+)$/.exec(entry);
      if (bracketed) {
        hostPart = `[${bracketed[1]}]`;
        portPart = bracketed[2];
      } else if (hostPort) {
        hostPart = hostPort[1];
        portPart = hostPort[2];
      } else if (entry.includes(":")) {
        hostPart = `[${entry}]`; // a bare IPv6 literal
      }
      let host: string;
      try {
        const u = new URL(`http://${hostPart}/`);
        if (u.username || u.password || u.pathname !== "/" || u.search || u.hash) throw new Error("extra parts");
        host = bareHost(u.hostname);
      } catch {
        throw new ImageEditError(
          "INVALID_INPUT",
          `allow-list entry ${JSON.stringify(entry)} is not a host or host:port${urlHint(entry)}`,
          {
            field: "FETCH_ALLOW_HOSTS",
          },
        );
      }
      const port = portPart === undefined ? undefined : Number(portPart);
      if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
        throw new ImageEditError(
          "INVALID_INPUT",
          `allow-list entry ${JSON.stringify(entry)} has a bad port (give 1-65535)`,
          { field: "FETCH_ALLOW_HOSTS" },
        );
      }
      return { host, port };
    });
  return {
    entries: [...entries],
    allows(target) {
      return compiled.some((e) => e.host === target.host && (e.port === undefined || e.port === target.port));
    },
  };
}
