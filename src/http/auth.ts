// API key authentication with an in-process cache that every replica invalidates within a second.

import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Config } from '../config';
import { effectiveLimits, type Limits } from '../limits';
import { forbidden, unauthorized } from '../errors';
import { hashApiKey, isApiKeyExpired, keyInScope, scopedListPrefix } from '../accounts';
import type { Account, ApiKeyInfo, KvStore, Scope } from '../store/types';

/** Who is calling: set on res.locals.auth by `authenticate`. */
export interface AuthContext {
  accountId: string;
  keyId: string;
  scopes: Scope[];
  /** The key reaches only item keys starting with this; null: every key of the account. */
  prefix: string | null;
  /** When the key stops working (epoch ms); null: never. */
  expiresAt: number | null;
  /** The account's effective limits: its overrides over the configured defaults. */
  limits: Limits;
}

/**
 * Lookups are cached this long (never past the key's expiresAt). Revocation and account deletion
 * also reach every replica over pub/sub at once; the TTL bounds how stale a replica can be if it
 * missed that message (e.g. while reconnecting).
 */
const CACHE_TTL_MS = 500;
const CACHE_MAX_ENTRIES = 10_000;

/**
 * The token's hash, kept on the request: the throttle and the authentication both need it (a
 * property, not a WeakMap entry: weak entries cost every garbage collection).
 */
const TOKEN_HASH = Symbol('kv.tokenHash');

interface CacheEntry {
  auth: AuthContext;
  expires: number;
}

/** The bearer token of the request, or undefined. */
export function bearerToken(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

export function authContext(res: Response): AuthContext {
  return res.locals.auth as AuthContext;
}

export class Authenticator {
  private readonly cache = new Map<string, CacheEntry>();

  constructor(
    private readonly store: Pick<KvStore, 'findApiKey' | 'onInvalidate'>,
    private readonly config: Pick<Config, 'limits'>,
  ) {
    store.onInvalidate((event) => {
      if (event.kind === 'all') this.cache.clear();
      else if (event.kind === 'apiKey') this.cache.delete(event.hash);
      else for (const [hash, entry] of this.cache) if (entry.auth.accountId === event.id) this.cache.delete(hash);
    });
  }

  /**
   * Middleware: 401 unless the request carries a known API key; sets res.locals.auth. Synchronous
   * when the key is in the cache (nearly every request): no promise, no microtask.
   */
  readonly authenticate: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
    const hash = this.tokenHash(req);
    if (!hash) throw unauthorized();
    const cached = this.cached(hash);
    if (cached) {
      res.locals.auth = cached;
      return next();
    }
    return this.lookup(hash).then((auth) => {
      if (!auth) throw unauthorized();
      res.locals.auth = auth;
      next();
    });
  };

  /**
   * Whether the key a request was authenticated with still works: not revoked, not expired, its
   * account not deleted. For requests that outlive their authentication (a watch stream, an
   * import); answered from the cache, which revocation and deletion clear at once.
   */
  async stillAuthenticated(req: Request): Promise<boolean> {
    const hash = this.tokenHash(req);
    return hash !== null && (await this.lookup(hash)) !== null;
  }

  /** True when the request's key is known-good from the cache: it is no key-guessing attempt. */
  isKnownKey(req: Request): boolean {
    const hash = this.tokenHash(req);
    return hash !== null && this.cached(hash) !== undefined;
  }

  private tokenHash(req: Request): string | null {
    const request = req as Request & { [TOKEN_HASH]?: string | null };
    let hash = request[TOKEN_HASH];
    if (hash === undefined) {
      const token = bearerToken(req);
      hash = token ? hashApiKey(token) : null;
      request[TOKEN_HASH] = hash;
    }
    return hash;
  }

  private cached(hash: string): AuthContext | undefined {
    const entry = this.cache.get(hash);
    return entry !== undefined && entry.expires > Date.now() ? entry.auth : undefined;
  }

  private async lookup(hash: string): Promise<AuthContext | null> {
    const cached = this.cached(hash);
    if (cached) return cached;
    const found = await this.store.findApiKey(hash);
    const now = Date.now();
    if (!found || isApiKeyExpired(found.apiKey, now)) {
      this.cache.delete(hash);
      return null;
    }
    const auth = toAuthContext(found.apiKey, found.account, this.config.limits);
    if (this.cache.size >= CACHE_MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value as string);
    // An entry lapses at the key's expiry at the latest, so no replica serves an expired key from it.
    this.cache.set(hash, { auth, expires: Math.min(now + CACHE_TTL_MS, found.apiKey.expiresAt ?? Infinity) });
    return auth;
  }
}

function toAuthContext(apiKey: ApiKeyInfo, account: Account, defaults: Limits): AuthContext {
  return {
    accountId: account.id,
    keyId: apiKey.id,
    scopes: apiKey.scopes,
    prefix: apiKey.prefix ?? null,
    expiresAt: apiKey.expiresAt ?? null,
    limits: effectiveLimits(defaults, account.limitOverrides),
  };
}

/** The 403 of a key restricted to a prefix, for an item key (or listing) outside it. */
const outsidePrefix = (prefix: string) => forbidden(`This API key reaches only keys starting with ${JSON.stringify(prefix)}.`);

/**
 * Throws 403 forbidden unless the request's key may reach every one of `keys` (all of them are
 * checked before anything is read or written, so a refused request changes nothing).
 */
export function requireKeysInScope(res: Response, keys: Iterable<string>): void {
  const { prefix } = authContext(res);
  if (prefix === null) return;
  for (const key of keys) if (!keyInScope(prefix, key)) throw outsidePrefix(prefix);
}

/**
 * The prefix a listing (list, watch, export) reads: `requested` narrowed to the key's prefix (see
 * scopedListPrefix); 403 forbidden when they do not overlap.
 */
export function listingPrefix(res: Response, requested: string | undefined): string {
  const { prefix } = authContext(res);
  const scoped = scopedListPrefix(prefix, requested);
  if (scoped === null) throw outsidePrefix(prefix!);
  return scoped;
}

/** Middleware: 403 forbidden unless the key has the scope. */
export function requireScope(scope: Scope): RequestHandler {
  return (_req, res, next) => {
    if (!authContext(res).scopes.includes(scope)) throw forbidden(`This API key lacks the "${scope}" scope.`);
    next();
  };
}
