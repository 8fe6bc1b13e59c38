// One request to the API over fetch: headers, a time limit per attempt, the error classes, and retries
// (429 after Retry-After; 5xx and network failures only for requests that are safe to repeat).

import { errorFromResponse, KvError, KvNetworkError, KvRateLimitedError } from './errors';

/** A fetch function: the global one, or one of your own (a proxy agent, a test double). */
export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

/**
 * Retries. A 429 is always retried after its `Retry-After` (nothing was applied). A 502, 503, 504
 * or a network failure is retried only when the request is safe to repeat: reads, and writes with
 * a condition (`ifVersion`, `ifNotExists`, a commit whose checks cover every key it writes).
 * An unconditional write that failed that way is never sent again: it may have been applied.
 */
export interface RetryOptions {
  /** Retries after the first attempt. Defaults to 3. */
  retries?: number;
  /** The first backoff; it doubles on each retry, with full jitter. Defaults to 100 ms. */
  minDelayMs?: number;
  /** The longest backoff. Defaults to 2,000 ms. */
  maxDelayMs?: number;
  /** The longest `Retry-After` the client waits for; a longer one is thrown at once. Defaults to 60,000 ms. */
  maxRetryAfterMs?: number;
}

/** Where a Transport sends its calls, with which credential, and how it retries. */
export interface TransportOptions {
  /** The service's base URL, e.g. `https://kv.example.com` (a path prefix is kept). */
  url: string;
  /** `Authorization` header value (`Bearer …`). */
  authorization: string;
  fetch?: FetchFunction;
  /** `false`: no retries at all. */
  retry?: RetryOptions | false;
  /** Time limit of one attempt, until the whole answer is read (for streams: until its headers). Defaults to 30,000 ms; 0: none. */
  timeoutMs?: number;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
}

/** One call of the API. */
export interface Call {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  /** Below the base URL, already encoded: `/kv/items/a/b`. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
  body?: string;
  /** Defaults to application/json when there is a body. */
  contentType?: string;
  /** Safe to send again after a 5xx or a network failure (a read, or a conditional write). */
  idempotent: boolean;
  signal?: AbortSignal;
}

/** An answer read whole. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

const RETRYABLE_STATUSES = new Set([502, 503, 504]);

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Full jitter: a random wait up to min(max, min × 2^attempt). `attempt` counts from 0. */
export function backoffMs(attempt: number, minDelayMs: number, maxDelayMs: number): number {
  const ceiling = Math.min(maxDelayMs, minDelayMs * 2 ** attempt);
  return Math.round(Math.random() * ceiling);
}

/** Sends calls to one KV service with one credential. */
export class Transport {
  private readonly base: string;
  private readonly fetchFn: FetchFunction;
  readonly retry: Required<RetryOptions>;
  private readonly timeoutMs: number;

