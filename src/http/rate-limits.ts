// Per-account read and write rate limits, and the per-IP throttle on failed authentication.

import type { Request, RequestHandler, Response } from 'express';
import { rateLimit, type RateLimitInfo, type Store } from 'express-rate-limit';
import type { Logger } from 'pino';
import { rateLimited } from '../errors';
import { authContext } from './auth';

/** Makes the store for one limiter; `name` keeps the limiters' counters apart. */
export type RateLimitStoreFactory = (name: string) => Store;

/** 429 in the error envelope, with Retry-After (set here when the limiter sends no headers itself). */
function limitedHandler(req: Request, res: Response, next: (error: unknown) => void) {
  const resetTime = (req as Request & { rateLimit?: RateLimitInfo }).rateLimit?.resetTime;
  const retryAfter = resetTime ? Math.max(1, Math.ceil((resetTime.getTime() - Date.now()) / 1000)) : 1;
  if (!res.hasHeader('Retry-After')) res.setHeader('Retry-After', String(retryAfter));
  next(rateLimited(Number(res.getHeader('Retry-After'))));
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
    handler: limitedHandler,
    logger: limiterLogger(logger),
  });
}

/**
 * Counts only failed authentications (401) per client IP, so guessing keys is throttled to
 * `perMinute` attempts; past that the IP gets 429 for the rest of the minute, whatever it sends.
 * `isKnownGood` skips requests whose credentials are known-good already, so normal traffic pays
 * nothing. passOnStoreError: true for the same reason as above.
 */
export function authFailureLimit(
  perMinute: number,
  createStore: RateLimitStoreFactory,
  logger: Logger,
  isKnownGood: (req: Request) => boolean,
): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit: perMinute,
    // No RateLimit headers: they would describe this throttle on every ordinary request.
    standardHeaders: false,
    legacyHeaders: false,
    skip: isKnownGood,
    skipSuccessfulRequests: true,
    requestWasSuccessful: (_req, res) => res.statusCode !== 401,
    store: createStore('auth-failures'),
    passOnStoreError: true,
    handler: limitedHandler,
    logger: limiterLogger(logger),
  });
}
