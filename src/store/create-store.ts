// Picks the store the configuration names, with the rate-limit counters that belong to it.

import { MemoryStore } from 'express-rate-limit';
import type { StoreConfig } from '../config';
import type { RateLimitStoreFactory } from './types';
import type { KvStore } from './types';
import { createRedisRateLimitStore } from './redis/rate-limit-store';
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

export function createStore(config: StoreConfig, onConnectionChange?: RedisStoreOptions['onConnectionChange']): StoreSetup {
  if (config.kind === 'sqlite') {
    const store = new SqliteStore({ dataDir: config.dataDir });
    return {
      store,
      rateLimitStore: () => new MemoryStore(),
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
  });
  return {
    store,
    rateLimitStore: (name) => createRedisRateLimitStore(store.client, store.keys.rateLimit(name)),
    ready: (timeoutMs) => store.ready(timeoutMs),
    describe: { store: 'redis', topology: config.redis.kind, prefix: config.prefix },
  };
}
