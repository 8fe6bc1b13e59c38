// KV_INTERNAL_PORT split: /kv/* on the public app, /metrics and /admin/* on the internal one, one registry.

import pino from 'pino';
import request from 'supertest';
import { createApp, type Surface } from '../../src/app';
import { Metrics } from '../../src/metrics';
import { ADMIN_TOKEN, createTestApp, describeStore, type TestApp } from '../helpers/app';
import { createAccount } from '../helpers/client';
import { expectError } from '../helpers/envelope';

const ADMIN = `Bearer ${ADMIN_TOKEN}`;

describeStore('the public and internal surfaces (KV_INTERNAL_PORT)', () => {
  let t: TestApp;
  let metrics: Metrics;
  let publicApp: ReturnType<typeof createApp>;
  let internalApp: ReturnType<typeof createApp>;

  /** An app of one surface on the test's store, counting into the shared registry, as main.ts builds them. */
  const appOf = (surface: Surface) =>
    createApp({
      config: t.config,
      store: t.store,
      logger: pino({ level: 'silent' }),
      rateLimitStore: t.testStore.rateLimitStore,
      isReady: () => true,
      metrics,
      surface,
    });

  /** A fresh account and its read+write key, made through the internal app. */
  const newAccount = () => createAccount(internalApp);

  beforeAll(async () => {
    t = await createTestApp({ KV_INTERNAL_PORT: '0' });
    metrics = new Metrics();
    publicApp = appOf('public');
    internalApp = appOf('internal');
  });
  afterAll(() => t.close());

  it('answers /metrics and every /admin route with 404 not_found on the public surface, as unknown routes', async () => {
    const { accountId, keyId } = await newAccount();
    expectError(await request(publicApp).get('/metrics'), 404, 'not_found');
    expectError(await request(publicApp).post('/admin/accounts').set('Authorization', ADMIN).send({}), 404, 'not_found');
    expectError(await request(publicApp).get(`/admin/accounts/${accountId}`).set('Authorization', ADMIN), 404, 'not_found');
    expectError(await request(publicApp).delete(`/admin/keys/${keyId}`).set('Authorization', ADMIN), 404, 'not_found');
    // Same answer as a route that never existed, so the public port does not reveal the admin API.
    const unknown = await request(publicApp).get('/no-such-route');
    expect((await request(publicApp).get('/admin/accounts')).body).toEqual(unknown.body);
  });

  it('serves /metrics and the admin routes on the internal surface', async () => {
    const { accountId } = await newAccount();
    const account = await request(internalApp).get(`/admin/accounts/${accountId}`).set('Authorization', ADMIN);
    expect(account.status).toBe(200);
    expect(account.body.data.account.id).toBe(accountId);
    const scraped = await request(internalApp).get('/metrics');
    expect(scraped.status).toBe(200);
    expect(scraped.headers['content-type']).toMatch(/^text\/plain/);
    expect(scraped.text).toContain('kv_http_requests_total');
  });

  it('still asks for the admin token on the internal surface', async () => {
    expectError(await request(internalApp).post('/admin/accounts').send({}), 401, 'unauthorized');
  });

  it('serves /kv on the public surface and answers it with 404 not_found on the internal one', async () => {
    const { apiKey } = await newAccount();
    const usage = await request(publicApp).get('/kv/usage').set('Authorization', `Bearer ${apiKey}`);
    expect(usage.status).toBe(200);
    expect(usage.body.data).toMatchObject({ keys: 0 });
    expectError(await request(internalApp).get('/kv/usage').set('Authorization', `Bearer ${apiKey}`), 404, 'not_found');
    expectError(await request(internalApp).put('/kv/items/a').set('Authorization', `Bearer ${apiKey}`).send({ value: 1 }), 404, 'not_found');
  });

  it('answers /healthz and /readyz on both surfaces, for probes on either port', async () => {
    for (const app of [publicApp, internalApp]) {
      expect((await request(app).get('/healthz')).body).toEqual({ data: { status: 'ok' } });
      expect((await request(app).get('/readyz')).body).toEqual({ data: { status: 'ready', store: t.kind } });
    }
  });

  it('counts the requests of the public surface in the metrics the internal surface serves', async () => {
    const { apiKey } = await newAccount();
    const usageCount = async () => {
      const text = (await request(internalApp).get('/metrics')).text;
      const line = text.split('\n').find((l) => l.startsWith('kv_http_requests_total{') && l.includes('route="/kv/usage"') && l.includes('status="200"'));
      return line ? Number(line.split(' ').at(-1)) : 0;
    };
    const before = await usageCount();
    await request(publicApp).get('/kv/usage').set('Authorization', `Bearer ${apiKey}`).expect(200);
    await request(publicApp).get('/kv/usage').set('Authorization', `Bearer ${apiKey}`).expect(200);
    expect(await usageCount()).toBe(before + 2);
  });

  it('stops a key revoked on the internal surface from working on the public one at once', async () => {
    const { apiKey, keyId } = await newAccount();
    await request(publicApp).get('/kv/usage').set('Authorization', `Bearer ${apiKey}`).expect(200);
    expect((await request(internalApp).delete(`/admin/keys/${keyId}`).set('Authorization', ADMIN)).status).toBe(204);
    expectError(await request(publicApp).get('/kv/usage').set('Authorization', `Bearer ${apiKey}`), 401, 'unauthorized');
  });

  it('serves everything on one surface by default, as without KV_INTERNAL_PORT', async () => {
    const all = createApp({
      config: t.config,
      store: t.store,
      logger: pino({ level: 'silent' }),
      rateLimitStore: t.testStore.rateLimitStore,
      isReady: () => true,
    });
    const created = await request(all).post('/admin/accounts').set('Authorization', ADMIN).send({});
    expect(created.status).toBe(201);
    expect((await request(all).get('/metrics')).status).toBe(200);
    expect((await request(all).get('/kv/usage').set('Authorization', `Bearer ${created.body.data.apiKey.key}`)).status).toBe(200);
  });
});
