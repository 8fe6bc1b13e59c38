// RedisStore: the shared KvStore contract, plus what only Redis has — hash slots, native expiry,
// swept indexes and invalidations between replicas.

import type { RedisStore } from '../../src/store/redis/redis-store';
import type { Invalidation, ListedItem } from '../../src/store/types';
import { randomAccountId, randomId, randomString } from '../helpers/ids';
import { createTestRedisStore, describeRedis, destroyTestRedisStore, scanTestKeys, testRedisPrefix } from '../helpers/redis';
import { createTestStore } from '../helpers/stores';
import { describeStoreConformance } from './conformance';
import { sleep, waitFor } from '../helpers/wait';

// An ioredis dependency without type declarations: Redis Cluster's CRC16 slot of a key.
const keySlot = require('cluster-key-slot') as (key: string | Buffer) => number;

/** More expired keys than one sweep batch (100) collects. */
const EXPIRED_KEYS = 250;
const LIVE_KEYS = 5;



/** Writes EXPIRED_KEYS keys with a 1-second TTL and LIVE_KEYS without, interleaved; returns when the last one expires. */
async function writeMostlyExpiringKeys(store: RedisStore, accountId: string): Promise<{ liveKeys: string[]; lastExpiry: number }> {
  const liveKeys: string[] = [];
  const writes: Promise<number | null>[] = [];
  for (let i = 0; i < EXPIRED_KEYS + LIVE_KEYS; i++) {
    const key = `k${String(i).padStart(3, '0')}`;
    const live = i % 51 === 50;
    if (live) liveKeys.push(key);
    writes.push(
      store
        .setItem(accountId, key, { value: String(i), condition: { kind: 'none' }, maxKeys: 1_000_000, ...(live ? {} : { ttlSeconds: 2 }) })
        .then((outcome) => {
          if (!outcome.ok) throw new Error(`write of ${key} failed: ${JSON.stringify(outcome)}`);
          return outcome.item.expiresAt;
        }),
    );
  }
  const expiries = await Promise.all(writes);
  expect(liveKeys).toHaveLength(LIVE_KEYS);
  return { liveKeys, lastExpiry: Math.max(...expiries.map((expiresAt) => expiresAt ?? 0)) };
}

async function waitPast(ms: number): Promise<void> {
  const wait = ms - Date.now();
  if (wait > 3000) throw new Error(`refusing to wait ${wait} ms`);
  if (wait > 0) await sleep(wait + 50);
}

