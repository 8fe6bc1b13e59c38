// The failed-authentication ledger the auth throttle (http/rate-limits.ts) keeps per client address.

import type { Store } from 'express-rate-limit';

/** What reserving a credentials check for one client address gave. */
export type AuthCheckReservation =
  | { outcome: 'granted' }
  /** Failures and checks in flight fill the budget: try again once some of those checks are done. */
  | { outcome: 'busy' }
  /** Failures alone fill the budget of the current window, which ends in `retryAfterMs`. */
  | { outcome: 'refused'; retryAfterMs: number };

/**
 * The failed-authentication counts per client address, and the checks in flight from it, changed
 * atomically: a reservation is granted only while failures + checks in flight < limit, and a
 * release turns a check into a failure (or drops it) in one step. Shared by every replica when it
 * lives in Redis (rate-limit-store.ts); in process for the embedded store.
 */
export interface AuthCheckLedger {
  reserveAuthCheck(client: string, token: string, limit: number, holdMs: number): Promise<AuthCheckReservation>;
  releaseAuthCheck(client: string, token: string, failed: boolean, windowMs: number): Promise<void>;
}

export function isAuthCheckLedger(store: Store): store is Store & AuthCheckLedger {
  const candidate = store as Partial<AuthCheckLedger>;
  return typeof candidate.reserveAuthCheck === 'function' && typeof candidate.releaseAuthCheck === 'function';
}

/** The ledger of one process, for a store whose counters are in process (express-rate-limit's MemoryStore). */
export class LocalAuthCheckLedger implements AuthCheckLedger {
  private readonly clients = new Map<string, { failures: number; resetAt: number; checks: Map<string, number> }>();

  private entry(client: string, now: number) {
    let entry = this.clients.get(client);
    if (!entry) this.clients.set(client, (entry = { failures: 0, resetAt: 0, checks: new Map() }));
    if (entry.resetAt <= now) entry.failures = 0;
    for (const [token, expiresAt] of entry.checks) if (expiresAt <= now) entry.checks.delete(token);
    return entry;
  }

  private forgetIfEmpty(client: string, now: number): void {
    const entry = this.clients.get(client);
    if (entry && entry.checks.size === 0 && (entry.failures === 0 || entry.resetAt <= now)) this.clients.delete(client);
  }

  async reserveAuthCheck(client: string, token: string, limit: number, holdMs: number): Promise<AuthCheckReservation> {
    const now = Date.now();
    const entry = this.entry(client, now);
    if (entry.failures >= limit) return { outcome: 'refused', retryAfterMs: entry.resetAt - now };
    if (entry.failures + entry.checks.size >= limit) return { outcome: 'busy' };
    entry.checks.set(token, now + holdMs);
    return { outcome: 'granted' };
  }

  async releaseAuthCheck(client: string, token: string, failed: boolean, windowMs: number): Promise<void> {
    const now = Date.now();
    const entry = this.entry(client, now);
    entry.checks.delete(token);
    if (failed) {
      if (entry.failures === 0) entry.resetAt = now + windowMs;
      entry.failures++;
    }
    this.forgetIfEmpty(client, now);
  }
}
