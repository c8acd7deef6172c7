// One HTTP(S) GET to a vetted address. The host name stays in the Host header, TLS SNI and the
// certificate check, while the socket can only go to the pinned address: the request connects to
// that address, and the connected peer is compared with it once more. Connections are kept alive
// between fetches and pooled by that address, so a socket is only ever reused for the address it
// was vetted and opened for (50 images from one host: one connection, one TLS handshake, per fetch running at once).
import type { IncomingMessage } from "node:http";
import http from "node:http";
import https from "node:https";
import type { Socket } from "node:net";
import { ImageEditError } from "../core/errors.js";
import { hostText } from "../core/remote-text.js";
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

// Idle connections close after 4 s (hosts often close sooner, and say so in Keep-Alive, which Node
// follows) and never hold the process open; a few per address are kept.
const POOL = { keepAlive: true, timeout: 4_000, maxFreeSockets: 4, maxTotalSockets: 256, scheduling: "lifo" } as const;
const agents = { http: new http.Agent(POOL), https: new https.Agent(POOL) };

const RESET_CODES = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED"]);
const UNREACHABLE_CODES = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EHOSTDOWN", "ENETDOWN"]);

/** OpenSSL's reasons when what came back was not TLS at all (plain HTTP, say). */
const NOT_TLS = /wrong version number|http request|packet length too long|unknown protocol|record layer failure/i;

/** "host:port" for messages, with an IPv6 literal in brackets ("[::1]:8080", not "::1:8080"). */
export function hostPort(target: TargetUrl): string {
  return target.ip?.family === 6 ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
}

/** A Node network error as a typed error naming the host and what happened. */
export function networkError(err: unknown, target: TargetUrl, hop: number): ImageEditError {
  if (err instanceof ImageEditError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = e?.code ?? "";
  const where = `${hopPrefix(hop, redact(target.url))}${hostPort(target)}`;
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
  // EPROTO is what a TLS record error surfaces as (e.g. "write EPROTO …:SSL routines:
  // ssl3_get_record:wrong version number": https to a port that speaks plain HTTP). Retrying
  // cannot help, and OpenSSL's text is no use to a reader.
  const ssl = /SSL routines:[^:]*:([^:]+)/.exec(e?.message ?? "")?.[1]?.trim();
  if (
    /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_OSSL/.test(code) ||
    (code === "EPROTO" && (target.url.protocol === "https:" || ssl !== undefined)) ||
    /certificate|handshake/i.test(e?.message ?? "")
  ) {
    const what = !ssl
      ? hostText(e.message, 200)
      : NOT_TLS.test(ssl)
        ? `the server did not answer TLS (${ssl})`
        : `${ssl}${code ? ` (${code})` : ""}`;
    return new ImageEditError("FETCH_FAILED", `${where}: TLS failed: ${what}`, { details, cause: err });
  }
  return new ImageEditError("FETCH_FAILED", `${where}: request failed: ${hostText(e?.message ?? String(err), 200)}`, {
    retryable: true,
    details,
    cause: err,
  });
}

/**
 * Sends the GET and resolves with the response head; the body is left to the caller. The abort
 * listener stays until the hop's request is over, so an abort while the body streams still tears
 * the connection down (a body read to its end gives the connection back to the pool instead).
 */
export async function openHop(target: TargetUrl, pin: PinnedAddress, opts: HopOptions): Promise<IncomingMessage> {
  try {
    return await sendGet(target, pin, opts, true);
  } catch (e) {
    // A kept-alive connection the host closed while it sat idle (or while a Lambda was frozen)
    // fails on its first write: send once more on a new connection.
    if ((e as { reusedSocketFailed?: boolean }).reusedSocketFailed && !opts.signal.aborted)
      return sendGet(target, pin, opts, false);
    throw e;
  }
}

function sendGet(target: TargetUrl, pin: PinnedAddress, opts: HopOptions, pooled: boolean): Promise<IncomingMessage> {
  const { url } = target;
  const isHttps = url.protocol === "https:";
  const requestOptions: https.RequestOptions = {
    protocol: url.protocol,
    // The vetted address itself: the pool's key, and nothing left to resolve.
    host: pin.address,
    family: pin.family,
    port: target.port,
    path: `${url.pathname}${url.search}`,
    method: "GET",
    headers: {
      host: url.host,
      "user-agent": USER_AGENT,
      accept: "image/avif,image/webp,image/*;q=0.9,*/*;q=0.5",
      // Identity only: the cap must count the real bytes, and no decompression bomb can hide.
      "accept-encoding": "identity",
    },
    agent: pooled ? (isHttps ? agents.https : agents.http) : false,
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
      if (opts.signal.aborted) return reject(opts.signal.reason);
      const typed = networkError(err, target, opts.hop);
      const code = (err as NodeJS.ErrnoException)?.code ?? "";
      if (req.reusedSocket && !response && (RESET_CODES.has(code) || (err as Error)?.message === "socket hang up"))
        Object.assign(typed, { reusedSocketFailed: true });
      reject(typed);
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
          `${hopPrefix(opts.hop, redact(url))}${hostPort(target)} answered ${res.statusCode} Switching Protocols, not an image`,
          { details: { reason: "status", status: res.statusCode, hop: opts.hop } },
        ),
      );
    });

    connectTimer = setTimeout(() => {
      req.destroy(
        new ImageEditError(
          "FETCH_TIMEOUT",
          `${hopPrefix(opts.hop, redact(url))}could not connect to ${hostPort(target)} within ${opts.connectTimeoutMs} ms`,
          { retryable: true, details: { reason: "connect-timeout", host: target.host, hop: opts.hop } },
        ),
      );
    }, opts.connectTimeoutMs);

    req.on("socket", (socket: Socket) => {
      const connected = () => {
        clearTimeout(connectTimer);
        const peer = socket.remoteAddress;
        if (!peer || !sameAddress(peer, pin.address)) {
          req.destroy(
            new ImageEditError(
              "FETCH_BLOCKED",
              `refused: connected to ${peer ?? "an unknown address"}, not the vetted address ${pin.address}`,
              {
                details: { reason: "pin-mismatch", host: target.host, hop: opts.hop },
              },
            ),
          );
        }
      };
      // A pooled socket is connected already (and was checked when it was); for https the
      // connection counts as made once the TLS handshake is done.
      if (req.reusedSocket) connected();
      else socket.once(isHttps ? "secureConnect" : "connect", connected);
    });
    req.on("error", (err) => {
      // After the head, a malformed body (a bad chunk size, an oversized chunk extension) is an
      // HPE_* error on the request only: the response would just see "aborted", which reads as a
      // reset and is retried. Hand the real error to whoever reads the body.
      if (response && !response.complete) response.destroy(err);
      fail(err);
    });
    req.on("response", (res) => {
      clearTimeout(connectTimer);
      response = res;
      res.on("error", () => {}); // surfaced by whoever reads the body
      resolve(res);
    });
    req.end();
  });
}
