// The Redis the tests use: whether there is one, a describe that skips without it, and stores
// isolated by a random key prefix that is cleaned up by SCAN + UNLINK (never FLUSHALL/FLUSHDB).

import { RedisStore } from '../../src/store/redis/redis-store';
import { randomString } from './ids';

/** True when global-setup found a Redis (REDIS_URL); otherwise KV_TEST_NO_REDIS says why not. */
export const hasRedis = Boolean(process.env.REDIS_URL);

/** `describe` when there is a Redis, otherwise a describe whose tests are reported as skipped. */
export const describeRedis = hasRedis ? describe : describe.skip;

export interface TestRedisStoreOptions {
  /** Share a prefix with another test store, to act as a second replica of one deployment. Defaults to a random one. */
  prefix?: string;
  /** A Redis of the test's own. Defaults to REDIS_URL. */
  url?: string;
  /** Defaults to 2000. */
  commandTimeoutMs?: number;
}

const prefixes = new WeakMap<RedisStore, string>();

/** A RedisStore under a fresh `kvtest-<random>` prefix, connected. Pair with destroyTestRedisStore. */
export async function createTestRedisStore(options: TestRedisStoreOptions = {}): Promise<RedisStore> {
  const prefix = options.prefix ?? `kvtest-${randomString(12)}`;
  const store = new RedisStore({
    url: options.url ?? process.env.REDIS_URL!,
    prefix,
    commandTimeoutMs: options.commandTimeoutMs ?? 2000,
  });
  prefixes.set(store, prefix);
  try {
    await store.ready();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

/** The prefix a test store was created with. */
export function testRedisPrefix(store: RedisStore): string {
  const prefix = prefixes.get(store);
  if (prefix === undefined) throw new Error('not a store from createTestRedisStore');
  return prefix;
}

/** Every Redis key under the store's prefix, as raw bytes (SCAN MATCH `<prefix>:*`). */
export async function scanTestKeys(store: RedisStore): Promise<Buffer[]> {
  const pattern = `${store.keys.prefix}:*`;
  const keys: Buffer[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await store.client.scanBuffer(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next.toString();
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

/** Deletes every Redis key under the store's prefix, then closes the store. */
export async function destroyTestRedisStore(store: RedisStore): Promise<void> {
  try {
    const keys = await scanTestKeys(store);
    for (let i = 0; i < keys.length; i += 500) await store.client.unlink(...keys.slice(i, i + 500));
  } finally {
    await store.close();
  }
}
