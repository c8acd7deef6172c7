// Structured JSON logs (pino). The service and the HTTP app receive a Logger; nothing logs to the console.
import { type DestinationStream, type Logger as PinoLogger, pino } from "pino";
import type { Config } from "./config.js";

export type Logger = PinoLogger;

/**
 * Query parameters that carry credentials: signed-URL signatures and session tokens (S3's
 * X-Amz-Signature / X-Amz-Security-Token / X-Amz-Credential, GCS, CloudFront's Signature, Policy
 * and Key-Pair-Id, Azure's sig, our own /files `sig`), access tokens and API keys. Error messages
 * name the URL that failed, and a user's source URL may be a presigned one.
 */
const SECRET_PARAM = /sig|token|credential|secret|passw|key|auth|policy/i;
// Every pattern runs in linear time on any line (a request's path is logged, up to 16 KB): name
// runs stop at the next separator, and a JWT starts only where a base64url run starts (or right
// after an escaped newline or tab: the line's text \n ends in a letter).
const QUERY_PARAM = /([?&;])([^=&;?#\s"\\]*)=([^&;#\s"\\]*)/g;
/** A bearer credential written out, and any JWT (bearer and stream tokens are JWTs). */
const BEARER = /(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi;
const JWT = /(?:(?<=\\[nrt])|(?<![A-Za-z0-9_-]))eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g;

/** A serialized log line with credentials in URLs, bearer headers and JWTs replaced. */
export function scrubSecrets(line: string): string {
  return line
    .replace(QUERY_PARAM, (all, sep: string, name: string) =>
      SECRET_PARAM.test(name) ? `${sep}${name}=[redacted]` : all,
    )
    .replace(BEARER, "$1[redacted]")
    .replace(JWT, "[redacted-jwt]");
}

export function createLogger(config: Pick<Config, "LOG_LEVEL">, destination?: DestinationStream): Logger {
  return pino(
    {
      level: config.LOG_LEVEL,
      base: { service: "imgedit" },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Tokens never reach the logs, even when a request is logged with its headers.
      redact: { paths: ["req.headers.authorization", "headers.authorization", "token"], censor: "[redacted]" },
      // ...nor inside a message, an error's message or stack, or a URL anywhere in the line.
      hooks: { streamWrite: scrubSecrets },
    },
    destination,
  );
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
