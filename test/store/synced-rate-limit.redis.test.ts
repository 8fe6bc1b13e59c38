// The account rate-limit counters replicas keep in process and add to Redis every sync interval:
// exact within a replica, shared across replicas after one interval, the overshoot bounded, and
// nothing lost while Redis cannot be reached.

import type { ClientRateLimitInfo, Options } from 'express-rate-limit';
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

async function hits(store: SyncedRateLimitStore, key: string, n: number): Promise<number> {
  let total = 0;
  for (let i = 0; i < n; i++) total = (await store.increment(key)).totalHits;
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

  it('counts every hit within a replica before it answers, from memory (no promise) when no limit is near', async () => {
    const store = replica();
    await windowStart();
    const key = randomId('acc');
    const results = Array.from({ length: 25 }, () => store.increment(key) as ClientRateLimitInfo);
    expect(results.map((result) => result.totalHits)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(results[0].resetTime!.getTime() % WINDOW_MS).toBe(0);
    expect(results[0].resetTime!.getTime()).toBeGreaterThan(Date.now());
    await store.shutdown();
  });

  it("gives a replica the others' hits with its first sync after its own first hit", async () => {
    const errors: unknown[] = [];
    const a = replica(SYNC_MS, (error) => errors.push(error));
    const b = replica(SYNC_MS, (error) => errors.push(error));
    const key = randomId('acc');
    await windowStart();
    expect(await hits(a, key, 40)).toBe(40);
    await waitFor(async () => Number(await redis.client.get(`${prefix}${key}:${Math.floor(Date.now() / WINDOW_MS)}`)) === 40, {
      what: "a's hits to reach Redis",
      timeoutMs: 400,
    });
    // b has heard nothing yet: its first hit is answered from what it knows (the overshoot).
    expect((await b.increment(key)).totalHits).toBe(1);
    // Its sync brings back a's 40.
    await waitFor(() => b.get(key).totalHits === 41, { what: "b to learn of a's hits", timeoutMs: 400 });
    // And a learns of b's hit with its own next sync.
    expect((await a.increment(key)).totalHits).toBe(41);
    await waitFor(() => a.get(key).totalHits === 42, { what: "a to learn of b's hit", timeoutMs: 400 });
    expect(errors).toEqual([]);
    await Promise.all([a.shutdown(), b.shutdown()]);
  });

  it('without a limit set, lets simultaneous bursts on each replica each reach the limit from memory', async () => {
    const limit = 50;
    const replicas = [replica(), replica(), replica()];
    const key = randomId('acc');
    await windowStart();
    const admitted: number[] = [];
    for (const store of replicas) {
      let n = 0;
      while ((await store.increment(key)).totalHits <= limit) n++;
      admitted.push(n);
    }
    expect(admitted).toEqual([limit, limit, limit]);
    await sleep(3 * SYNC_MS);
    // The last replica to sync heard every hit (refused ones are counted too, as express-rate-limit counts them).
    const seen = replicas.map((store) => store.get(key).totalHits).sort((x, y) => x - y);
    expect(seen[2]).toBe(3 * (limit + 1));
    await Promise.all(replicas.map((store) => store.shutdown()));
  });

  it('counts in Redis before answering from half the limit on, so simultaneous bursts overshoot by at most (replicas − 1) × limit / 2', async () => {
    const limit = 40;
    const replicas = [replica(), replica(), replica()];
    const key = randomId('acc');
    await windowStart();
    const window = Math.floor(Date.now() / WINDOW_MS);
    // Every replica hammers the same account at once, each until it refuses.
    const admitted = await Promise.all(
      replicas.map(async (store) => {
        let n = 0;
        for (;;) {
          store.setLimit(key, limit);
          if ((await store.increment(key)).totalHits > limit) return n;
          n++;
        }
      }),
    );
    const total = admitted.reduce((sum, n) => sum + n, 0);
    expect(total).toBeGreaterThanOrEqual(limit);
    expect(total).toBeLessThanOrEqual(limit + ((replicas.length - 1) * limit) / 2);
    // Past half the limit each hit was in Redis before its answer: Redis holds at least the limit.
    expect(Number(await redis.client.get(`${prefix}${key}:${window}`))).toBeGreaterThan(limit);
    await Promise.all(replicas.map((store) => store.shutdown()));
  });

  it('answers from memory below half the limit and from the shared count above it', async () => {
    const store = replica();
    const key = randomId('acc');
    await windowStart();
    const window = Math.floor(Date.now() / WINDOW_MS);
    const answers: boolean[] = [];
    for (let i = 0; i < 6; i++) {
      store.setLimit(key, 8);
      const result = store.increment(key);
      answers.push(result instanceof Promise);
      await result;
    }
    expect(answers).toEqual([false, false, false, false, true, true]);
    // The fifth hit sent the first five; the sixth its own.
    expect(await redis.client.get(`${prefix}${key}:${window}`)).toBe('6');
    await store.shutdown();
  });

  it('adds each hit to Redis exactly once, in one call per account and interval', async () => {
    const store = replica();
    const key = randomId('acc');
    await windowStart();
    const window = Math.floor(Date.now() / WINDOW_MS);
    await hits(store, key, 30);
    await sleep(3 * SYNC_MS);
    await hits(store, key, 12);
    await store.shutdown();
    expect(await redis.client.get(`${prefix}${key}:${window}`)).toBe('42');
    const ttl = await redis.client.pttl(`${prefix}${key}:${window}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(2 * WINDOW_MS);
  });

  it('sends the hits of a window to its own counter even when the next window has begun before the sync', async () => {
    const store = replica(800);
    const key = randomId('acc');
    await windowStart();
    await sleep(600);
    const first = Math.floor(Date.now() / WINDOW_MS);
    await hits(store, key, 3);
    // The next window's first hit comes before the sync (800 ms after the first hits).
    await sleep(WINDOW_MS - (Date.now() % WINDOW_MS) + 50);
    expect((await store.increment(key)).totalHits).toBe(1);
    await waitFor(async () => (await redis.client.get(`${prefix}${key}:${first + 1}`)) === '1', { what: 'the sync', timeoutMs: 2000 });
    expect(await redis.client.get(`${prefix}${key}:${first}`)).toBe('3');
    await store.shutdown();
  });

  it('keeps counting locally while Redis cannot be reached, and reports it', async () => {
    // A real client to a port nothing listens on: every sync fails.
    const down = new Redis({ port: 1, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    const errors: unknown[] = [];
    const failing = createSyncedRedisRateLimitStore(down, prefix, SYNC_MS, (error) => errors.push(error));
    failing.init({ windowMs: WINDOW_MS } as Options);
    const key = randomId('acc');
    await windowStart();
    expect(await hits(failing, key, 10)).toBe(10);
    await waitFor(() => expect(errors.length).toBeGreaterThan(0), { what: 'a failed sync to be reported', timeoutMs: 2000 });
    // The hits are still counted locally.
    expect(failing.get(key).totalHits).toBe(10);
    expect((await failing.increment(key)).totalHits).toBe(11);
    failing.resetKey(key);
    down.disconnect();
  });
});
