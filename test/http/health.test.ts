// The operations endpoints over HTTP: liveness and readiness.

import request from 'supertest';
import { appOn, createTestApp, describeStore, type TestApp } from '../helpers/app';
import { createTestStore, type TestStore } from '../helpers/stores';

describeStore('health endpoints', () => {
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

  it('answers /readyz with 200 and the kind of store when the store is reachable', async () => {
    const res = await request(t.app).get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: { status: 'ready', store: t.kind } });
  });

  describe('when the store cannot be reached', () => {
    let down: TestStore;

    beforeAll(async () => {
      down = await createTestStore(t.kind);
      await down.cutOff();
    });
    afterAll(() => down.destroy());

    it('answers /readyz with 503 unavailable and /healthz still with 200', async () => {
      const app = appOn(down, { config: t.config });
      const ready = await request(app).get('/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body).toEqual({ error: { code: 'unavailable', message: expect.any(String) } });
      expect((await request(app).get('/healthz')).status).toBe(200);
    });

    it('answers /readyz with 503 while the app is not ready, on a reachable store', async () => {
      const ready = await request(appOn(t.testStore, { config: t.config, isReady: () => false })).get('/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body).toEqual({ error: { code: 'unavailable', message: expect.any(String) } });
    });
  });
});
