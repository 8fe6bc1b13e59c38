// A KvStore wrapper that times every operation and counts refused conditional writes.

import type { Metrics } from '../metrics';
import type { CommitOutcome, DeleteOutcome, KvStore, SetOutcome } from './types';

type AsyncMethods<T> = { [K in keyof T]: T[K] extends (...args: never[]) => Promise<unknown> ? K : never }[keyof T];

const TIMED: AsyncMethods<KvStore>[] = [
  'getItem',
  'setItem',
  'setItems',
  'deleteItem',
  'listItems',
  'countKeys',
  'commit',
  'getItems',
  'createAccount',
  'getAccount',
  'updateAccountLimits',
  'createApiKey',
  'listApiKeys',
  'findApiKey',
  'revokeApiKey',
  'listAccounts',
  'deleteAccount',
  'ping',
];

/** The same store, reporting to `metrics`. Calls and results pass through unchanged. */
export function instrumentStore(store: KvStore, metrics: Metrics): KvStore {
  const instrumented: KvStore = Object.create(store);
  instrumented.onInvalidate = store.onInvalidate.bind(store);
  instrumented.close = store.close.bind(store);
  for (const operation of TIMED) {
    const original = (store[operation] as (...args: unknown[]) => Promise<unknown>).bind(store);
    (instrumented as unknown as Record<string, unknown>)[operation] = async (...args: unknown[]) => {
      const started = performance.now();
      try {
        const result = await original(...args);
        metrics.observeStore(store.kind, operation, 'ok', (performance.now() - started) / 1000);
        if (operation === 'setItem' || operation === 'deleteItem' || operation === 'commit') {
          countConflict(metrics, operation, result as SetOutcome | DeleteOutcome | CommitOutcome);
        }
        return result;
      } catch (error) {
        metrics.observeStore(store.kind, operation, 'error', (performance.now() - started) / 1000);
        throw error;
      }
    };
  }
  return instrumented;
}

function countConflict(metrics: Metrics, operation: string, outcome: SetOutcome | DeleteOutcome | CommitOutcome): void {
  if (!outcome.ok && (outcome.reason === 'exists' || outcome.reason === 'version_mismatch' || outcome.reason === 'checks_failed')) {
    metrics.writeConflicts.inc({ operation, reason: outcome.reason });
  }
}
