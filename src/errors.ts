// The AppError family: every failure a client can see, with its status, stable code and envelope.

/**
 * Every error a client can get: its code, its HTTP status and what it means. The one table of
 * them: an AppError takes its status from here, and the API document prints it.
 */
export const ERROR_TABLE = {
  invalid_request: {
    status: 400,
    meaning: 'The request is not valid: a field, a query parameter, a header or the request itself (also 408, 417 and 431 from the HTTP layer). `details` lists what.',
  },
  invalid_json: { status: 400, meaning: 'The body is not JSON, or not decodable with its Content-Encoding.' },
  invalid_key: { status: 400, meaning: 'The key is empty, too long, has control characters or is not valid percent-encoded UTF-8.' },
  unauthorized: { status: 401, meaning: 'No valid API key (or admin token) in `Authorization: Bearer …`.' },
  forbidden: { status: 403, meaning: 'The API key lacks the scope, or the request reaches keys outside the API key\'s prefix.' },
  quota_exceeded: { status: 403, meaning: 'The account is at its key limit; `limit` says which.' },
  not_found: { status: 404, meaning: 'No such key, account, API key or route.' },
  type_mismatch: {
    status: 409,
    meaning: 'An increment of a value that is not a JSON integer, or whose result would pass ±(2^53 − 1); nothing changed.',
  },
  precondition_failed: {
    status: 412,
    meaning:
      'A condition on the version did not hold; `currentVersion` is the version now (null: no such key). A commit lists ' +
      'each check that failed in `failedChecks` (`index`, `key`, `currentVersion`) instead.',
  },
  value_too_large: { status: 413, meaning: 'The value (as compact JSON) or the body is over the limit.' },
  unsupported_media_type: {
    status: 415,
    meaning:
      'The body is not of the type the route takes (`application/json`; `application/merge-patch+json` on PATCH; ' +
      '`application/x-ndjson` on import), or its Content-Encoding is not identity, gzip, deflate or br.',
  },
  rate_limited: { status: 429, meaning: 'Over the rate limit; retry after `Retry-After` seconds (also `retryAfter`).' },
  internal: { status: 500, meaning: 'A bug; the request id is in the log.' },
  unavailable: {
    status: 503,
    meaning: 'The store cannot be reached, or the request ran past its deadline; retry after `Retry-After`. A write may or may not have been applied.',
  },
} as const;

export type ErrorCode = keyof typeof ERROR_TABLE;

/** One line of `details` on a 400: where in the request, and what is wrong there. */
export interface ErrorDetail {
  path: string;
  message: string;
}

/** A failure with a stable code. `extra` fields are merged into the error object of the envelope. */
export class AppError extends Error {
  /** From ERROR_TABLE: a code always has the same status. */
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AppError';
    this.status = ERROR_TABLE[code].status;
  }

  toJSON(): { error: Record<string, unknown> } {
    return { error: { code: this.code, message: this.message, ...this.extra } };
  }
}

export const invalidJson = (message = 'The request body is not valid JSON.') => new AppError('invalid_json', message);

/** At most this many `details` are sent; `omittedDetails` counts the rest, so an error stays small. */
export const MAX_ERROR_DETAILS = 10;

export const invalidRequest = (details: ErrorDetail[], message = 'The request is not valid.') =>
  new AppError(
    'invalid_request',
    message,
    details.length > MAX_ERROR_DETAILS
      ? { details: details.slice(0, MAX_ERROR_DETAILS), omittedDetails: details.length - MAX_ERROR_DETAILS }
      : { details },
  );

export const invalidKey = (message: string) => new AppError('invalid_key', message);

export const unauthorized = () => new AppError('unauthorized', 'A valid API key is required.');

export const adminUnauthorized = () => new AppError('unauthorized', 'A valid admin token (KV_ADMIN_TOKEN) is required.');

export const forbidden = (message = 'This API key lacks the scope for this request.') =>
  new AppError('forbidden', message);

export const quotaExceeded = (maxKeys: number) =>
  new AppError('quota_exceeded', `The account is at its limit of ${maxKeys} keys.`, { limit: maxKeys });

export const notFound = (message = 'No such key.') => new AppError('not_found', message);

export const preconditionFailed = (currentVersion: string | null) =>
  new AppError('precondition_failed', 'The condition on the current version did not hold.', { currentVersion });

/** A commit's checks that did not hold: nothing was applied. */
export const checksFailed = (failedChecks: { index: number; key: string; currentVersion: string | null }[]) =>
  new AppError('precondition_failed', `${failedChecks.length} of the commit's checks did not hold; nothing was applied.`, { failedChecks });

export const typeMismatch = (message: string) => new AppError('type_mismatch', message);

export const valueTooLarge = (message: string) => new AppError('value_too_large', message);

export const unsupportedMediaType = (message = 'The request body must be application/json.') =>
  new AppError('unsupported_media_type', message);

export const rateLimited = (retryAfterSeconds: number, message = 'Too many requests for this account; retry later.') =>
  new AppError('rate_limited', message, { retryAfter: retryAfterSeconds });

export const internal = () => new AppError('internal', 'Internal error.');

/** Thrown by a store when it cannot reach its backend; nothing was half-written. */
export class StoreUnavailableError extends AppError {
  constructor(override readonly cause?: unknown) {
    super('unavailable', 'The store cannot be reached; retry later.');
    this.name = 'StoreUnavailableError';
  }
}
