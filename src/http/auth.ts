// Who is calling: Bearer JWTs verified with jose. Locally HS256 with the service secret
// (`imgedit token` and POST /auth/local mint them); in production a JWKS URL with issuer and
// audience (Cognito, Google, any OIDC issuer). Progress streams also accept a short-lived stream
// token bound to one user and one session, because EventSource cannot send headers.
import { createHmac, createSecretKey } from "node:crypto";
import { createRemoteJWKSet, type JWTVerifyGetKey, errors as joseErrors, jwtVerify, SignJWT } from "jose";
import type { Config } from "../config.js";
import { ImageEditError } from "../core/errors.js";
import type { Clock } from "../ports.js";
import { USER_NAME } from "../service/schemas.js";
import { signStreamJwt, verifyStreamJwt } from "./stream-token.js";

const LOCAL_ISSUER = "imgedit-local";
const LOCAL_AUDIENCE = "imgedit";
const STREAM_AUDIENCE = "imgedit-stream";
const ASYMMETRIC = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

export interface Identity {
  userId: string;
}

export interface Auth {
  mode: "local" | "jwks";
  /** Whether POST /auth/local hands out tokens (local mode, LOCAL_SIGN_IN not false). */
  localSignIn: boolean;
  verify(token: string): Promise<Identity>;
  /** Mint a local token (local mode only). */
  mint(userId: string, ttlSec?: number): Promise<string>;
  signStreamToken(userId: string, sessionId: string, ttlSec?: number): Promise<string>;
  verifyStreamToken(token: string, sessionId: string): Promise<Identity>;
}

export interface AuthOptions {
  config: Pick<Config, "JWKS_URL" | "JWT_ISSUER" | "JWT_AUDIENCE" | "LOCAL_SIGN_IN">;
  /** HS256 secret: local tokens, and stream tokens in every mode. */
  secret: Uint8Array;
  clock?: Clock;
  /** Key set override (tests); default createRemoteJWKSet(JWKS_URL). */
  jwks?: JWTVerifyGetKey;
}

/** Parse "1h", "30m", "45s", "7d" or plain seconds. */
export function parseTtl(text: string): number {
  const m = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  if (!m) throw new ImageEditError("INVALID_INPUT", `not a duration: "${text}" (use 30m, 1h, 7d or seconds)`);
  const mult = { "": 1, s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as "" | "s" | "m" | "h" | "d"];
  return Number(m[1]) * mult;
}

function unauthorized(message: string, cause?: unknown): ImageEditError {
  return new ImageEditError("UNAUTHORIZED", message, { cause });
}

/**
 * The issuer's key set could not be had (down, timing out, answering something else): every
 * token fails alike, and a 401 would tell clients to sign in again when signing in cannot help.
 */
function keySetUnavailable(e: unknown): boolean {
  if (e instanceof joseErrors.JWKSTimeout || e instanceof joseErrors.JWKSInvalid) return true;
  // jose's plain JOSEError for a non-200 or non-JSON answer; anything not jose's is the fetch failing.
  if (e instanceof joseErrors.JOSEError) return e.code === "ERR_JOSE_GENERIC" && /JSON Web Key Set/.test(e.message);
  return !(e instanceof ImageEditError);
}

function explain(e: unknown, jwksMode: boolean): ImageEditError {
  if (e instanceof ImageEditError) return e;
  if (jwksMode && keySetUnavailable(e))
    return new ImageEditError(
      "AUTH_UNAVAILABLE",
      `the token issuer's keys (JWKS_URL) could not be fetched: ${e instanceof Error ? e.message : String(e)}; try again shortly`,
      { cause: e, retryable: true },
    );
  if (e instanceof joseErrors.JWTExpired) return unauthorized("token expired", e);
  if (e instanceof joseErrors.JWTClaimValidationFailed)
    return unauthorized(`token rejected: ${e.claim} claim check failed (${e.reason})`, e);
  if (e instanceof joseErrors.JOSEAlgNotAllowed)
    return unauthorized("token rejected: signing algorithm not allowed", e);
  if (e instanceof joseErrors.JWSSignatureVerificationFailed) return unauthorized("token signature is not valid", e);
  if (e instanceof joseErrors.JWKSNoMatchingKey) return unauthorized("token signed by an unknown key", e);
  if (e instanceof joseErrors.JOSEError) return unauthorized(`token rejected: ${e.message}`, e);
  return unauthorized("token could not be verified", e);
}

function identityFrom(sub: unknown): Identity {
  if (typeof sub !== "string" || !USER_NAME.test(sub))
    throw unauthorized("token subject (sub) is missing or not usable as a user id");
  return { userId: sub };
}

/**
 * Tokens this process verified with its own HS256 keys, remembered for at most a minute and never
 * past their expiry: a client sends the same token with every request, and checking its signature
 * again proves nothing new. Only successes are kept, keyed by the whole token (signature included).
 */
