// A revoked key is refused by every replica within a second, even one that just cached it.

import request from 'supertest';
import pino from 'pino';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createRedisRateLimitStore } from '../../src/store/redis/rate-limit-store';
import { RedisStore } from '../../src/store/redis/redis-store';
import { ADMIN_TOKEN, createTestApp, type TestApp } from '../helpers/app';
import { describeRedis } from '../helpers/redis';

describeRedis('API key revocation across replicas', () => {
  let first: TestApp;
  let secondStore: RedisStore;
  let second: ReturnType<typeof createApp>;

  beforeAll(async () => {
    first = await createTestApp();
    // A second replica: its own connections and caches, the same Redis and prefix.
    const config = loadConfig({
      REDIS_URL: process.env.REDIS_URL,
      KV_REDIS_PREFIX: first.config.store.prefix,
      KV_ADMIN_TOKEN: ADMIN_TOKEN,
    });
    secondStore = new RedisStore({ url: config.store.redis.url, prefix: config.store.prefix, commandTimeoutMs: 2000 });
    await secondStore.ready();
    second = createApp({
      config,
      store: secondStore,
      logger: pino({ level: 'silent' }),
      rateLimitStore: (name) => createRedisRateLimitStore(secondStore.client, secondStore.keys.rateLimit(name)),
      isReady: () => true,
    });
  });

  afterAll(async () => {
    await secondStore.close();
    await first.close();
  });

  it('refuses the key on the other replica within 1 s of DELETE /admin/keys/{id}', async () => {
    const { apiKey, keyId } = await first.newAccount();
    const auth = `Bearer ${apiKey}`;
    // Warm the second replica's cache.
    expect((await request(second).get('/kv/usage').set('Authorization', auth)).status).toBe(200);

    const revoked = await request(first.app).delete(`/admin/keys/${keyId}`).set('Authorization', `Bearer ${ADMIN_TOKEN}`);
    expect(revoked.status).toBe(204);
    const start = Date.now();
    let status = 200;
    while (status !== 401 && Date.now() - start < 2000) {
      status = (await request(second).get('/kv/usage').set('Authorization', auth)).status;
    }
    const elapsed = Date.now() - start;
    expect(status).toBe(401);
    expect(elapsed).toBeLessThan(1000);
  });

  it('applies a limit override on the other replica within 1 s of PATCH', async () => {
    const { apiKey, accountId } = await first.newAccount();
    const auth = `Bearer ${apiKey}`;
    const put = (key: string) => request(second).put(`/kv/items/${key}`).set('Authorization', auth).send({ value: 1 });
    expect((await put('a')).status).toBe(201);

    const patched = await request(first.app)
      .patch(`/admin/accounts/${accountId}`)
      .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
      .send({ limits: { maxKeys: 1 } });
    expect(patched.status).toBe(200);
    const start = Date.now();
    let status = 201;
    for (let i = 0; status !== 403 && Date.now() - start < 2000; i++) status = (await put(`b${i}`)).status;
    expect(status).toBe(403);
    expect(Date.now() - start).toBeLessThan(1000);
  });
});
