// Safe fetching of user-supplied image URLs: http(s) only, every resolved address vetted on every
// hop and pinned for the connection, redirects bounded, connect and total timeouts, byte cap while
// streaming. Every failure is an ImageEditError that says what was refused or what went wrong.
import type { Config } from "../config.js";
import { ImageEditError } from "../core/errors.js";
import { hostText } from "../core/remote-text.js";
import { parseLength, readCapped } from "./cap.js";
import { networkError, openHop } from "./request.js";
import { type Resolver, resolveTarget, systemResolver } from "./resolve.js";
import { type ImageType, requireImageType } from "./sniff.js";
import { checkUrl, compileAllowList, redact, refusedPrefix, type TargetUrl } from "./url.js";

export { type AddressVerdict, classifyAddress } from "./address.js";
export { type CapOptions, capStream, readCapped } from "./cap.js";
export type { ResolvedAddress, Resolver } from "./resolve.js";
export { type ImageType, sniffImageType } from "./sniff.js";
export { readUpload, type Upload } from "./upload.js";

export interface FetchPolicy {
  /** Hosts (`name`, `name:port`, IP literals) exempt from the private-address check. */
  allowHosts: string[];
  /** Byte cap for the body, counted while streaming. */
  maxBytes: number;
  /** The whole fetch, every hop and the body included. */
  timeoutMs: number;
  /** Each hop's TCP connect (and TLS handshake). */
  connectTimeoutMs: number;
  /** Redirects followed at most; one more is refused. */
  maxRedirects: number;
  /** Host name resolver; the system resolver (all addresses) when absent. Tests inject one. */
  resolve?: Resolver;
  /** Extra trusted CA certificates (PEM) for https, e.g. a private PKI. */
  ca?: string | Buffer | Array<string | Buffer>;
}

export interface FetchedResource {
  data: Buffer;
  contentType?: string;
  /** The URL the body came from, after redirects. */
  finalUrl: string;
  bytes: number;
}

export interface FetchOptions {
  signal?: AbortSignal;
  /** After each chunk: bytes so far, and the declared total when the server sent one. */
  onProgress?: (bytes: number, total?: number) => void;
}

export function fetchPolicyFromConfig(config: Config): FetchPolicy {
  compileAllowList(config.FETCH_ALLOW_HOSTS); // a bad entry fails at start-up, not on the first fetch
  return {
    allowHosts: [...config.FETCH_ALLOW_HOSTS],
    maxBytes: config.MAX_IMAGE_SIZE,
    timeoutMs: config.FETCH_TIMEOUT_MS,
    connectTimeoutMs: config.FETCH_CONNECT_TIMEOUT_MS,
    maxRedirects: config.FETCH_MAX_REDIRECTS,
  };
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Tears down whatever a finished fetch left open. One shared reason: streams destroyed with it
 * read its stack, and formatting a fresh one for every fetch showed in profiles. */
const FINISHED = new ImageEditError("FETCH_FAILED", "fetch finished");

/**
 * A Location header as its sender meant it. Node reads header bytes as latin1, but hosts that put
 * raw non-ASCII in Location send UTF-8, and browsers read it as such (`/café` must become
 * `/caf%C3%A9`, not `/caf%C3%83%C2%A9`). Bytes that are not valid UTF-8 stay latin1.
 */
function locationText(raw: string): string {
  if (!/[\x80-\xff]/.test(raw)) return raw;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(raw, "latin1"));
  } catch {
    return raw;
  }
}

function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/** What a caller's abort becomes: its own typed reason, a timeout, or a plain abort. */
function callerAbortReason(reason: unknown): ImageEditError {
  if (reason instanceof ImageEditError) return reason;
  if ((reason as Error)?.name === "TimeoutError") {
    return new ImageEditError("FETCH_TIMEOUT", "fetch stopped: the caller's deadline passed", { retryable: true });
  }
  return new ImageEditError("FETCH_FAILED", "fetch aborted by the caller", {
    retryable: true,
    details: { reason: "aborted" },
  });
}

