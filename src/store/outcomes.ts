// Store outcomes that are not successes, turned into the client's errors: one table for every store.

import { notFound, preconditionFailed, quotaExceeded, type AppError } from '../errors';
import type { DeleteOutcome, SetOutcome } from './types';

type Failure = Extract<SetOutcome | DeleteOutcome, { ok: false }>;

export function outcomeError(outcome: Failure): AppError {
  switch (outcome.reason) {
    case 'exists':
    case 'version_mismatch':
      return preconditionFailed(outcome.currentVersion);
    case 'quota_exceeded':
      return quotaExceeded(outcome.maxKeys);
    case 'not_found':
      return notFound();
  }
}
