// The account rate-limit counters replicas keep in process and add to Redis every sync interval:
// exact within a replica, shared across replicas after one interval, the overshoot bounded, and
// nothing lost while Redis cannot be reached.

import type { Options } from 'express-rate-limit';
import Redis from 'ioredis';
import { createSyncedRedisRateLimitStore } from '../../src/store/redis/rate-limit-store';
import type { SyncedRateLimitStore } from '../../src/store/synced-rate-limit-store';
import { randomId } from '../helpers/ids';
import { createTestRedisStore, describeRedis, destroyTestRedisStore } from '../helpers/redis';
import { sleep, waitFor } from '../helpers/wait';

const SYNC_MS = 50;
const WINDOW_MS = 1000;

/** Waits for the start of a fixed window, so a test's hits all fall into one window. */
async function windowStart(): Promise<void> {
  await sleep(WINDOW_MS - (Date.now() % WINDOW_MS) + 5);
}

function hits(store: SyncedRateLimitStore, key: string, n: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) total = store.increment(key).totalHits;
  return total;
}

describeRedis('synchronised rate-limit counters', () => {
  let redis: Awaited<ReturnType<typeof createTestRedisStore>>;
  let prefix: string;
  const replica = (syncMs = SYNC_MS, onError: (error: unknown) => void = () => undefined) => {
    const store = createSyncedRedisRateLimitStore(redis.client, prefix, syncMs, onError);
    store.init({ windowMs: WINDOW_MS } as Options);
    return store;
  };

  beforeAll(async () => {
    redis = await createTestRedisStore();
  });
  afterAll(() => destroyTestRedisStore(redis));
  beforeEach(() => {
    prefix = `${redis.keys.rateLimit(randomId('sync'))}`;
  });

  it('counts every hit within a replica before it answers, with no Redis call', async () => {
    const store = replica();
    await windowStart();
    const key = randomId('acc');
    const results = Array.from({ length: 25 }, () => store.increment(key));
    expect(results.map((result) => result.totalHits)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(results[0].resetTime!.getTime() % WINDOW_MS).toBe(0);
    expect(results[0].resetTime!.getTime()).toBeGreaterThan(Date.now());
    await store.shutdown();
  });

  it("gives a replica the others' hits one sync interval after its own first hit", async () => {
    const a = replica();
    const b = replica();
    const key = randomId('acc');
    await windowStart();
    expect(hits(a, key, 40)).toBe(40);
    await sleep(3 * SYNC_MS);
    // b has heard nothing yet: its first hit is answered from what it knows (the overshoot).
    expect(b.increment(key).totalHits).toBe(1);
    await sleep(3 * SYNC_MS);
    // Its sync brought back a's 40.
    expect(b.increment(key).totalHits).toBe(42);
    // And a learns of b's two hits with its own next sync.
    expect(a.increment(key).totalHits).toBe(41);
    await sleep(3 * SYNC_MS);
    expect(a.get(key).totalHits).toBe(43);
    await Promise.all([a.shutdown(), b.shutdown()]);
  });

  it('lets replicas together overshoot a limit by at most what each admits before its first sync', async () => {
    const limit = 50;
    const replicas = [replica(), replica(), replica()];
    const key = randomId('acc');
    await windowStart();
    // The worst case: every replica admits hits while its own view is under the limit, all at once.
    const admitted = replicas.map((store) => {
      let n = 0;
      while (store.increment(key).totalHits <= limit) n++;
      return n;
    });
    expect(admitted).toEqual([limit, limit, limit]);
    await sleep(3 * SYNC_MS);
    // Each replica's sync brought back the total at that moment; the last one's holds every hit
    // (the refused ones are counted too, as express-rate-limit counts them).
    const seen = replicas.map((store) => store.get(key).totalHits).sort((x, y) => x - y);
    expect(seen[2]).toBe(3 * (limit + 1));
    expect(seen[0]).toBeGreaterThan(limit);
    // No replica admits another hit in this window.
    for (const store of replicas) expect(store.increment(key).totalHits).toBeGreaterThan(limit);
    await Promise.all(replicas.map((store) => store.shutdown()));
  });

  it('adds each hit to Redis exactly once, in one call per account and interval', async () => {
    const store = replica();
    const key = randomId('acc');
    await windowStart();
    const window = Math.floor(Date.now() / WINDOW_MS);
    hits(store, key, 30);
    await sleep(3 * SYNC_MS);
    hits(store, key, 12);
    await store.shutdown();
    expect(await redis.client.get(`${prefix}${key}:${window}`)).toBe('42');
    const ttl = await redis.client.pttl(`${prefix}${key}:${window}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(2 * WINDOW_MS);
  });

  it('keeps counting locally while Redis cannot be reached, and reports it', async () => {
    // A real client to a port nothing listens on: every sync fails.
    const down = new Redis({ port: 1, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    const errors: unknown[] = [];
    const failing = createSyncedRedisRateLimitStore(down, prefix, SYNC_MS, (error) => errors.push(error));
    failing.init({ windowMs: WINDOW_MS } as Options);
    const key = randomId('acc');
    await windowStart();
    expect(hits(failing, key, 10)).toBe(10);
    await waitFor(() => expect(errors.length).toBeGreaterThan(0), { what: 'a failed sync to be reported', timeoutMs: 2000 });
    // The hits are still counted locally.
    expect(failing.get(key).totalHits).toBe(10);
    expect(failing.increment(key).totalHits).toBe(11);
    failing.resetKey(key);
    down.disconnect();
  });
});
