// Structured JSON logs (pino). The service and the HTTP app receive a Logger; nothing logs to the console.
import { type DestinationStream, type Logger as PinoLogger, pino } from "pino";
import type { Config } from "./config.js";

export type Logger = PinoLogger;

export function createLogger(config: Pick<Config, "LOG_LEVEL">, destination?: DestinationStream): Logger {
  return pino(
    {
      level: config.LOG_LEVEL,
      base: { service: "imgedit" },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Tokens never reach the logs, even when a request is logged with its headers.
      redact: { paths: ["req.headers.authorization", "headers.authorization", "token"], censor: "[redacted]" },
    },
    destination,
  );
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