describeRedis('RedisStore', () => {
  describeStoreConformance('redis', () => createTestStore('redis'));

  describe('Redis specifics', () => {
    let store: RedisStore;

    beforeAll(async () => {
      store = await createTestRedisStore();
    });

    afterAll(async () => {
      if (store) await destroyTestRedisStore(store);
    });

    it('keeps every Redis key of an account in one hash slot', async () => {
      const own = await createTestRedisStore();
      try {
        const accountId = randomAccountId();
        const request = { condition: { kind: 'none' as const }, maxKeys: 1_000_000 };
        for (const key of ['plain', '{other}', 'a{b}c', '}{', 'x:y', '日本', '😀', `{${randomAccountId()}}`]) {
          await own.setItem(accountId, key, { ...request, value: '1' });
        }
        await own.setItem(accountId, 'ttl', { ...request, value: '1', ttlSeconds: 600 });
        await own.setItem(accountId, 'ttl2', { ...request, value: '1', ttlSeconds: 600, condition: { kind: 'absent' } });
        await own.setItem(accountId, 'gone', { ...request, value: '1', ttlSeconds: 600 });
        await own.deleteItem(accountId, 'gone', { kind: 'none' });
        await own.countKeys(accountId);
        await own.listItems(accountId, { prefix: '', limit: 100 });

        const keys = [...new Map((await scanTestKeys(own)).map((key) => [key.toString('hex'), key])).values()];

        expect(keys.length).toBeGreaterThanOrEqual(10);
        const slot = keySlot(`{${accountId}}`);
        const offSlot = keys.filter((key) => keySlot(key) !== slot).map((key) => key.toString('utf8'));
        expect(offSlot).toStrictEqual([]);
        for (const key of keys) expect(key.toString('utf8')).toContain(`{${accountId}}`);
      } finally {
        await destroyTestRedisStore(own);
      }
    });

    it('stores an item with a native expiry at exactly expiresAt', async () => {
      const accountId = randomAccountId();
      const request = { condition: { kind: 'none' as const }, maxKeys: 1_000_000 };
      const outcome = await store.setItem(accountId, 'k', { ...request, value: '1', ttlSeconds: 60 });
      if (!outcome.ok) throw new Error(JSON.stringify(outcome));
      const itemKey = store.keys.item(accountId, 'k');

      expect(await store.client.pexpiretime(itemKey)).toBe(outcome.item.expiresAt);

      await store.setItem(accountId, 'k', { ...request, value: '2', keepTtl: true });
      expect(await store.client.pexpiretime(itemKey)).toBe(outcome.item.expiresAt);

      await store.setItem(accountId, 'k', { ...request, value: '3' });
      expect(await store.client.pexpiretime(itemKey)).toBe(-1);
    });

    it.concurrent('keeps countKeys exact after more keys expire natively than one sweep collects', async () => {
      const accountId = randomAccountId();
      const { lastExpiry } = await writeMostlyExpiringKeys(store, accountId);
      expect(await store.countKeys(accountId)).toBe(EXPIRED_KEYS + LIVE_KEYS);

      await waitPast(lastExpiry);

      expect(await store.countKeys(accountId)).toBe(LIVE_KEYS);
      const indexKey = store.keys.index(accountId);
      const expiryKey = store.keys.expiry(accountId);
      const sizes: number[] = [await store.client.zcard(indexKey)];
      for (let call = 0; call < 5; call++) {
        expect(await store.countKeys(accountId)).toBe(LIVE_KEYS);
        sizes.push(await store.client.zcard(indexKey));
      }
      expect(sizes[sizes.length - 1]).toBe(LIVE_KEYS);
      expect(await store.client.zcard(expiryKey)).toBe(0);
      for (let i = 1; i < sizes.length; i++) expect(sizes[i]).toBeLessThanOrEqual(sizes[i - 1]);
    });

    it.concurrent('lists only live keys when more expired keys than one sweep collects wait in the index', async () => {
      const accountId = randomAccountId();
      const { liveKeys, lastExpiry } = await writeMostlyExpiringKeys(store, accountId);

      await waitPast(lastExpiry);

      const listed: ListedItem[] = [];
      let after: string | undefined;
      for (let page = 0; page < 200; page++) {
        const result = await store.listItems(accountId, { prefix: '', limit: 10, after });
        listed.push(...result.items);
        if (result.nextAfter === null) break;
        after = result.nextAfter;
      }
      expect(listed.map((item) => item.key)).toStrictEqual(liveKeys);
      expect(listed.every((item) => item.expiresAt === null)).toBe(true);
    });

    it.concurrent('refuses a create at the quota even while expired keys wait in the index', async () => {
      const accountId = randomAccountId();
      const { lastExpiry } = await writeMostlyExpiringKeys(store, accountId);
      const request = { value: '1', condition: { kind: 'none' as const }, maxKeys: LIVE_KEYS + 1 };
      await waitPast(lastExpiry);

      expect(await store.setItem(accountId, 'new-1', request)).toMatchObject({ ok: true, created: true });
      expect(await store.setItem(accountId, 'new-2', request)).toStrictEqual({
        ok: false,
        reason: 'quota_exceeded',
        maxKeys: LIVE_KEYS + 1,
      });
      expect(await store.countKeys(accountId)).toBe(LIVE_KEYS + 1);
    });

    it('tells another replica on the same prefix about a revoked API key within 1 second', async () => {
      const replica = await createTestRedisStore({ prefix: testRedisPrefix(store) });
      const events: Invalidation[] = [];
      const unsubscribe = replica.onInvalidate((event) => events.push(event));
      try {
        const accountId = randomAccountId();
        const hash = randomString(64);
        const apiKey = { id: randomId('key'), accountId, name: null, scopes: ['read' as const], createdAt: Date.now(), hash };
        await store.createAccount({ id: accountId, name: null, limitOverrides: {}, createdAt: Date.now() }, apiKey);

        // The replica subscribes in the background: wait until a message gets through before timing one.
        await waitFor(async () => {
          await store.updateAccountLimits(accountId, { maxKeys: 5 });
          await sleep(50);
          expect(events).toContainEqual({ kind: 'account', id: accountId });
        }, { what: 'the replica to receive invalidations', timeoutMs: 3000 });

        const revokedAt = Date.now();
        expect(await store.revokeApiKey(apiKey.id)).toBe(true);
        await waitFor(() => expect(events).toContainEqual({ kind: 'apiKey', hash }), { what: 'the apiKey invalidation', timeoutMs: 1000 });
        expect(Date.now() - revokedAt).toBeLessThan(1000);
        expect(await replica.findApiKey(hash)).toBeNull();
      } finally {
        unsubscribe();
        await replica.close();
      }
    });
  });
});