  constructor(private readonly options: TransportOptions) {
    if (typeof options.url !== 'string' || !/^https?:\/\//i.test(options.url)) {
      throw new TypeError('url must be an http(s) URL, e.g. http://localhost:8080');
    }
    this.base = options.url.replace(/\/+$/, '');
    // Looked up on each call and called on globalThis: browsers refuse a fetch detached from window.
    this.fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    const retry = options.retry === false ? { retries: 0 } : (options.retry ?? {});
    this.retry = {
      retries: retry.retries ?? 3,
      minDelayMs: retry.minDelayMs ?? 100,
      maxDelayMs: retry.maxDelayMs ?? 2000,
      maxRetryAfterMs: retry.maxRetryAfterMs ?? 60_000,
    };
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** The options this transport was made with (to make another with a different credential). */
  get settings(): TransportOptions {
    return this.options;
  }

  /** Sends the call (retrying as the policy allows) and reads the whole answer: 2xx or 304, else throws its KvError. */
  async send(call: Call): Promise<Answer> {
    return this.attempts(call, async (res) => ({ status: res.status, headers: res.headers, text: await res.text() }), false);
  }

  /**
   * Sends the call and returns the response as soon as its headers arrive, its body unread (a
   * stream). The time limit stops there; abort `call.signal` to close the stream.
   */
  async open(call: Call): Promise<Response> {
    return this.attempts(call, async (res) => res, true);
  }

  private url(call: Call): string {
    let url = this.base + call.path;
    if (call.query) {
      const params = new URLSearchParams();
      for (const [name, value] of Object.entries(call.query)) if (value !== undefined) params.set(name, String(value));
      const query = params.toString();
      if (query) url += `?${query}`;
    }
    return url;
  }

  private async attempts<T>(call: Call, read: (res: Response) => Promise<T>, stream: boolean): Promise<T> {
    const url = this.url(call);
    const headers: Record<string, string> = {
      Accept: 'application/json',
      ...this.options.headers,
      ...call.headers,
      Authorization: this.options.authorization,
    };
    if (call.body !== undefined) headers['Content-Type'] = call.contentType ?? 'application/json';
    for (let attempt = 0; ; attempt++) {
      call.signal?.throwIfAborted();
      let error: KvError;
      let waitMs = 0;
      const controller = new AbortController();
      let timedOut = false;
      const timer =
        this.timeoutMs > 0
          ? setTimeout(() => {
              timedOut = true;
              controller.abort();
            }, this.timeoutMs)
          : undefined;
      const onAbort = () => controller.abort(call.signal!.reason);
      call.signal?.addEventListener('abort', onAbort, { once: true });
      let keepListener = false;
      try {
        let res: Response;
        try {
          res = await this.fetchFn(url, { method: call.method, headers, body: call.body, signal: controller.signal });
        } catch (cause) {
          throw this.failure(cause, call, timedOut);
        }
        if (res.ok || res.status === 304) {
          if (stream) {
            clearTimeout(timer);
            keepListener = true;
          }
          try {
            return await read(res);
          } catch (cause) {
            throw this.failure(cause, call, timedOut);
          }
        }
        let text: string;
        try {
          text = await res.text();
        } catch (cause) {
          throw this.failure(cause, call, timedOut);
        }
        error = errorFromResponse(res.status, text, res.headers.get('X-Request-Id'));
        const retryAfterMs = retryAfterSeconds(res.headers, error) * 1000;
        if (error instanceof KvRateLimitedError || res.status === 429) {
          if (retryAfterMs > this.retry.maxRetryAfterMs) throw error;
          // A little jitter, so that clients refused in the same window do not all return at the same instant.
          waitMs = retryAfterMs + backoffMs(0, Math.min(250, retryAfterMs / 4), this.retry.maxDelayMs);
        } else if (RETRYABLE_STATUSES.has(res.status) && call.idempotent) {
          waitMs = Math.max(retryAfterMs, backoffMs(attempt, this.retry.minDelayMs, this.retry.maxDelayMs));
        } else {
          throw error;
        }
      } catch (thrown) {
        if (!(thrown instanceof KvNetworkError) || !call.idempotent) throw thrown;
        error = thrown;
        waitMs = backoffMs(attempt, this.retry.minDelayMs, this.retry.maxDelayMs);
      } finally {
        clearTimeout(timer);
        if (!keepListener) call.signal?.removeEventListener('abort', onAbort);
      }
      if (attempt >= this.retry.retries) throw error;
      await sleep(waitMs, call.signal);
    }
  }

  /** What a thrown fetch or body read becomes: the caller's abort as it is, anything else a KvNetworkError. */
  private failure(cause: unknown, call: Call, timedOut: boolean): unknown {
    if (call.signal?.aborted) return call.signal.reason;
    if (cause instanceof KvError) return cause;
    if (timedOut) return new KvNetworkError(`${call.method} ${call.path}: no answer within ${this.timeoutMs} ms`, { cause, timedOut: true });
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new KvNetworkError(`${call.method} ${call.path}: ${reason}`, { cause });
  }
}

/** Seconds to wait: the Retry-After header (seconds or an HTTP date), else the body's retryAfter, else 0. */
function retryAfterSeconds(headers: Headers, error: KvError): number {
  const header = headers.get('Retry-After');
  if (header !== null) {
    const seconds = Number(header);
    if (Number.isFinite(seconds)) return Math.max(0, seconds);
    const date = Date.parse(header);
    if (!Number.isNaN(date)) return Math.max(0, (date - Date.now()) / 1000);
  }
  return typeof error.body.retryAfter === 'number' ? error.body.retryAfter : 0;
}
