// Resolves a target's host once, vets every address, and returns the one address the connection
// will be pinned to. The check and the connect use the same answer: no DNS rebinding window.
import dns from "node:dns";
import { ImageEditError } from "../core/errors.js";
import { classifyAddress, type Family } from "./address.js";
import { type AllowList, hopPrefix, redact, refusedPrefix, type TargetUrl } from "./url.js";

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Hostname -> addresses. The default asks the system resolver (getaddrinfo) for all of them. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

export interface PinnedAddress {
  address: string;
  family: Family;
  /** True when the host is on the allow list and the address check was skipped. */
  exempt: boolean;
}

const RETRYABLE_DNS = new Set(["EAI_AGAIN", "ETIMEOUT", "ESERVFAIL", "ECONNREFUSED"]);

function dnsError(err: unknown, host: string, hop: number, shown: string): ImageEditError {
  const code = (err as NodeJS.ErrnoException)?.code ?? "";
  const retryable = RETRYABLE_DNS.has(code);
  const why =
    code === "ENOTFOUND" || code === "ENODATA" ? "no such host" : `DNS lookup failed (${code || String(err)})`;
  return new ImageEditError("FETCH_FAILED", `${hopPrefix(hop, shown)}could not resolve ${host}: ${why}`, {
    retryable,
    details: { reason: "dns", host, code },
    cause: err,
  });
}

/** Runs `work` but gives up as soon as `signal` aborts (DNS lookups cannot be cancelled). */
function abortable<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

export async function resolveTarget(
  target: TargetUrl,
  opts: { hop: number; allowList: AllowList; resolve: Resolver; signal?: AbortSignal },
): Promise<PinnedAddress> {
  const shown = redact(target.url);
  const prefix = refusedPrefix(opts.hop, shown);
  const exempt = opts.allowList.allows(target);

  let addresses: ResolvedAddress[];
  if (target.ip) {
    addresses = [target.ip];
  } else {
    try {
      addresses = await abortable(opts.resolve(target.host), opts.signal);
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      throw dnsError(err, target.host, opts.hop, shown);
    }
    if (addresses.length === 0) {
      throw dnsError(Object.assign(new Error("no addresses"), { code: "ENODATA" }), target.host, opts.hop, shown);
    }
  }

  // Every address is checked, not just the one we will use: a name that resolves to a public and
  // a private address is refused outright.
  const verdicts = addresses.map((a) => classifyAddress(a.address));
  if (!exempt) {
    for (const v of verdicts) {
      if (v.allowed) continue;
      // A literal is the user's own words; a name's address is ours (internal DNS): not told.
      const why = target.ip ? `${v.address} is ${v.description}` : `${target.host} resolves to ${v.general}`;
      throw new ImageEditError("FETCH_BLOCKED", `${prefix}${why}`, {
        details: {
          reason: "address",
          host: target.host,
          address: v.address,
          kind: v.kind,
          range: v.range,
          hop: opts.hop,
          url: shown,
        },
      });
    }
  }
  const first = verdicts[0];
  if (!first.allowed && first.kind === "invalid") {
    throw new ImageEditError(
      "FETCH_FAILED",
      `${hopPrefix(opts.hop, shown)}${target.host} resolved to an invalid address`,
    );
  }
  return { address: first.address, family: first.family, exempt };
}
