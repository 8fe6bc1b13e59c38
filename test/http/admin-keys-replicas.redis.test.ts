// Key management across replicas on one Redis: an account deleted, or a key that expires, is refused
// by every replica within a second (each replica has its own connections and auth cache).

import request from 'supertest';
import { ADMIN_TOKEN, appOn, createTestApp, type TestApp } from '../helpers/app';
import { expectError, secrets } from '../helpers/envelope';
import { describeRedis } from '../helpers/redis';
import { createTestStore, type TestStore } from '../helpers/stores';
import { sleep, waitFor } from '../helpers/wait';

const ADMIN = `Bearer ${ADMIN_TOKEN}`;
const UNLIMITED = { readsPerSecond: 1_000_000, writesPerSecond: 1_000_000 };

describeRedis('key management on every replica', () => {
  let t: TestApp;
  let secondStore: TestStore;
  let second: ReturnType<typeof appOn>;

  beforeAll(async () => {
    t = await createTestApp({}, 'redis');
    secondStore = await createTestStore('redis', { prefix: t.testStore.env.KV_REDIS_PREFIX });
    second = appOn(secondStore, { config: t.config });
  });
  afterAll(async () => {
    await secondStore?.store.close();
    await t?.close();
  });

  const admin = {
    deleteAccount: (id: string) => request(t.app).delete(`/admin/accounts/${id}`).set('Authorization', ADMIN),
    createKey: (id: string, body: unknown) => request(t.app).post(`/admin/accounts/${id}/keys`).set('Authorization', ADMIN).send(body as object),
  };

  async function newKey(accountId: string, body: Record<string, unknown>) {
    const res = await admin.createKey(accountId, body);
    expect(res.status).toBe(201);
    secrets.push(res.body.data.apiKey.key);
    return { auth: `Bearer ${res.body.data.apiKey.key}` };
  }

  const onSecond = (auth: string) => request(second).get('/kv/usage').set('Authorization', auth);

  it('refuses the keys of an account deleted through another replica within 1 s', async () => {
    const c = await t.newClient(UNLIMITED);
    // Warm the second replica's cache.
    expect((await onSecond(c.auth)).status).toBe(200);

    expect((await admin.deleteAccount(c.accountId)).status).toBe(204);
    const start = Date.now();
    await waitFor(async () => expect((await onSecond(c.auth)).status).toBe(401), {
      what: "the deleted account's key to be refused",
      timeoutMs: 2000,
      intervalMs: 10,
    });
    expect(Date.now() - start).toBeLessThan(1000);
    expectError(await onSecond(c.auth), 401, 'unauthorized');
  });

  it('refuses an expired key on another replica within 1 s of expiresAt', async () => {
    const c = await t.newClient(UNLIMITED);
    const expiresAt = Date.now() + 1200;
    const { auth } = await newKey(c.accountId, { scopes: ['read'], expiresAt: new Date(expiresAt).toISOString() });
    while (Date.now() < expiresAt - 100) {
      expect((await onSecond(auth)).status).toBe(200);
      await sleep(50);
    }
    await waitFor(async () => expect((await onSecond(auth)).status).toBe(401), {
      what: 'the expired key to be refused',
      timeoutMs: 3000,
      intervalMs: 10,
    });
    expect(Date.now() - expiresAt).toBeLessThan(1000);
  });
});
