// Per-account read and write rate limits, and the per-IP throttle on failed authentication.

import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit, type Options, type RateLimitInfo, type Store } from 'express-rate-limit';
import type { Logger } from 'pino';
import { rateLimited } from '../errors';
import { authContext } from './auth';

/** Makes the store for one limiter; `name` keeps the limiters' counters apart. */
export type RateLimitStoreFactory = (name: string) => Store;

/** Told of every request a limiter refuses, by limiter name (for metrics). */
export type OnLimited = (limiter: string) => void;

/** 429 in the error envelope, with the Retry-After express-rate-limit has set. */
function limitedHandler(limiter: string, onLimited: OnLimited) {
  return (req: Request, res: Response, next: (error: unknown) => void) => {
    onLimited(limiter);
    const resetTime = (req as Request & { rateLimit?: RateLimitInfo }).rateLimit?.resetTime;
    const retryAfter = resetTime ? Math.max(1, Math.ceil((resetTime.getTime() - Date.now()) / 1000)) : 1;
    if (!res.hasHeader('Retry-After')) res.setHeader('Retry-After', String(retryAfter));
    next(rateLimited(Number(res.getHeader('Retry-After'))));
  };
}

function limiterLogger(logger: Logger) {
  return {
    error: (error: unknown, message?: string) => logger.warn({ err: error }, message ?? 'rate limiter error'),
    warn: (error: unknown, message?: string) => logger.warn({ err: error }, message ?? 'rate limiter warning'),
  };
}

/**
 * Fixed one-second windows per account, with IETF draft-8 RateLimit / RateLimit-Policy headers.
 *
 * passOnStoreError is true on purpose: rate limiting protects the service, it is not part of any
 * answer. When the counters cannot be reached the request goes on unlimited; if the store behind
 * the data is down too, that request fails on its own with 503. Failing closed would turn a
 * limiter hiccup (e.g. the shard holding the counter failing over) into an outage for accounts
 * whose data is still reachable.
 */
export function accountRateLimit(
  kind: 'reads' | 'writes',
  createStore: RateLimitStoreFactory,
  logger: Logger,
  onLimited: OnLimited,
): RequestHandler {
  return rateLimit({
    windowMs: 1000,
    limit: (_req, res) => {
      const { limits } = authContext(res);
      return kind === 'reads' ? limits.readsPerSecond : limits.writesPerSecond;
    },
    keyGenerator: (_req, res) => authContext(res).accountId,
    identifier: kind,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    store: createStore(kind),
    passOnStoreError: true,
    handler: limitedHandler(kind, onLimited),
    logger: limiterLogger(logger),
  });
}

const AUTH_FAILURE_WINDOW_MS = 60_000;

/**
 * Throttles key guessing per client IP: a request whose credentials are not known-good is refused
 * with 429 before they are checked once its IP has failed authentication `perMinute` times in the
 * current minute. Only failures (401) are counted, after the response, so a burst of valid
 * requests is never throttled here; requests with credentials known-good from the cache cost
 * nothing. Store errors let the request through, for the reason given on accountRateLimit.
 */
export function authFailureLimit(
  perMinute: number,
  createStore: RateLimitStoreFactory,
  logger: Logger,
  isKnownGood: (req: Request) => boolean,
  onLimited: OnLimited,
): RequestHandler {
  const store = createStore('auth-failures');
  void Promise.resolve(store.init?.({ windowMs: AUTH_FAILURE_WINDOW_MS } as Options)).catch((error: unknown) =>
    logger.warn({ err: error }, 'auth failure limiter: store init failed'),
  );
  const failures = async (key: string) => (store.get ? await store.get(key) : undefined);

  return async (req, res, next) => {
    if (isKnownGood(req)) return next();
    const key = ipKeyGenerator(req.ip ?? 'unknown');
    const seen = await failures(key).catch((error: unknown) => {
      logger.warn({ err: error }, 'auth failure limiter: store error, request let through');
      return undefined;
    });
    if (seen && seen.totalHits >= perMinute && seen.resetTime && seen.resetTime.getTime() > Date.now()) {
      const retryAfter = Math.max(1, Math.ceil((seen.resetTime.getTime() - Date.now()) / 1000));
      res.setHeader('Retry-After', String(retryAfter));
      onLimited('auth-failures');
      throw rateLimited(retryAfter, 'Too many failed authentications from this address; retry later.');
    }
    res.once('finish', () => {
      if (res.statusCode !== 401) return;
      Promise.resolve(store.increment(key)).catch((error: unknown) =>
        logger.warn({ err: error }, 'auth failure limiter: could not count a failure'),
      );
    });
    next();
  };
}
