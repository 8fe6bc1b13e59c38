// A revoked key is refused by every replica within a second, even one that just cached it.

import request from 'supertest';
import { ADMIN_TOKEN, appOn, createTestApp, type TestApp } from '../helpers/app';
import { describeRedis } from '../helpers/redis';
import { createTestStore, type TestStore } from '../helpers/stores';
import { waitFor } from '../helpers/wait';

describeRedis('API key revocation across replicas', () => {
  let first: TestApp;
  let secondStore: TestStore;
  let second: ReturnType<typeof appOn>;

  beforeAll(async () => {
    first = await createTestApp({}, 'redis');
    // A second replica: its own connections and caches, the same Redis and prefix.
    secondStore = await createTestStore('redis', { prefix: first.testStore.env.KV_REDIS_PREFIX });
    second = appOn(secondStore, { config: first.config });
  });

  afterAll(async () => {
    await secondStore.store.close();
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
    await waitFor(async () => expect((await request(second).get('/kv/usage').set('Authorization', auth)).status).toBe(401), {
      what: 'the revoked key to be refused',
      timeoutMs: 2000,
      intervalMs: 10,
    });
    expect(Date.now() - start).toBeLessThan(1000);
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
    let i = 0;
    await waitFor(async () => expect((await put(`b${i++}`)).status).toBe(403), {
      what: 'a write past the new limit to be refused',
      timeoutMs: 2000,
      intervalMs: 10,
    });
    expect(Date.now() - start).toBeLessThan(1000);
  });
});
