// A connection that ioredis has given up for good ('end': a reconnection attempt itself failed,
// e.g. the sentinels could not be asked at that moment) is opened again by the store, until the
// store is closed. Standalone here; the Sentinel failover test meets the real case.

import { randomAccountId } from '../helpers/ids';
import { createTestRedisStore, describeRedis, destroyTestRedisStore } from '../helpers/redis';
import { sleep, waitFor } from '../helpers/wait';

describeRedis('RedisStore reconnection', () => {
  it('opens a connection again when ioredis has given it up, until the store is closed', async () => {
    const own = await createTestRedisStore();
    try {
      const accountId = randomAccountId();
      const request = { value: '1', condition: { kind: 'none' as const }, maxKeys: 1_000_000 };
      // What ioredis does when a reconnection attempt itself fails: the connection ends for good.
      const ended = new Promise((resolve) => own.client.once('end', resolve));
      own.client.disconnect();
      await ended;
      await expect(own.getItem(accountId, 'k')).rejects.toThrow();
      await waitFor(() => expect(own.client.status).toBe('ready'), { what: 'the connection to be ready again', timeoutMs: 5000 });
      expect((await own.setItem(accountId, 'k', request)).ok).toBe(true);
    } finally {
      await destroyTestRedisStore(own);
    }
    // Closed on purpose: it stays closed.
    await sleep(300);
    expect(own.client.status).toBe('end');
  });

});
