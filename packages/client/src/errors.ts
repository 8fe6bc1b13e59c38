// The errors the client throws: one class per error code of the API, a network error, and the table that picks one.
// (Several classes in one file, against the one-class-per-file habit: they are one family, each a few lines.)

/** One problem listed by a 400 `invalid_request`: where in the request, and what is wrong there. */
export interface KvErrorDetail {
  path: string;
  message: string;
}

/** A commit check that did not hold (`failedChecks` of a 412 on commit). */
export interface KvFailedCheck {
  /** Its index in `checks`, from 0. */
  index: number;
  key: string;
  /** The key's version now; `null` when it does not exist. */
  currentVersion: string | null;
}

/** The error codes of the API (`error.code` of its error envelope). */
export type KvErrorCode =
  | 'invalid_request'
  | 'invalid_json'
  | 'invalid_key'
  | 'unauthorized'
  | 'forbidden'
  | 'quota_exceeded'
  | 'not_found'
  | 'type_mismatch'
  | 'precondition_failed'
  | 'value_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'internal'
  | 'unavailable';

/** What a KvError is made of: the HTTP status and the error object of the envelope. */
export interface KvErrorInit {
  status: number;
  /** `error.code`; a code this client does not know is kept as it came. */
  code: string;
  message: string;
  /** `X-Request-Id` of the answer: the key to the server's log line. */
  requestId?: string | null;
  /** The whole `error` object of the envelope, extra fields included. */
  body?: Record<string, unknown>;
}

/**
 * An error answer of the API (`{"error": {"code", "message", …}}`). Branch on the subclass or on
 * `code`, never on `message` (for people; it may change). Every code has its own subclass;
 * an answer without the envelope (a proxy's 502, say) is a plain KvError with code `http_<status>`.
 */
export class KvError extends Error {
  /** The HTTP status (400, 404, 412, …). */
  readonly status: number;
  /** The stable code (`not_found`, `precondition_failed`, …). */
  readonly code: string;
  /** `X-Request-Id` of the answer, or null. */
  readonly requestId: string | null;
  /** `details` of a 400 `invalid_request` (at most 10; see `omittedDetails`), else an empty list. */
  readonly details: KvErrorDetail[];
  /** The whole `error` object of the envelope. */
  readonly body: Record<string, unknown>;

  constructor(init: KvErrorInit) {
    super(init.message);
    this.name = 'KvError';
    this.status = init.status;
    this.code = init.code;
    this.requestId = init.requestId ?? null;
    this.body = init.body ?? { code: init.code, message: init.message };
    this.details = Array.isArray(this.body.details) ? (this.body.details as KvErrorDetail[]) : [];
  }

  /** The error as the API sent it, with the status: for logs. */
  toJSON(): { status: number; requestId: string | null; error: Record<string, unknown> } {
    return { status: this.status, requestId: this.requestId, error: this.body };
  }
}

/** 400 `invalid_request`: a field, query parameter or header is not valid; `details` says which. */
export class KvInvalidRequestError extends KvError {
  /** How many more problems there were than `details` lists. */
  readonly omittedDetails: number;
  constructor(init: KvErrorInit) {
    super(init);
    this.name = 'KvInvalidRequestError';
    this.omittedDetails = typeof init.body?.omittedDetails === 'number' ? init.body.omittedDetails : 0;
  }
}

/** 400 `invalid_json`: the body is not JSON. */
export class KvInvalidJsonError extends KvError {
  constructor(init: KvErrorInit) {
    super(init);
    this.name = 'KvInvalidJsonError';
  }
}

/**
 * 400 `invalid_key`: the key is empty, too long or has control characters. Also thrown by the
 * client itself, before sending, for a key no URL can carry (a lone UTF-16 surrogate).
 */
export class KvInvalidKeyError extends KvError {
  constructor(init: KvErrorInit) {
    super(init);
    this.name = 'KvInvalidKeyError';
  }
}

/** 401 `unauthorized`: no, unknown, expired or revoked API key (or admin token). */
export class KvUnauthorizedError extends KvError {
  constructor(init: KvErrorInit) {
    super(init);
    this.name = 'KvUnauthorizedError';
  }
}

/** 403 `forbidden`: the API key lacks the scope (a read-only key writing) or the key's prefix. */
export class KvForbiddenError extends KvError {
  constructor(init: KvErrorInit) {
    super(init);
    this.name = 'KvForbiddenError';
  }
}

/** 403 `quota_exceeded`: creating a key while the account is at its `maxKeys`. */
export class KvQuotaExceededError extends KvError {
  /** The account's key limit. */
  readonly limit: number | null;
  constructor(init: KvErrorInit) {
    super(init);
    this.name = 'KvQuotaExceededError';
    this.limit = typeof init.body?.limit === 'number' ? init.body.limit : null;
  }
}

/** 404 `not_found`: no such key, account, API key or route. */
export class KvNotFoundError extends KvError {
  constructor(init: KvErrorInit) {
    super(init);
    this.name = 'KvNotFoundError';
  }
}

/** 409 `type_mismatch`: an increment of a value that is not a JSON integer, or past ±(2^53 − 1). */
export class KvTypeMismatchError extends KvError {
  constructor(init: KvErrorInit) {
    super(init);
    this.name = 'KvTypeMismatchError';
  }
}

/**
 * 412 `precondition_failed`: a condition (`ifVersion`, `ifNotExists`) did not hold. `currentVersion`
 * is the key's version now (`null`: it does not exist); a commit lists `failedChecks` instead.
 */
