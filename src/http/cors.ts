// CORS for browsers (KV_CORS_ORIGINS): preflights answered before authentication and rate limits.

import type { RequestHandler } from 'express';
import { AppError } from '../errors';

/** Request headers a browser may send: credentials, the body type, conditions, and watch resumption. */
export const CORS_ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'If-Match', 'If-None-Match', 'Last-Event-ID'];
/** Response headers a browser script may read. */
export const CORS_EXPOSED_HEADERS = ['ETag', 'RateLimit', 'RateLimit-Policy', 'Retry-After', 'X-Request-Id'];
const ALLOWED_METHODS = 'GET, HEAD, PUT, POST, PATCH, DELETE';
/**
 * Browsers cache a preflight this long (seconds), so a plain call costs one request, not two.
 * Conditional requests (If-Match, If-None-Match) are preflighted every time by the Fetch rules.
 */
const PREFLIGHT_MAX_AGE = 600;

/**
 * The CORS middleware for `origins` ('*' for any origin), or undefined when none are allowed (no
 * CORS headers at all, as without this setting). API keys travel in the Authorization header,
 * never in cookies, so no credentials mode is offered: with '*', any page may call the API with a
 * key it holds, which is what a public API key model means. A preflight (OPTIONS with
 * Access-Control-Request-Method) is answered here, 204 for an allowed origin and 403 `forbidden`
 * for another; an actual request from another origin is served without CORS headers, so the
 * browser withholds the answer from the page.
 */
export function cors(origins: string[] | '*'): RequestHandler | undefined {
  if (origins !== '*' && origins.length === 0) return undefined;
  const allowed = (origin: string) => origins === '*' || origins.includes(origin);
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (origins !== '*') res.vary('Origin');
    const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    if (origin === undefined || !allowed(origin)) {
      if (preflight) throw new AppError('forbidden', 'This origin may not call the API from a browser (KV_CORS_ORIGINS).');
      return next();
    }
    res.setHeader('Access-Control-Allow-Origin', origins === '*' ? '*' : origin);
    if (!preflight) {
      res.setHeader('Access-Control-Expose-Headers', CORS_EXPOSED_HEADERS.join(', '));
      return next();
    }
    res.setHeader('Access-Control-Allow-Methods', ALLOWED_METHODS);
    res.setHeader('Access-Control-Allow-Headers', CORS_ALLOWED_HEADERS.join(', '));
    res.setHeader('Access-Control-Max-Age', String(PREFLIGHT_MAX_AGE));
    res.status(204).end();
  };
}