class VerifiedTokenCache {
  private static readonly MAX_ENTRIES = 10_000;
  private static readonly MAX_AGE_MS = 60_000;
  private readonly entries = new Map<string, { userId: string; sessionId: string; untilMs: number }>();

  constructor(private readonly clock: Clock) {}

  get(key: string): { userId: string; sessionId: string } | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (this.clock.now() < e.untilMs) return e;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, userId: string, sessionId: string, exp: number | undefined, nbf: number | undefined): void {
    const now = this.clock.now();
    // A token not valid yet is not cached: it is checked again (and accepted) once it is.
    if (nbf !== undefined && nbf * 1000 > now) return;
    const untilMs = Math.min(now + VerifiedTokenCache.MAX_AGE_MS, exp !== undefined ? exp * 1000 : Infinity);
    if (untilMs <= now) return;
    if (this.entries.size >= VerifiedTokenCache.MAX_ENTRIES) {
      // Oldest first (Map keeps insertion order): drop a tenth to amortise the sweep.
      let n = VerifiedTokenCache.MAX_ENTRIES / 10;
      for (const k of this.entries.keys()) {
        this.entries.delete(k);
        if (--n <= 0) break;
      }
    }
    this.entries.set(key, { userId, sessionId, untilMs });
  }
}

export function createAuth(opts: AuthOptions): Auth {
  const { config, secret } = opts;
  const clock = opts.clock ?? { now: () => Date.now() };
  const mode = config.JWKS_URL ? "jwks" : "local";
  const jwks = mode === "jwks" ? (opts.jwks ?? createRemoteJWKSet(new URL(config.JWKS_URL!))) : undefined;
  // Keys imported once (jose would import raw bytes again on every sign and verify).
  const localKey = createSecretKey(secret);
  // Stream tokens use their own key, so one can never pass as a login token.
  const streamKey = createHmac("sha256", secret).update("imgedit stream tokens v1").digest();
  const verified = new VerifiedTokenCache(clock);
  const nowSec = () => Math.floor(clock.now() / 1000);
  const currentDate = () => new Date(clock.now());

  return {
    mode,
    localSignIn: mode === "local" && config.LOCAL_SIGN_IN !== false,

    async verify(token) {
      try {
        if (jwks) {
          const { payload } = await jwtVerify(token, jwks, {
            issuer: config.JWT_ISSUER,
            algorithms: ASYMMETRIC,
            // A token without an expiry would be good for ever once leaked.
            requiredClaims: ["exp"],
            currentDate: currentDate(),
          });
          // Cognito access tokens carry the app client in client_id instead of aud.
          if (config.JWT_AUDIENCE) {
            const aud = Array.isArray(payload.aud) ? payload.aud : payload.aud ? [payload.aud] : [];
            if (!aud.includes(config.JWT_AUDIENCE) && payload.client_id !== config.JWT_AUDIENCE)
              throw unauthorized("token rejected: audience is not this service");
          }
          return identityFrom(payload.sub);
        }
        const hit = verified.get(`l ${token}`);
        if (hit) return { userId: hit.userId };
        const { payload } = await jwtVerify(token, localKey, {
          issuer: LOCAL_ISSUER,
          audience: LOCAL_AUDIENCE,
          algorithms: ["HS256"],
          requiredClaims: ["exp"],
          currentDate: currentDate(),
        });
        if (payload.typ === "stream") throw unauthorized("a stream token only opens its progress stream");
        const id = identityFrom(payload.sub);
        verified.set(`l ${token}`, id.userId, "", payload.exp, payload.nbf);
        return id;
      } catch (e) {
        throw explain(e, jwks !== undefined);
      }
    },

    async mint(userId, ttlSec = 3600) {
      if (mode !== "local")
        throw new ImageEditError("NOT_FOUND", "local tokens are off: tokens come from JWKS_URL's issuer");
      identityFrom(userId);
      return new SignJWT({})
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .setSubject(userId)
        .setIssuer(LOCAL_ISSUER)
        .setAudience(LOCAL_AUDIENCE)
        .setIssuedAt(nowSec())
        .setExpirationTime(nowSec() + ttlSec)
        .sign(localKey);
    },

    async signStreamToken(userId, sessionId, ttlSec = 3600) {
      const iat = nowSec();
      return signStreamJwt(
        { sub: userId, sid: sessionId, aud: STREAM_AUDIENCE, typ: "stream", iat, exp: iat + ttlSec },
        streamKey,
      );
    },

    async verifyStreamToken(token, sessionId) {
      try {
        const hit = verified.get(`s ${token}`);
        if (hit) {
          if (hit.sessionId !== sessionId) throw unauthorized("stream token is for another session");
          return { userId: hit.userId };
        }
        const payload = verifyStreamJwt(token, streamKey, STREAM_AUDIENCE, nowSec());
        if (payload.sid !== sessionId) throw unauthorized("stream token is for another session");
        const id = identityFrom(payload.sub);
        verified.set(`s ${token}`, id.userId, payload.sid, payload.exp, undefined);
        return id;
      } catch (e) {
        throw explain(e, false);
      }
    },
  };
}
