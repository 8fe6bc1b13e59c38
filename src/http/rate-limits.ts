// Per-account read and write rate limits, and the per-IP throttle on failed authentication.

import { createHash, randomUUID } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit, type ClientRateLimitInfo, type RateLimitInfo } from 'express-rate-limit';
import type { Logger } from 'pino';
import { rateLimited } from '../errors';
import { isAuthCheckLedger, LocalAuthCheckLedger, type AuthCheckLedger, type AuthCheckReservation } from '../store/auth-checks';
import { SyncedRateLimitStore } from '../store/synced-rate-limit-store';
import type { RateLimitStoreFactory } from '../store/types';
import { authContext } from './auth';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Told of every request a limiter refuses, by limiter name (for metrics). */
export type OnLimited = (limiter: string) => void;

/** 429 in the error envelope, with Retry-After: the seconds to the end of the window, at least 1. */
function limitedHandler(limiter: string, onLimited: OnLimited) {
  return (req: Request, res: Response, next: (error: unknown) => void) => {
    onLimited(limiter);
    // At least 1: express-rate-limit's own Retry-After is 0 when the window ends within the
    // millisecond, and "retry after 0 s" invites a client to spin.
    const resetTime = (req as Request & { rateLimit?: RateLimitInfo }).rateLimit?.resetTime;
    const retryAfter = resetTime ? Math.max(1, Math.ceil((resetTime.getTime() - Date.now()) / 1000)) : 1;
    res.setHeader('Retry-After', String(retryAfter));
    next(rateLimited(retryAfter));
  };
}

function limiterLogger(logger: Logger) {
  return {
    error: (error: unknown, message?: string) => logger.warn({ err: error }, message ?? 'rate limiter error'),
    warn: (error: unknown, message?: string) => logger.warn({ err: error }, message ?? 'rate limiter warning'),
  };
}

/** `report`, at most once per ten seconds: a shared store that is down fails every sync interval. */
function everyTenSeconds(report: (error: unknown) => void): (error: unknown) => void {
  let last = 0;
  return (error) => {
    if (Date.now() - last < 10_000) return;
    last = Date.now();
    report(error);
  };
}

/**
 * Writes the IETF draft-8 RateLimit and RateLimit-Policy headers of the request's count, byte for
 * byte what express-rate-limit's `standardHeaders: 'draft-8'` writes, with the partition key (a
 * SHA-256 of the account id) computed once per account instead of once per request. Nothing when
 * the counters could not be reached (the request went on uncounted).
 */
function rateLimitHeaders(name: string) {
  const partitionKeys = new Map<string, string>();
  const partitionKey = (key: string) => {
    let partition = partitionKeys.get(key);
    if (partition === undefined) {
      const hex = createHash('sha256').update(key).digest('hex').slice(0, 12);
      partition = Buffer.from(hex).toString('base64');
      if (partitionKeys.size >= 10_000) partitionKeys.clear();
      partitionKeys.set(key, partition);
    }
    return partition;
  };
  return (req: Request, res: Response) => {
    const info = (req as Request & { rateLimit?: RateLimitInfo & { key: string } }).rateLimit;
    if (!info || res.headersSent) return;
    const reset = info.resetTime ? Math.max(0, Math.ceil((info.resetTime.getTime() - Date.now()) / 1000)) : 1;
    res.setHeader('RateLimit', `"${name}"; r=${info.remaining}; t=${reset}`);
    res.setHeader('RateLimit-Policy', `"${name}"; q=${info.limit}; w=1; pk=:${partitionKey(info.key)}:`);
  };
}

/**
 * An account's read or write limiter: the middleware counts each request once; `charge` counts
 * the rest of a request that costs more than one (a commit counts one write per op, a batch read
 * one read per key), once its body says how many. It refuses with 429 when that passes the limit.
 */
