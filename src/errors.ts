// The AppError family: every failure a client can see, with its status, stable code and envelope.

export type ErrorCode =
  | 'invalid_json'
  | 'invalid_request'
  | 'invalid_key'
  | 'unauthorized'
  | 'forbidden'
  | 'quota_exceeded'
  | 'not_found'
  | 'precondition_failed'
  | 'value_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'unavailable'
  | 'internal';

/** One line of `details` on a 400: where in the request, and what is wrong there. */
export interface ErrorDetail {
  path: string;
  message: string;
}

/** A failure with a stable code. `extra` fields are merged into the error object of the envelope. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }

  toJSON(): { error: Record<string, unknown> } {
    return { error: { code: this.code, message: this.message, ...this.extra } };
  }
}

export const invalidJson = (message = 'The request body is not valid JSON.') => new AppError(400, 'invalid_json', message);

/** At most this many `details` are sent; `omittedDetails` counts the rest, so an error stays small. */
export const MAX_ERROR_DETAILS = 10;

export const invalidRequest = (details: ErrorDetail[], message = 'The request is not valid.') =>
  new AppError(
    400,
    'invalid_request',
    message,
    details.length > MAX_ERROR_DETAILS
      ? { details: details.slice(0, MAX_ERROR_DETAILS), omittedDetails: details.length - MAX_ERROR_DETAILS }
      : { details },
  );

export const invalidKey = (message: string) => new AppError(400, 'invalid_key', message);

export const unauthorized = () => new AppError(401, 'unauthorized', 'A valid API key is required.');

export const adminUnauthorized = () => new AppError(401, 'unauthorized', 'A valid admin token (KV_ADMIN_TOKEN) is required.');

export const forbidden = (message = 'This API key lacks the scope for this request.') =>
  new AppError(403, 'forbidden', message);

export const quotaExceeded = (maxKeys: number) =>
  new AppError(403, 'quota_exceeded', `The account is at its limit of ${maxKeys} keys.`, { limit: maxKeys });

export const notFound = (message = 'No such key.') => new AppError(404, 'not_found', message);

export const preconditionFailed = (currentVersion: string | null) =>
  new AppError(412, 'precondition_failed', 'The condition on the current version did not hold.', { currentVersion });

export const valueTooLarge = (message: string) => new AppError(413, 'value_too_large', message);

export const unsupportedMediaType = (message = 'The request body must be application/json.') =>
  new AppError(415, 'unsupported_media_type', message);

export const rateLimited = (retryAfterSeconds: number, message = 'Too many requests for this account; retry later.') =>
  new AppError(429, 'rate_limited', message, { retryAfter: retryAfterSeconds });

export const internal = () => new AppError(500, 'internal', 'Internal error.');

/** Thrown by a store when it cannot reach its backend; nothing was half-written. */
export class StoreUnavailableError extends AppError {
  constructor(override readonly cause?: unknown) {
    super(503, 'unavailable', 'The store cannot be reached; retry later.');
    this.name = 'StoreUnavailableError';
  }
}
