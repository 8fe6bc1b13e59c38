// Stores for tests, of either kind: the kind this jest project runs (KV_TEST_STORE), isolated per test file.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inProcessRateLimitStores, redisRateLimitStores } from '../../src/store/create-store';
import type { RateLimitStoreFactory } from '../../src/store/types';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store';
import type { KvStore } from '../../src/store/types';
import { createTestRedisStore, destroyTestRedisStore, hasRedis, scanTestKeys, resolveTestConnection, testRedisPrefix, type TestRedisStoreOptions } from './redis';
import { connectionEnv } from './redis-groups';

export type StoreKind = 'redis' | 'sqlite';

/** The store this jest project tests (see jest.config.js); the embedded one by default. */
export const storeKind: StoreKind = process.env.KV_TEST_STORE === 'sqlite' || !process.env.KV_TEST_STORE ? 'sqlite' : 'redis';

/**
 * The topology project runs the HTTP suites through a load balancer in front of KV processes
 * (started by test/topology/global-setup.ts) instead of an app in this process.
 */
export const remoteBaseUrl = process.env.KV_TEST_STORE === 'topology' ? process.env.KV_TEST_BASE_URL : undefined;

/** `describe`, or skipped when this project's store (Redis, or the topology) is not available here. */
export const describeStore =
  (storeKind === 'redis' && !hasRedis) || (process.env.KV_TEST_STORE === 'topology' && !remoteBaseUrl) ? describe.skip : describe;

export interface TestStore {
  kind: StoreKind;
  store: KvStore;
  rateLimitStore: RateLimitStoreFactory;
  /** The environment that points a service process or loadConfig at this same data. */
  env: Record<string, string>;
  /** Every byte the store holds (key names, values, files), to prove what is never stored. */
  dump(): Promise<Buffer>;
  /** Cuts the store off: every operation fails as if its backend were unreachable. */
  cutOff(): Promise<void>;
  /** Deletes everything the store wrote and closes it. */
  destroy(): Promise<void>;
}

/**
 * A store of `kind` (this project's by default) that only this test uses: SQLite in a fresh temp
 * dir, or Redis under a random prefix on this project's Redis. `redis` points a Redis store at a
 * Redis of the test's own (`url`, `connection`) or at another store's data (`prefix`).
 */
export async function createTestStore(kind: StoreKind = storeKind, redis: TestRedisStoreOptions = {}): Promise<TestStore> {
  return kind === 'redis' ? createRedisTestStore(redis) : createSqliteTestStore();
}

async function createRedisTestStore(options: TestRedisStoreOptions): Promise<TestStore> {
  const connection = resolveTestConnection(options);
  const commandTimeoutMs = options.commandTimeoutMs ?? 2000;
  const store = await createTestRedisStore({ ...options, connection, commandTimeoutMs });
  const prefix = testRedisPrefix(store);
  let cutOff = false;
  return {
    kind: 'redis',
    store,
    // As the service counts: synchronised every 50 ms (KV_RATE_LIMIT_SYNC_MS's default).
    rateLimitStore: redisRateLimitStores(store, 50),
    env: { ...connectionEnv(connection), KV_REDIS_PREFIX: prefix, KV_REDIS_TIMEOUT_MS: String(commandTimeoutMs) },
    async dump() {
      const parts: Buffer[] = [];
      for (const name of await scanTestKeys(store)) {
        parts.push(name);
        const dumped = await store.client.dumpBuffer(name);
        if (dumped) parts.push(dumped);
      }
      return Buffer.concat(parts);
    },
    async cutOff() {
      // Closed, as by shutdown: the store never reconnects, so every operation fails at once.
      cutOff = true;
      await store.close();
    },
    async destroy() {
      if (cutOff) {
        // The keys written before the cut are deleted through a new store on the same prefix.
        await destroyTestRedisStore(await createTestRedisStore({ connection, prefix, commandTimeoutMs }));
        return;
      }
      await destroyTestRedisStore(store);
    },
  };
}

async function createSqliteTestStore(): Promise<TestStore> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvtest-'));
  const store = new SqliteStore({ dataDir });
  return {
    kind: 'sqlite',
    store,
    rateLimitStore: inProcessRateLimitStores,
    env: { KV_DATA_DIR: dataDir },
    async dump() {
      return Buffer.concat(
        fs.readdirSync(dataDir).map((name) => fs.readFileSync(path.join(dataDir, name))),
      );
    },
    async cutOff() {
      await store.close();
    },
    async destroy() {
      await store.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
