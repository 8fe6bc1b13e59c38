// Retrying contended requests in tests: exponential backoff with full jitter, so clients that
// collide (412, 429, 503) spread out instead of retrying in lockstep and making O(clients²) requests.

export interface BackoffOptions {
  /** The ceiling of the first delay; it doubles with each attempt. Defaults to 5 ms. */
  baseMs?: number;
  /** The largest ceiling. Defaults to 250 ms. */
  maxMs?: number;
}

/**
 * The delay before retry `attempt` (0 for the first retry): uniformly random between 0 and
 * min(maxMs, baseMs · 2^attempt) ("full jitter").
 */
export function backoffDelay(attempt: number, { baseMs = 5, maxMs = 250 }: BackoffOptions = {}): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.random() * ceiling;
}

/** Waits backoffDelay(attempt, options). */
export function backoff(attempt: number, options: BackoffOptions = {}): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt, options)));
}
