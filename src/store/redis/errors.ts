// Which Redis failures mean "the store cannot be reached" (503) rather than a bug (500).

import { ReplyError } from 'ioredis';
import { StoreUnavailableError } from '../../errors';

/** Replies from a Redis that is up but cannot serve: loading, failing over, read-only, out of memory. */
const UNAVAILABLE_REPLIES = /^(LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY|NOREPLICAS|OOM|MOVED|ASK)\b/;

/**
 * Connection failures, timeouts and "cannot serve now" replies become StoreUnavailableError; any
 * other error reply (a script bug, a wrong type) stays as it is and becomes a 500.
 */
export function toStoreError(error: unknown): Error {
  if (error instanceof StoreUnavailableError) return error;
  if (error instanceof ReplyError && !UNAVAILABLE_REPLIES.test((error as Error).message)) return error as Error;
  return new StoreUnavailableError(error);
}