export interface AccountLimiter {
  middleware: RequestHandler;
  charge: (res: Response, hits: number) => Promise<void>;
  /**
   * For long requests (an import): counts `hits` and, when that passes the limit, resolves only
   * once the window has ended, so the request goes on at the account's rate instead of failing.
   */
  pace: (res: Response, hits: number) => Promise<void>;
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
): AccountLimiter {
  const store = createStore(kind, {
    counting: 'synced',
    onSyncError: everyTenSeconds((error) => logger.warn({ err: error }, `rate limiter (${kind}): cannot add counts to the shared store; limiting per replica meanwhile`)),
  });
  const limitOf = (res: Response) => {
    const { limits } = authContext(res);
    return kind === 'reads' ? limits.readsPerSecond : limits.writesPerSecond;
  };
  const limiter = rateLimit({
    windowMs: 1000,
    limit: (_req, res) => limitOf(res),
    keyGenerator: (_req, res) => {
      const { accountId } = authContext(res);
      // A synchronised store counts in Redis near the limit: it needs to know where that is.
      if (store instanceof SyncedRateLimitStore) store.setLimit(accountId, limitOf(res));
      return accountId;
    },
    identifier: kind,
    // The draft-8 headers are written by `rateLimitHeaders`, the same bytes without a SHA-256 per request.
    standardHeaders: false,
    legacyHeaders: false,
    store,
    passOnStoreError: true,
    // Each request passes exactly one account limiter (reads or writes), each with its own store;
    // this check of that would cost every request a WeakMap entry.
    validate: { singleCount: false },
    handler: (req, res, next) => {
      writeHeaders(req, res);
      limited(req, res, next);
    },
    logger: limiterLogger(logger),
  });
  const limited = limitedHandler(kind, onLimited);
  const writeHeaders = rateLimitHeaders(kind);
  const middleware: RequestHandler = (req, res, next) =>
    limiter(req, res, (error?: unknown) => {
      if (error === undefined) writeHeaders(req, res);
      next(error);
    });

  /** Counts the hits; undefined when the counters cannot be reached (the request goes on, as in the middleware). */
  const count = async (res: Response, hits: number): Promise<ClientRateLimitInfo | undefined> => {
    const { accountId } = authContext(res);
    try {
      if (store instanceof SyncedRateLimitStore) return await store.incrementBy(accountId, hits);
      // Stores of express-rate-limit count one at a time; `hits` is bounded by the route (≤ 100).
      let info = await store.increment(accountId);
      for (let i = 1; i < hits; i++) info = await store.increment(accountId);
      return info;
    } catch (error) {
      logger.warn({ err: error }, `rate limiter (${kind}): store error, request let through`);
      return undefined;
    }
  };

  const pace = async (res: Response, hits: number): Promise<void> => {
    if (hits <= 0) return;
    const info = await count(res, hits);
    if (info?.resetTime && info.totalHits > limitOf(res)) await sleep(Math.max(0, info.resetTime.getTime() - Date.now()));
  };

  const charge = async (res: Response, hits: number): Promise<void> => {
    if (hits <= 0) return;
    const limit = limitOf(res);
    const info = await count(res, hits);
    if (!info) return;
    const resetSeconds = info.resetTime ? Math.max(0, Math.ceil((info.resetTime.getTime() - Date.now()) / 1000)) : 1;
    res.setHeader('RateLimit', `"${kind}"; r=${Math.max(0, limit - info.totalHits)}; t=${resetSeconds}`);
    if (info.totalHits > limit) {
      onLimited(kind);
      const retryAfter = Math.max(1, resetSeconds);
      res.setHeader('Retry-After', String(retryAfter));
      throw rateLimited(retryAfter);
    }
  };
  return { middleware, charge, pace };
}

const AUTH_FAILURE_WINDOW_MS = 60_000;
/** A check holds its reservation at most this long; one held longer (a crashed replica's) lapses. */
const AUTH_CHECK_HOLD_MS = 20_000;
/** How long a request waits for the checks in flight from its address before it is refused. */
const AUTH_CHECK_WAIT_MS = 10_000;

