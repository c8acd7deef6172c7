// Stream tokens: compact HS256 JWTs this service both signs and verifies, one per accepted edit.
// Signed with node:crypto directly: jose goes through WebCrypto, whose HMAC is queued to the libuv
// pool and resolved over several promise turns, and that cost was paid on every POST /image-edit.
// Only the one shape we sign is accepted (header exactly {"alg":"HS256"}), so there is no
// algorithm negotiation to get wrong.
import { createHmac, timingSafeEqual } from "node:crypto";
import { ImageEditError } from "../core/errors.js";

const HEADER = Buffer.from(JSON.stringify({ alg: "HS256" })).toString("base64url");

export interface StreamClaims {
  sub: string;
  sid: string;
  aud: string;
  typ: "stream";
  iat: number;
  exp: number;
}

function mac(key: Buffer, signingInput: string): Buffer {
  return createHmac("sha256", key).update(signingInput).digest();
}

export function signStreamJwt(claims: StreamClaims, key: Buffer): string {
  const input = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
  return `${input}.${mac(key, input).toString("base64url")}`;
}

function refuse(message: string): ImageEditError {
  return new ImageEditError("UNAUTHORIZED", message);
}

/** Checks signature, audience and lifetime; returns the claims. `nowSec` is the caller's clock. */
export function verifyStreamJwt(token: string, key: Buffer, audience: string, nowSec: number): StreamClaims {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[0] !== HEADER) throw refuse("token rejected: not a stream token");
  // Compared as text: base64url decoding skips characters outside its alphabet, so a signature
  // with junk appended would decode to the right bytes; only the exact encoding is this token.
  const given = Buffer.from(parts[2]);
  const expected = Buffer.from(mac(key, `${parts[0]}.${parts[1]}`).toString("base64url"));
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw refuse("token signature is not valid");
  let claims: Partial<StreamClaims>;
  try {
    claims = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8")) as Partial<StreamClaims>;
  } catch {
    throw refuse("token rejected: payload is not JSON");
  }
  if (claims.typ !== "stream" || claims.aud !== audience)
    throw refuse("token rejected: aud claim check failed (not a stream token)");
  if (typeof claims.exp !== "number" || claims.exp <= nowSec) throw refuse("token expired");
  if (typeof claims.sid !== "string" || typeof claims.sub !== "string")
    throw refuse("token rejected: missing session or subject");
  return claims as StreamClaims;
}
