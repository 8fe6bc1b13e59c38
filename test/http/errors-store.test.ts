// Errors that need the store in a particular state: a bug (500) and an unreachable store (503).

import request from 'supertest';
import { randomBytes } from 'node:crypto';
import type { KvStore } from '../../src/store/types';
import { ADMIN_TOKEN, appOn, createTestApp, describeStore, type TestApp } from '../helpers/app';
import { expectError, secrets } from '../helpers/envelope';
import { createTestStore, type TestStore } from '../helpers/stores';

describeStore('error responses that depend on the store', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  async function client() {
    const account = await t.newAccount();
    secrets.push(account.apiKey);
    return { ...account, auth: `Bearer ${account.apiKey}` };
  }

  describe('500 internal', () => {
    it('answers 500 internal without the error message, stack or internal detail', async () => {
      // The real store, but reading an item throws as a bug would.
      const broken = Object.create(t.store) as KvStore;
      broken.getItem = async () => {
        throw new Error(`boom: ERR script at /srv/kv/src/store/redis/redis-store.ts:120:7 ${ADMIN_TOKEN}`);
      };
      const app = appOn(t.testStore, { config: t.config, store: broken });
      const c = await client();
      const res = await request(app).get('/kv/items/k').set('Authorization', c.auth);
      expectError(res, 500, 'internal');
      expect(res.text).not.toContain('boom');
      expect(res.text).not.toContain('redis-store');
    });
  });

  describe('503 unavailable', () => {
    let down: TestStore;

    beforeAll(async () => {
      // A store cut off from its backend: every operation fails at once.
      down = await createTestStore(t.kind);
      await down.cutOff();
    });
    afterAll(() => down.destroy());

    it('answers 503 unavailable with Retry-After when the store cannot be reached', async () => {
      const app = appOn(down, { config: t.config });
      const key = `kv_${randomBytes(24).toString('base64url')}`;
      secrets.push(key);
      const res = await request(app).put('/kv/items/k').set('Authorization', `Bearer ${key}`).send({ value: 1 });
      expectError(res, 503, 'unavailable');
      expect(res.headers['retry-after']).toBeDefined();
      if (process.env.REDIS_URL) expect(res.text).not.toContain(process.env.REDIS_URL);
      expect(res.text).not.toMatch(/closed|ECONN|writeable|SQLITE|database/i);
    });
  });
});
