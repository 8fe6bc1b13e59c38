// The rate limiter on a Redis whose script cache is empty (a cold Cluster, or a primary that took
// over after a failover): rate-limit-redis would send EVALSHA for a script it loaded elsewhere, or
// never; every request must still be counted, limited at the account's rate, and never fail. Item scripts
// must survive the same.

import request from 'supertest';
import { primaries } from '../../../src/store/redis/connection';
import type { RedisStore } from '../../../src/store/redis/redis-store';
import { createTestApp, type TestApp } from '../../helpers/app';
import { describeRedis } from '../../helpers/redis';

const ACCOUNTS = 6;
const READS_PER_SECOND = 5;

/** Empties the script cache of every primary: nothing is loaded anywhere. */
async function flushScripts(store: RedisStore): Promise<void> {
  await Promise.all(primaries(store.client).map((node) => node.script('FLUSH')));
}

describeRedis('rate limits on a cold script cache', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t?.close();
  });

  it('counts and limits every account, on whichever primary its counter lives', async () => {
    const accounts = await Promise.all(Array.from({ length: ACCOUNTS }, () => t.newAccount({ readsPerSecond: READS_PER_SECOND })));
    const store = t.store as RedisStore;

    for (const round of [1, 2]) {
      await flushScripts(store);
      // Item scripts too: the first write after the flush finds its script missing and still lands.
      for (const { apiKey } of accounts) {
        const put = await request(t.app).put('/kv/items/k').set('Authorization', `Bearer ${apiKey}`).send({ value: round });
        expect(put.status).toBe(round === 1 ? 201 : 200);
      }
      await flushScripts(store);
      // Each account's burst at once; its counter may live on any primary.
      const bursts = await Promise.all(
        accounts.map(({ apiKey }) =>
          Promise.all(
            Array.from({ length: READS_PER_SECOND * 3 }, () =>
              request(t.app).get('/kv/items/missing').set('Authorization', `Bearer ${apiKey}`),
            ),
          ),
        ),
      );
      for (const responses of bursts) {
        const statuses = responses.map((res) => res.status);
        expect({ round, unexpected: statuses.filter((status) => status !== 404 && status !== 429) }).toEqual({ round, unexpected: [] });
        const admitted = statuses.filter((status) => status === 404).length;
        // At most the rate (plus one window's boundary), and never nothing.
        expect(admitted).toBeGreaterThanOrEqual(1);
        expect(admitted).toBeLessThanOrEqual(READS_PER_SECOND * 2);
        expect(statuses.filter((status) => status === 429).length).toBeGreaterThan(0);
      }
      // Let every window pass before the next round.
      await new Promise((resolve) => setTimeout(resolve, 1100));
    }
  });
});
