// Waiting in tests: a plain sleep, and the one way to poll until something holds or time is up.

/** Resolves after `ms`: for a pause a test means (a TTL to run out); to wait for a condition, use waitFor. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** How long waitFor polls, how often, and what for. */
export interface WaitOptions {
  /** What is awaited, for the timeout error: "timed out after 5000 ms waiting for <what>". */
  what: string;
  /** No new attempt starts after this long. */
  timeoutMs: number;
  /** The pause between attempts. Defaults to 50 ms. */
  intervalMs?: number;
}

/**
 * Calls `condition` until it holds, and returns what it returned then. It does not hold yet while
 * it throws (a failing `expect`, a refused connection) or returns `false`; anything else holds.
 * It is always called at least once; once `timeoutMs` has passed without it holding, this rejects
 * with an error that names `what` and carries the last error `condition` threw as its cause.
 */
export async function waitFor<T>(condition: () => T | Promise<T>, { what, timeoutMs, intervalMs = 50 }: WaitOptions): Promise<Exclude<T, false>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let lastError: unknown;
    try {
      const value = await condition();
      if (value !== false) return value as Exclude<T, false>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const last = lastError instanceof Error ? `; last: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last}`, { cause: lastError });
    }
    await sleep(intervalMs);
  }
}
