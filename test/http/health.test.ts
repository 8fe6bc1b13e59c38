// The operations endpoints over HTTP: liveness and readiness against a real Redis.

import pino from 'pino';
import request from 'supertest';
import { createApp } from '../../src/app';
import { createRedisRateLimitStore } from '../../src/store/redis/rate-limit-store';
import type { RedisStore } from '../../src/store/redis/redis-store';
import { createTestApp, type TestApp } from '../helpers/app';
import { createTestRedisStore, describeRedis } from '../helpers/redis';

describeRedis('health endpoints', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('answers /healthz with 200 without authentication', async () => {
    const res = await request(t.app).get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: { status: 'ok' } });
  });

  it('answers /readyz with 200 when the store is reachable', async () => {
    const res = await request(t.app).get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: { status: 'ready', store: 'redis' } });
  });

  describe('when the store cannot be reached', () => {
    let down: RedisStore;

    beforeAll(async () => {
      // A store whose command connection is gone: every command fails at once.
      down = await createTestRedisStore();
      down.client.disconnect();
    });
    afterAll(async () => {
      // Reconnected first: closing a client whose socket is already gone leaves ioredis's 2 s disconnect timer running.
      await down.client.connect();
      await down.close();
    });

    function appOn(store: RedisStore, isReady = () => true) {
      return createApp({
        config: t.config,
        store,
        logger: pino({ level: 'silent' }),
        rateLimitStore: (name) => createRedisRateLimitStore(store.client, store.keys.rateLimit(name)),
        isReady,
      });
    }

    it('answers /readyz with 503 unavailable and /healthz still with 200', async () => {
      const app = appOn(down);
      const ready = await request(app).get('/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body).toEqual({ error: { code: 'unavailable', message: expect.any(String) } });
      expect((await request(app).get('/healthz')).status).toBe(200);
    });

    it('answers /readyz with 503 while the app is not ready, on a reachable store', async () => {
      const ready = await request(appOn(t.store, () => false)).get('/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body).toEqual({ error: { code: 'unavailable', message: expect.any(String) } });
    });
  });
});
