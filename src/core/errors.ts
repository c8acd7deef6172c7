// Typed errors with stable codes: the API, the CLI and the progress stream all report these.

export const ERROR_STATUS = {
  INVALID_INPUT: 400,
  INVALID_OPERATION: 400,
  TOO_MANY_OPERATIONS: 400,
  TOO_MANY_IMAGES: 400,
  COMMAND_NOT_UNDERSTOOD: 422,
  /** An Idempotency-Key sent again with a different request than the one it first came with. */
  IDEMPOTENCY_KEY_REUSED: 422,
  IMAGE_TOO_LARGE: 413,
  DIMENSIONS_TOO_LARGE: 422,
  PIXEL_LIMIT: 422,
  UNSUPPORTED_FORMAT: 415,
  CORRUPT_IMAGE: 422,
  FETCH_BLOCKED: 422,
  FETCH_FAILED: 502,
  FETCH_TIMEOUT: 504,
  PROCESSING_FAILED: 500,
  PROCESSING_TIMEOUT: 504,
  STORAGE_FAILED: 503,
  LLM_FAILED: 502,
  UNAUTHORIZED: 401,
  /** The token issuer's keys (JWKS_URL) could not be fetched: nobody's token can be checked. */
  AUTH_UNAVAILABLE: 503,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class ImageEditError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly field?: string;
  readonly details?: Record<string, unknown>;
  /** Whether retrying the same job could succeed (network, storage), as opposed to bad input. */
  readonly retryable: boolean;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { field?: string; details?: Record<string, unknown>; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "ImageEditError";
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.field = opts.field;
    this.details = opts.details;
    this.retryable = opts.retryable ?? false;
  }

  toJSON(): { code: ErrorCode; message: string; field?: string; details?: Record<string, unknown> } {
    return { code: this.code, message: this.message, field: this.field, details: this.details };
  }
}

export function isImageEditError(e: unknown): e is ImageEditError {
  return e instanceof ImageEditError;
}

/** Any thrown value as an ImageEditError, keeping typed ones and wrapping the rest. */
export function toImageEditError(e: unknown, fallback: ErrorCode = "INTERNAL"): ImageEditError {
  if (e instanceof ImageEditError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new ImageEditError(fallback, message, { cause: e });
}
