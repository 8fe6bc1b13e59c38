// The Redis the tests use: whether there is one, a describe that skips without it, and stores
// isolated by a random key prefix that is cleaned up by SCAN + UNLINK (never FLUSHALL/FLUSHDB).
// The redis jest project uses standalone Redis (REDIS_URL); the cluster and sentinel projects the
// groups their global setups started (KV_TEST_REDIS_TOPOLOGY names which).

import type { RedisConnection } from '../../src/config';
import { primaries } from '../../src/store/redis/connection';
import { RedisStore } from '../../src/store/redis/redis-store';
import { randomPrefix } from './ids';
import { GROUP_ENV, type RedisTopology } from './redis-groups';

/** The Redis topology this jest project tests. */
export const redisTopology: RedisTopology = (process.env.KV_TEST_REDIS_TOPOLOGY as RedisTopology | undefined) ?? 'standalone';

/** How tests reach this project's Redis, or undefined when there is none here. */
export function testRedisConnection(): RedisConnection | undefined {
  if (redisTopology === 'standalone') return process.env.REDIS_URL ? { kind: 'standalone', url: process.env.REDIS_URL, tls: false } : undefined;
  const saved = process.env[GROUP_ENV[redisTopology]];
  return saved ? (JSON.parse(saved) as RedisConnection) : undefined;
}

/** `connection`, else a standalone `url`, else this project's Redis. */
export function resolveTestConnection(options: { url?: string; connection?: RedisConnection }): RedisConnection {
  if (options.connection) return options.connection;
  return options.url ? { kind: 'standalone', url: options.url, tls: false } : testRedisConnection()!;
}

/** True when there is a Redis of this project's Redis topology; otherwise KV_TEST_NO_REDIS says why not. */
export const hasRedis = testRedisConnection() !== undefined;

/** `describe` when there is a Redis, otherwise a describe whose tests are reported as skipped. */
export const describeRedis = hasRedis ? describe : describe.skip;

export interface TestRedisStoreOptions {
  /** Share a prefix with another test store, to act as a second replica of one deployment. Defaults to a random one. */
  prefix?: string;
  /** A Redis of the test's own (standalone). Defaults to this project's Redis. */
  url?: string;
  /** A Redis of the test's own, of any Redis topology. */
  connection?: RedisConnection;
  /** Defaults to 2000. */
  commandTimeoutMs?: number;
}

const prefixes = new WeakMap<RedisStore, string>();

/** A RedisStore under a fresh `kvtest-<random>` prefix, connected. Pair with destroyTestRedisStore. */
export async function createTestRedisStore(options: TestRedisStoreOptions = {}): Promise<RedisStore> {
  const prefix = options.prefix ?? randomPrefix();
  const store = new RedisStore({
    connection: resolveTestConnection(options),
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

/** Every Redis key under the store's prefix, as raw bytes (SCAN MATCH `<prefix>:*` on every primary). */
export async function scanTestKeys(store: RedisStore): Promise<Buffer[]> {
  const pattern = `${store.keys.prefix}:*`;
  const keys: Buffer[] = [];
  for (const node of primaries(store.client)) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scanBuffer(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next.toString();
      keys.push(...batch);
    } while (cursor !== '0');
  }
  return keys;
}

/** Deletes every Redis key under the store's prefix, then closes the store. */
export async function destroyTestRedisStore(store: RedisStore): Promise<void> {
  try {
    const keys = await scanTestKeys(store);
    // One key per UNLINK: on a Cluster the keys of different accounts live in different slots.
    for (let i = 0; i < keys.length; i += 500) await Promise.all(keys.slice(i, i + 500).map((key) => store.client.unlink(key)));
  } finally {
    await store.close();
  }
}