/**
 * Throttles key guessing per client IP: once an IP has failed authentication (401) `perMinute`
 * times in the current window (a fixed minute from its first failure), a request whose
 * credentials are not known-good is refused with 429 before they are checked. Requests with
 * credentials known-good from the cache cost nothing here.
 *
 * Under concurrency and across replicas: each check of unknown credentials first reserves a slot
 * for its IP, atomically (one Lua script in Redis, shared by the replicas; in process for the
 * embedded store). A slot is granted only while failures + checks in flight < perMinute, and on the
 * response it is given back (any status but 401) or turned into a failure (401), atomically too.
 * So at every moment failures + checks in flight <= perMinute, and an IP gets at most `perMinute`
 * 401s per window, however many requests it sends at once to however many replicas. The slack:
 * - the window is fixed, so across a window boundary an IP can get up to 2 x perMinute 401s
 *   within a short time (never more than perMinute in one window);
 * - a reservation lapses after AUTH_CHECK_HOLD_MS (20 s) so that a replica that crashed mid-check
 *   does not hold its slots for ever; a check still running then no longer counts, which gives
 *   one extra 401 per such check (a 401 comes right after one store lookup, bounded by the Redis
 *   command timeout, so this does not happen in practice);
 * - a request whose response is never sent (client gone) is counted only if its status is 401.
 *
 * A burst of valid requests with credentials not yet cached is never refused for being a burst:
 * a request that finds the budget filled by checks in flight (not by failures) waits, backing off
 * with jitter, until a slot is given back, and is refused with 429 (Retry-After: 1) only when
 * none comes within AUTH_CHECK_WAIT_MS (10 s). Valid checks give their slots back as they finish,
 * so such a burst is served at up to `perMinute` concurrent checks per IP.
 *
 * Store errors let the request through, for the reason given on accountRateLimit.
 */
export function authFailureLimit(
  perMinute: number,
  createStore: RateLimitStoreFactory,
  logger: Logger,
  isKnownGood: (req: Request) => boolean,
  onLimited: OnLimited,
): RequestHandler {
  const store = createStore('auth-failures', { counting: 'exact' });
  let ledger: AuthCheckLedger;
  if (isAuthCheckLedger(store)) ledger = store;
  else if (store.localKeys) ledger = new LocalAuthCheckLedger();
  else throw new Error('the failed-authentication throttle needs a store shared atomically by all replicas (Redis) or an in-process one');

  const refuse = (res: Response, retryAfterMs: number, message: string): never => {
    const retryAfter = Math.max(1, Math.ceil(retryAfterMs / 1000));
    res.setHeader('Retry-After', String(retryAfter));
    onLimited('auth-failures');
    throw rateLimited(retryAfter, message);
  };

  const checkUnknown = async (req: Request, res: Response, next: NextFunction) => {
    const client = ipKeyGenerator(req.ip ?? 'unknown');
    const token = randomUUID();
    const deadline = Date.now() + AUTH_CHECK_WAIT_MS;
    for (let attempt = 0; ; attempt++) {
      // Another request of the burst may have checked these credentials meanwhile.
      if (attempt > 0 && isKnownGood(req)) return next();
      let reservation: AuthCheckReservation;
      try {
        reservation = await ledger.reserveAuthCheck(client, token, perMinute, AUTH_CHECK_HOLD_MS);
      } catch (error) {
        logger.warn({ err: error }, 'auth failure limiter: store error, request let through');
        return next();
      }
      if (reservation.outcome === 'granted') break;
      if (reservation.outcome === 'refused') {
        refuse(res, reservation.retryAfterMs, 'Too many failed authentications from this address; retry later.');
      }
      if (Date.now() >= deadline) {
        refuse(res, 1000, 'Too many authentications in progress from this address; retry later.');
      }
      // Full jitter on an exponential backoff from 4 ms, capped at 100 ms.
      await sleep(Math.random() * Math.min(100, 4 * 2 ** attempt));
    }
    // Given back as soon as the outcome is known: when authentication passes (see
    // `authenticationPassed`), else when the response ends (a 401 counts as a failure). A long
    // response (a watch stream) must not hold its address's slot for as long as it lasts.
    let released = false;
    const release = (failed: boolean) => {
      if (released) return;
      released = true;
      ledger.releaseAuthCheck(client, token, failed, AUTH_FAILURE_WINDOW_MS).catch((error: unknown) =>
        logger.warn({ err: error }, 'auth failure limiter: could not release a check'),
      );
    };
    res.locals.releaseAuthCheck = release;
    res.once('close', () => release(res.statusCode === 401));
    next();
  };
  // Synchronous for known-good credentials (nearly every request): no promise, no microtask.
  return (req, res, next) => (isKnownGood(req) ? next() : checkUnknown(req, res, next));
}

/** After authentication: gives back the request's failed-authentication check, if it took one, as passed. */
export const authenticationPassed: RequestHandler = (_req, res, next) => {
  (res.locals.releaseAuthCheck as ((failed: boolean) => void) | undefined)?.(false);
  next();
};
