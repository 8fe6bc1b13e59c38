// Picks the store the configuration names, with the rate-limit counters that belong to it.

import { MemoryStore } from 'express-rate-limit';
import type { StoreConfig } from '../config';
import type { RateLimitStoreFactory } from './types';
import type { KvStore } from './types';
import { createRedisRateLimitStore, createSyncedRedisRateLimitStore } from './redis/rate-limit-store';
import { RedisStore, type RedisStoreOptions } from './redis/redis-store';
import { SqliteStore } from './sqlite/sqlite-store';

export interface StoreSetup {
  store: KvStore;
  /** Redis counters shared by all replicas; in-process counters for the single embedded process. */
  rateLimitStore: RateLimitStoreFactory;
  /** Resolves once the store can serve; with Redis, once connected (it may not be yet). */
  ready(timeoutMs: number): Promise<void>;
  /** All accounts' live keys, where that is cheap to know (the embedded store); for /metrics. */
  keyCount?: () => Promise<number>;
  /** For the start-up log: which store, and where its data lives. */
  describe: Record<string, string>;
}

export function createStore(
  config: StoreConfig,
  onConnectionChange?: RedisStoreOptions['onConnectionChange'],
  changeLog = true,
): StoreSetup {
  if (config.kind === 'sqlite') {
    const store = new SqliteStore({ dataDir: config.dataDir, changeLog });
    return {
      store,
      rateLimitStore: inProcessRateLimitStores,
      ready: async () => undefined,
      keyCount: async () => store.countAllKeys(),
      describe: { store: 'sqlite', file: store.file },
    };
  }
  const store = new RedisStore({
    connection: config.redis,
    prefix: config.prefix,
    commandTimeoutMs: config.commandTimeoutMs,
    onConnectionChange,
    changeLog,
  });
  return {
    store,
    rateLimitStore: redisRateLimitStores(store, config.rateLimitSyncMs),
    ready: (timeoutMs) => store.ready(timeoutMs),
    describe: { store: 'redis', topology: config.redis.kind, prefix: config.prefix },
  };
}

/** One process, nothing to share: every limiter counts in memory, exactly. */
export const inProcessRateLimitStores: RateLimitStoreFactory = () => new MemoryStore();

/** Limiters' counters in `store`'s Redis; `synced` ones added every `syncMs` (0: every request counted in Redis). */
export function redisRateLimitStores(store: RedisStore, syncMs: number): RateLimitStoreFactory {
  return (name, { counting, onSyncError = () => undefined }) =>
    counting === 'synced' && syncMs > 0
      ? createSyncedRedisRateLimitStore(store.client, store.keys.rateLimit(name), syncMs, onSyncError)
      : createRedisRateLimitStore(store.client, store.keys.rateLimit(name));
}