export async function safeFetch(url: string, policy: FetchPolicy, opts: FetchOptions = {}): Promise<FetchedResource> {
  const allowList = compileAllowList(policy.allowHosts);
  const resolve = policy.resolve ?? systemResolver;
  let target: TargetUrl = checkUrl(url, 0);
  let hop = 0;

  const ctrl = new AbortController();
  const timer = setTimeout(() => {
    ctrl.abort(
      new ImageEditError("FETCH_TIMEOUT", `fetching ${redact(target.url)} took longer than ${policy.timeoutMs} ms`, {
        retryable: true,
        details: { reason: "total-timeout", limitMs: policy.timeoutMs, hop },
      }),
    );
  }, policy.timeoutMs);
  const onCallerAbort = () => ctrl.abort(callerAbortReason(opts.signal?.reason));
  if (opts.signal?.aborted) onCallerAbort();
  else opts.signal?.addEventListener("abort", onCallerAbort, { once: true });

  try {
    for (;;) {
      if (ctrl.signal.aborted) throw ctrl.signal.reason;
      const pin = await resolveTarget(target, { hop, allowList, resolve, signal: ctrl.signal });
      const res = await openHop(target, pin, {
        hop,
        connectTimeoutMs: policy.connectTimeoutMs,
        signal: ctrl.signal,
        ca: policy.ca,
      });
      const status = res.statusCode ?? 0;
      const shown = redact(target.url);
      const where = hop === 0 ? shown : `${shown} (redirect ${hop})`;

      if (REDIRECTS.has(status)) {
        res.destroy(); // the body of a redirect is never read
        const location = res.headers.location;
        if (!location) {
          throw new ImageEditError("FETCH_FAILED", `${where} answered ${status} without a Location`, {
            details: { reason: "redirect", status, hop },
          });
        }
        let next: URL;
        try {
          next = new URL(locationText(location), target.url);
        } catch {
          throw new ImageEditError("FETCH_FAILED", `${where} redirects to an invalid URL`, {
            details: { reason: "redirect", status, hop },
          });
        }
        if (hop + 1 > policy.maxRedirects) {
          throw new ImageEditError(
            "FETCH_BLOCKED",
            `${refusedPrefix(0, shown)}too many redirects (more than ${policy.maxRedirects}); ${shown} redirects again`,
            { details: { reason: "redirects", limit: policy.maxRedirects } },
          );
        }
        hop += 1;
        target = checkUrl(next, hop);
        continue;
      }

      if (status < 200 || status > 299) {
        res.destroy();
        throw new ImageEditError(
          "FETCH_FAILED",
          `${where} answered HTTP ${status} ${hostText(res.statusMessage ?? "")}`.trimEnd(),
          {
            retryable: isRetryableStatus(status),
            details: {
              reason: "status",
              status,
              hop,
              retryAfter: res.headers["retry-after"] === undefined ? undefined : hostText(res.headers["retry-after"]),
            },
          },
        );
      }

      const rawEncoding = res.headers["content-encoding"]?.trim().toLowerCase();
      if (rawEncoding && rawEncoding !== "identity") {
        const encoding = hostText(rawEncoding);
        res.destroy();
        // We asked for identity; an encoded body would be counted compressed and sniffed as noise.
        throw new ImageEditError(
          "FETCH_FAILED",
          `${where} sent a body with Content-Encoding "${encoding}" although only identity was accepted`,
          { details: { reason: "encoding", encoding, hop } },
        );
      }
      const declared = parseLength(res.headers["content-length"]);
      const data = await readCapped(res, policy.maxBytes, {
        declaredLength: declared,
        onBytes: (bytes) => opts.onProgress?.(bytes, declared),
      });
      return { data, contentType: res.headers["content-type"], finalUrl: shown, bytes: data.length };
    }
  } catch (err) {
    // After an abort every error is a symptom of the teardown; report the cause.
    if (ctrl.signal.aborted) throw ctrl.signal.reason;
    throw networkError(err, target, hop);
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener("abort", onCallerAbort);
    if (!ctrl.signal.aborted) ctrl.abort(FINISHED);
  }
}

/** safeFetch, then the body must be an image by its magic bytes (UNSUPPORTED_FORMAT if not). */
export async function fetchImage(
  url: string,
  policy: FetchPolicy,
  opts: FetchOptions = {},
): Promise<FetchedResource & { type: ImageType }> {
  const fetched = await safeFetch(url, policy, opts);
  return { ...fetched, type: requireImageType(fetched.data, `the image at ${fetched.finalUrl}`) };
}
