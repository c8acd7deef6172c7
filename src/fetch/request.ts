// One HTTP(S) GET to a vetted address. The host name stays in the URL (Host header, TLS SNI and
// certificate check) while the socket can only go to the pinned address: the request's `lookup`
// answers with it, and the connected peer is compared with it once more.
import type { IncomingMessage } from "node:http";
import http from "node:http";
import https from "node:https";
import type { LookupFunction, Socket } from "node:net";
import { ImageEditError } from "../core/errors.js";
import { sameAddress } from "./address.js";
import type { PinnedAddress } from "./resolve.js";
import { hopPrefix, redact, type TargetUrl } from "./url.js";

export const USER_AGENT = "imgedit-fetch/0.1";

export interface HopOptions {
  hop: number;
  connectTimeoutMs: number;
  /** Aborting destroys the request and its response; the reason is what the caller sees. */
  signal: AbortSignal;
  /** Extra trusted CA certificates (PEM), for private PKI and tests. */
  ca?: string | Buffer | Array<string | Buffer>;
}

/** A lookup that can only answer with the vetted address, whatever it is asked. */
function pinnedLookup(pin: PinnedAddress): LookupFunction {
  return ((_hostname: string, options: unknown, callback?: unknown) => {
    const cb = (typeof options === "function" ? options : callback) as (...args: unknown[]) => void;
    const all = typeof options === "object" && options !== null && (options as { all?: boolean }).all;
    // Node 20's happy-eyeballs connect asks with {all: true} and expects a list.
    if (all) cb(null, [{ address: pin.address, family: pin.family }]);
    else cb(null, pin.address, pin.family);
  }) as LookupFunction;
}

const RESET_CODES = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED"]);
const UNREACHABLE_CODES = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EHOSTDOWN", "ENETDOWN"]);

/** A Node network error as a typed error naming the host and what happened. */
export function networkError(err: unknown, target: TargetUrl, hop: number): ImageEditError {
  if (err instanceof ImageEditError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = e?.code ?? "";
  const where = `${hopPrefix(hop, redact(target.url))}${target.host}:${target.port}`;
  const details = { reason: "network", code, host: target.host, port: target.port, hop };
  if (RESET_CODES.has(code) || e?.message === "socket hang up" || e?.message === "aborted") {
    return new ImageEditError("FETCH_FAILED", `${where} reset the connection`, {
      retryable: true,
      details,
      cause: err,
    });
  }
  if (UNREACHABLE_CODES.has(code)) {
    const what = code === "ECONNREFUSED" ? "refused the connection" : `is unreachable (${code})`;
    return new ImageEditError("FETCH_FAILED", `${where} ${what}`, { retryable: true, details, cause: err });
  }
  if (code === "ETIMEDOUT") {
    return new ImageEditError("FETCH_TIMEOUT", `${where} timed out (${code})`, {
      retryable: true,
      details,
      cause: err,
    });
  }
  if (code.startsWith("HPE_") || code === "ERR_INVALID_HTTP_RESPONSE") {
    return new ImageEditError("FETCH_FAILED", `${where} sent an invalid HTTP response (${code})`, {
      details,
      cause: err,
    });
  }
  if (
    /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_OSSL/.test(code) ||
    /certificate|handshake/i.test(e?.message ?? "")
  ) {
    return new ImageEditError("FETCH_FAILED", `${where}: TLS failed: ${e.message}`, { details, cause: err });
  }
  return new ImageEditError("FETCH_FAILED", `${where}: request failed: ${e?.message ?? String(err)}`, {
    retryable: true,
    details,
    cause: err,
  });
}

/**
 * Sends the GET and resolves with the response head; the body is left to the caller. The abort
 * listener stays until the hop's connection closes, so an abort while the body streams still
 * tears it down.
 */
export function openHop(target: TargetUrl, pin: PinnedAddress, opts: HopOptions): Promise<IncomingMessage> {
  const { url } = target;
  const isHttps = url.protocol === "https:";
  const requestOptions: https.RequestOptions = {
    protocol: url.protocol,
    host: target.host,
    port: target.port,
    path: `${url.pathname}${url.search}`,
    method: "GET",
    headers: {
      host: url.host,
      "user-agent": USER_AGENT,
      accept: "image/avif,image/webp,image/*;q=0.9,*/*;q=0.5",
      // Identity only: the cap must count the real bytes, and no decompression bomb can hide.
      "accept-encoding": "identity",
      connection: "close",
    },
    // A fresh socket per hop: a pooled one might have been opened for another answer.
    agent: false,
    lookup: pinnedLookup(pin),
    ...(isHttps ? { servername: target.ip ? undefined : target.host, ca: opts.ca } : {}),
  };

  return new Promise<IncomingMessage>((resolve, reject) => {
    if (opts.signal.aborted) {
      reject(opts.signal.reason);
      return;
    }
    const req = (isHttps ? https : http).request(requestOptions);
    let connectTimer: NodeJS.Timeout | undefined;
    const fail = (err: unknown) => {
      clearTimeout(connectTimer);
      reject(opts.signal.aborted ? opts.signal.reason : networkError(err, target, opts.hop));
    };
    let response: IncomingMessage | undefined;
    const onAbort = () => {
      req.destroy(opts.signal.reason);
      response?.destroy(opts.signal.reason);
    };
    opts.signal.addEventListener("abort", onAbort, { once: true });
    // Once this hop's connection is gone there is nothing left to abort (and, over many
    // redirects, listeners would pile up on the one signal). A connection that closes without an
    // answer or an error (Node stays silent in some cases) must still settle the hop.
    req.once("close", () => {
      opts.signal.removeEventListener("abort", onAbort);
      if (!response) fail(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }));
    });
    // 101 Switching Protocols: Node hands the socket to 'upgrade' listeners and emits neither
    // 'response' nor 'error', so without this the hop would wait forever, past every timeout.
    req.on("upgrade", (res: IncomingMessage, socket: Socket) => {
      socket.destroy();
      res.destroy();
      fail(
        new ImageEditError(
          "FETCH_FAILED",
          `${hopPrefix(opts.hop, redact(url))}${target.host}:${target.port} answered ${res.statusCode} Switching Protocols, not an image`,
          { details: { reason: "status", status: res.statusCode, hop: opts.hop } },
        ),
      );
    });

    connectTimer = setTimeout(() => {
      req.destroy(
        new ImageEditError(
          "FETCH_TIMEOUT",
          `${hopPrefix(opts.hop, redact(url))}could not connect to ${target.host}:${target.port} within ${opts.connectTimeoutMs} ms`,
          { retryable: true, details: { reason: "connect-timeout", host: target.host, hop: opts.hop } },
        ),
      );
    }, opts.connectTimeoutMs);

    req.on("socket", (socket: Socket) => {
      // For https the connection counts as made once the TLS handshake is done.
      socket.once(isHttps ? "secureConnect" : "connect", () => {
        clearTimeout(connectTimer);
        const peer = socket.remoteAddress;
        if (peer && !sameAddress(peer, pin.address)) {
          req.destroy(
            new ImageEditError(
              "FETCH_BLOCKED",
              `refused: connected to ${peer}, not the vetted address ${pin.address}`,
              {
                details: { reason: "pin-mismatch", host: target.host, hop: opts.hop },
              },
            ),
          );
        }
      });
    });
    req.on("error", fail);
    req.on("response", (res) => {
      clearTimeout(connectTimer);
      response = res;
      res.on("error", () => {}); // surfaced by whoever reads the body
      resolve(res);
    });
    req.end();
  });
}