export class KvPreconditionFailedError extends KvError {
  /** The key's version now; `null` when it does not exist, or on a commit (see `failedChecks`). */
  readonly currentVersion: string | null;
  /** A commit's checks that failed; empty for a single-key write. */
  readonly failedChecks: KvFailedCheck[];
  constructor(init: KvErrorInit) {
    super(init);
    this.name = 'KvPreconditionFailedError';
    this.currentVersion = typeof init.body?.currentVersion === 'string' ? init.body.currentVersion : null;
    this.failedChecks = Array.isArray(init.body?.failedChecks) ? (init.body.failedChecks as KvFailedCheck[]) : [];
  }
}

/** 413 `value_too_large`: the value or the body is over its limit. */
export class KvValueTooLargeError extends KvError {
  constructor(init: KvErrorInit) {
    super(init);
    this.name = 'KvValueTooLargeError';
  }
}

/** 415 `unsupported_media_type`. */
export class KvUnsupportedMediaTypeError extends KvError {
  constructor(init: KvErrorInit) {
    super(init);
    this.name = 'KvUnsupportedMediaTypeError';
  }
}

/** 429 `rate_limited`: over the account's rate; retry after `retryAfter` seconds. */
export class KvRateLimitedError extends KvError {
  /** Seconds to wait (`Retry-After`). */
  readonly retryAfter: number;
  constructor(init: KvErrorInit) {
    super(init);
    this.name = 'KvRateLimitedError';
    this.retryAfter = typeof init.body?.retryAfter === 'number' ? init.body.retryAfter : 1;
  }
}

/** 500 `internal`: a bug in the server; `requestId` finds its log line. */
export class KvInternalError extends KvError {
  constructor(init: KvErrorInit) {
    super(init);
    this.name = 'KvInternalError';
  }
}

/**
 * 503 `unavailable`: the store could not be reached. A write that got this may or may not have been
 * applied; the client retries only requests that are safe to repeat.
 */
export class KvUnavailableError extends KvError {
  constructor(init: KvErrorInit) {
    super(init);
    this.name = 'KvUnavailableError';
  }
}

/**
 * No answer: the connection failed, was cut, or the attempt ran past `timeoutMs` (`timedOut`).
 * A write may or may not have been applied. `status` is 0, `code` `network_error`.
 */
export class KvNetworkError extends KvError {
  /** True when the attempt ran past the client's `timeoutMs`. */
  readonly timedOut: boolean;
  constructor(message: string, options: { cause?: unknown; timedOut?: boolean } = {}) {
    super({ status: 0, code: 'network_error', message });
    this.name = 'KvNetworkError';
    this.timedOut = options.timedOut ?? false;
    if (options.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

type ErrorClass = new (init: KvErrorInit) => KvError;

/** Each code's class: the one table the client picks an error class from. */
const ERROR_CLASSES: Record<KvErrorCode, ErrorClass> = {
  invalid_request: KvInvalidRequestError,
  invalid_json: KvInvalidJsonError,
  invalid_key: KvInvalidKeyError,
  unauthorized: KvUnauthorizedError,
  forbidden: KvForbiddenError,
  quota_exceeded: KvQuotaExceededError,
  not_found: KvNotFoundError,
  type_mismatch: KvTypeMismatchError,
  precondition_failed: KvPreconditionFailedError,
  value_too_large: KvValueTooLargeError,
  unsupported_media_type: KvUnsupportedMediaTypeError,
  rate_limited: KvRateLimitedError,
  internal: KvInternalError,
  unavailable: KvUnavailableError,
};

/** The statuses the API answers with one code only. */
const CODE_OF_STATUS: Partial<Record<number, KvErrorCode>> = {
  401: 'unauthorized',
  404: 'not_found',
  409: 'type_mismatch',
  412: 'precondition_failed',
  413: 'value_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  500: 'internal',
  503: 'unavailable',
};

/**
 * The error for an answer: its code's class when the body is the API's error envelope, else a
 * plain KvError (`http_<status>`) carrying the start of the body as its message — except an answer
 * without a body (HEAD) whose status has one code, which gets that code's class.
 */
export function errorFromResponse(status: number, bodyText: string, requestId: string | null): KvError {
  let error: Record<string, unknown> | undefined;
  try {
    const parsed = JSON.parse(bodyText) as { error?: unknown };
    if (parsed && typeof parsed.error === 'object' && parsed.error !== null) error = parsed.error as Record<string, unknown>;
  } catch {
    error = undefined;
  }
  if (error && typeof error.code === 'string') {
    const message = typeof error.message === 'string' ? error.message : error.code;
    const init: KvErrorInit = { status, code: error.code, message, requestId, body: error };
    const ErrorClass = Object.prototype.hasOwnProperty.call(ERROR_CLASSES, error.code)
      ? ERROR_CLASSES[error.code as KvErrorCode]
      : KvError;
    return new ErrorClass(init);
  }
  const text = bodyText.trim().slice(0, 200);
  // No body at all (an answer to HEAD): a status that has one code stands for it.
  const code = text === '' ? CODE_OF_STATUS[status] : undefined;
  if (code) return new ERROR_CLASSES[code]({ status, code, message: `HTTP ${status}`, requestId });
  return new KvError({ status, code: `http_${status}`, message: text || `HTTP ${status}`, requestId });
}
