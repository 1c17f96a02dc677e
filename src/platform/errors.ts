/**
 * The one catalogue of error codes. Every error body is
 * `{"error": {"code", "message", "field"?, "request_id"}}` with the status listed here.
 */
export const errorCatalogue = {
  validation_failed: 400,
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  conflict: 409,
  idempotency_conflict: 409,
  idempotency_in_progress: 409,
  payload_too_large: 413,
  uri_too_long: 414,
  unsupported_media_type: 415,
  unprocessable: 422,
  rate_limited: 429,
  headers_too_large: 431,
  internal_error: 500,
  service_unavailable: 503,
  precondition_failed: 412,
  range_not_satisfiable: 416,
} as const;

export type ErrorCode = keyof typeof errorCatalogue;

export class AppError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = errorCatalogue[code];
  }
}

/** Shorthand for the common 404: another partner's ids look exactly like missing ones. */
export function notFound(what: string, field?: string): AppError {
  return new AppError('not_found', `${what} not found`, field);
}

export function validation(message: string, field?: string): AppError {
  return new AppError('validation_failed', message, field);
}

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  field?: string;
  request_id: string;
}
