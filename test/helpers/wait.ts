// Waiting in tests: a plain sleep, and retrying an assertion until it holds or time is up.

import { backoff } from './retry';

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Retries the assertion until it passes or the time is up, then fails with its last error. Waits
 * between attempts back off with jitter from `intervalMs` up to ten times that.
 */
export async function eventually(assertion: () => Promise<void> | void, timeoutMs: number, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      await assertion();
      return;
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      await backoff(attempt, { baseMs: intervalMs, maxMs: intervalMs * 10 });
    }
  }
}
