// The admin routes over HTTP: accounts, API keys, limit overrides, and how keys are stored.

import request from 'supertest';
import { createHash } from 'node:crypto';
import { ADMIN_TOKEN, createTestApp, describeStore, type TestApp } from '../helpers/app';
import { expectError } from '../helpers/envelope';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;
const ACCOUNT_ID = /^acc_[0-9a-z]+$/;
const KEY_ID = /^key_[0-9a-z]+$/;
/** "kv_" and at least 22 base64url characters: 132 bits or more. */
const API_KEY = /^kv_[A-Za-z0-9_-]{22,}$/;
const DEFAULT_LIMITS = { maxKeys: 1_000_000, readsPerSecond: 1000, writesPerSecond: 1000 };
const ADMIN = `Bearer ${ADMIN_TOKEN}`;

describeStore('admin routes', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const admin = {
    createAccount: (body: unknown) => request(t.app).post('/admin/accounts').set('Authorization', ADMIN).send(body as object),
    getAccount: (id: string) => request(t.app).get(`/admin/accounts/${id}`).set('Authorization', ADMIN),
    patchAccount: (id: string, body: unknown) =>
      request(t.app).patch(`/admin/accounts/${id}`).set('Authorization', ADMIN).send(body as object),
    createKey: (accountId: string, body: unknown) =>
      request(t.app).post(`/admin/accounts/${accountId}/keys`).set('Authorization', ADMIN).send(body as object),
    revokeKey: (keyId: string) => request(t.app).delete(`/admin/keys/${keyId}`).set('Authorization', ADMIN),
  };
  const kv = {
    put: (apiKey: string, key: string, value: unknown) =>
      request(t.app).put(`/kv/items/${key}`).set('Authorization', `Bearer ${apiKey}`).send({ value }),
    get: (apiKey: string, key: string) => request(t.app).get(`/kv/items/${key}`).set('Authorization', `Bearer ${apiKey}`),
    usage: (apiKey: string) => request(t.app).get('/kv/usage').set('Authorization', `Bearer ${apiKey}`),
  };

  describe('without KV_ADMIN_TOKEN', () => {
    let noAdmin: TestApp;

    beforeAll(async () => {
      // createTestApp spreads env over its defaults, so an undefined value unsets the admin token.
      noAdmin = await createTestApp({ KV_ADMIN_TOKEN: undefined } as unknown as Record<string, string>);
    });
    afterAll(() => noAdmin.close());

    it('answers 404 on every admin route, whatever the Authorization', async () => {
      expect(noAdmin.config.adminToken).toBeUndefined();
      expectError(await request(noAdmin.app).post('/admin/accounts').set('Authorization', ADMIN).send({}), 404, 'not_found');
      expectError(await request(noAdmin.app).post('/admin/accounts').send({}), 404, 'not_found');
      expectError(await request(noAdmin.app).get('/admin/accounts/acc_0123456789abcdef0123').set('Authorization', ADMIN), 404, 'not_found');
      expectError(await request(noAdmin.app).delete('/admin/keys/key_0123456789abcdef0123').set('Authorization', ADMIN), 404, 'not_found');
    });
  });

  describe('admin authentication', () => {
    it('answers 401 when the admin token is missing, wrong or not a Bearer token', async () => {
      expectError(await request(t.app).post('/admin/accounts').send({}), 401, 'unauthorized');
      const wrong = await request(t.app).post('/admin/accounts').set('Authorization', 'Bearer wrong-token-0123456789').send({});
      expectError(wrong, 401, 'unauthorized');
      expect(wrong.body.error.message).toBe('A valid admin token (KV_ADMIN_TOKEN) is required.');
      expectError(await request(t.app).post('/admin/accounts').set('Authorization', `${ADMIN_TOKEN}`).send({}), 401, 'unauthorized');
      expectError(await request(t.app).post('/admin/accounts').set('Authorization', `Basic ${ADMIN_TOKEN}`).send({}), 401, 'unauthorized');
      expectError(await request(t.app).post('/admin/accounts').set('Authorization', `Bearer ${ADMIN_TOKEN}x`).send({}), 401, 'unauthorized');
      expectError(await request(t.app).get('/admin/accounts/acc_0123456789abcdef0123'), 401, 'unauthorized');
    });

    it('answers 401 when an API key is used as the admin token', async () => {
      const { apiKey } = await t.newAccount();
      expectError(await request(t.app).post('/admin/accounts').set('Authorization', `Bearer ${apiKey}`).send({}), 401, 'unauthorized');
    });

    it('answers 401 on the data routes for the admin token', async () => {
      expectError(await request(t.app).get('/kv/usage').set('Authorization', ADMIN), 401, 'unauthorized');
    });
  });

  describe('POST /admin/accounts', () => {
    it('answers 201 with the account and its first read+write API key', async () => {
      const res = await admin.createAccount({ name: 'billing', limits: { maxKeys: 10 } });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        data: {
          account: {
            id: expect.stringMatching(ACCOUNT_ID),
            name: 'billing',
            limits: { ...DEFAULT_LIMITS, maxKeys: 10 },
            limitOverrides: { maxKeys: 10 },
            createdAt: expect.stringMatching(ISO_UTC),
          },
          apiKey: {
            id: expect.stringMatching(KEY_ID),
            key: expect.stringMatching(API_KEY),
            name: null,
            scopes: ['read', 'write'],
            createdAt: expect.stringMatching(ISO_UTC),
          },
        },
      });
      expect(Math.abs(Date.parse(res.body.data.account.createdAt) - Date.now())).toBeLessThan(10_000);
    });

    it('creates an account with default limits and no name from an empty body', async () => {
      const res = await admin.createAccount({});
      expect(res.status).toBe(201);
      expect(res.body.data.account).toMatchObject({ name: null, limits: DEFAULT_LIMITS, limitOverrides: {} });
    });

    it('hands out a key that works on the data routes at once', async () => {
      const res = await admin.createAccount({});
      const apiKey = res.body.data.apiKey.key;
      expect((await kv.put(apiKey, 'k', 'v')).status).toBe(201);
      expect((await kv.get(apiKey, 'k')).body.data.value).toBe('v');
    });

    it('hands out a different secret with at least 128 bits of randomness every time', async () => {
      const keys = await Promise.all([1, 2, 3].map(() => admin.createAccount({})));
      const secrets = keys.map((res) => res.body.data.apiKey.key as string);
      expect(new Set(secrets).size).toBe(3);
      for (const secret of secrets) {
        expect(secret).toMatch(API_KEY);
        // base64url carries 6 bits per character.
        expect((secret.length - 'kv_'.length) * 6).toBeGreaterThanOrEqual(128);
      }
    });

    it.each([
      ['an unknown field', { colour: 'red' }],
      ['an unknown limit', { limits: { maxValues: 3 } }],
      ['maxKeys 0', { limits: { maxKeys: 0 } }],
      ['a limit that is not a whole number', { limits: { readsPerSecond: 1.5 } }],
      ['an empty name', { name: '' }],
    ])('answers 400 invalid_request for %s', async (_name, body) => {
      const res = await admin.createAccount(body);
      expectError(res, 400, 'invalid_request');
      expect(res.body.error.details).toEqual(expect.arrayContaining([{ path: expect.any(String), message: expect.any(String) }]));
    });

    it('answers 400 invalid_json for a body that is not JSON', async () => {
      const res = await request(t.app).post('/admin/accounts').set('Authorization', ADMIN).set('Content-Type', 'application/json').send('{');
      expectError(res, 400, 'invalid_json');
    });
  });

  describe('GET /admin/accounts/{id}', () => {
    it('answers with the account, its key count and its API keys without their secrets', async () => {
      const created = await admin.createAccount({ name: 'shop' });
      const { account, apiKey } = created.body.data;
      await kv.put(apiKey.key, 'a', 1);
      await kv.put(apiKey.key, 'b', 2);
      const second = await admin.createKey(account.id, { scopes: ['read'], name: 'dashboard' });

      const res = await admin.getAccount(account.id);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        data: {
          account,
          usage: { keys: 2 },
          apiKeys: [
            { id: apiKey.id, name: null, scopes: ['read', 'write'], createdAt: apiKey.createdAt },
            { id: second.body.data.apiKey.id, name: 'dashboard', scopes: ['read'], createdAt: second.body.data.apiKey.createdAt },
          ],
        },
      });
      expect(res.text).not.toContain(apiKey.key);
      expect(res.text).not.toContain(second.body.data.apiKey.key);
    });

    it('answers 404 not_found for an unknown account', async () => {
      expectError(await admin.getAccount('acc_0123456789abcdef0123'), 404, 'not_found');
      expectError(await admin.getAccount('not-an-id'), 404, 'not_found');
    });
  });

  describe('PATCH /admin/accounts/{id}', () => {
    it('enforces a new maxKeys at once, and null clears it back to the default', async () => {
      const { accountId, apiKey } = await t.newAccount();
      expect((await kv.put(apiKey, 'a', 1)).status).toBe(201);
      expect((await kv.usage(apiKey)).body.data.limits.maxKeys).toBe(DEFAULT_LIMITS.maxKeys);

      const limited = await admin.patchAccount(accountId, { limits: { maxKeys: 1, writesPerSecond: 500 } });
      expect(limited.status).toBe(200);
      expect(limited.body).toEqual({
        data: {
          account: {
            id: accountId,
            name: null,
            limits: { ...DEFAULT_LIMITS, maxKeys: 1, writesPerSecond: 500 },
            limitOverrides: { maxKeys: 1, writesPerSecond: 500 },
            createdAt: expect.stringMatching(ISO_UTC),
          },
        },
      });
      expectError(await kv.put(apiKey, 'b', 1), 403, 'quota_exceeded');
      expect((await kv.put(apiKey, 'a', 2)).status).toBe(200);
      expect((await kv.usage(apiKey)).body.data.limits).toMatchObject({ maxKeys: 1, writesPerSecond: 500 });

      const cleared = await admin.patchAccount(accountId, { limits: { maxKeys: null } });
      expect(cleared.status).toBe(200);
      expect(cleared.body.data.account.limits).toEqual({ ...DEFAULT_LIMITS, writesPerSecond: 500 });
      expect(cleared.body.data.account.limitOverrides).toEqual({ writesPerSecond: 500 });
      expect((await kv.put(apiKey, 'b', 1)).status).toBe(201);
      expect((await admin.getAccount(accountId)).body.data.account.limitOverrides).toEqual({ writesPerSecond: 500 });
    });

    it('answers 404 not_found for an unknown account', async () => {
      expectError(await admin.patchAccount('acc_0123456789abcdef0123', { limits: { maxKeys: 5 } }), 404, 'not_found');
    });

    it('answers 400 invalid_request when limits is missing or holds an unknown or bad limit', async () => {
      const { accountId } = await t.newAccount();
      expectError(await admin.patchAccount(accountId, {}), 400, 'invalid_request');
      expectError(await admin.patchAccount(accountId, { limits: { maxValues: 1 } }), 400, 'invalid_request');
      expectError(await admin.patchAccount(accountId, { limits: { maxKeys: -1 } }), 400, 'invalid_request');
      expect((await admin.getAccount(accountId)).body.data.account.limitOverrides).toEqual({});
    });
  });

  describe('POST /admin/accounts/{id}/keys', () => {
    it('creates a read-only key that reads but cannot write', async () => {
      const { accountId, apiKey } = await t.newAccount();
      await kv.put(apiKey, 'k', 'v');
      const res = await admin.createKey(accountId, { scopes: ['read'], name: 'reader' });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        data: {
          apiKey: {
            id: expect.stringMatching(KEY_ID),
            key: expect.stringMatching(API_KEY),
            name: 'reader',
            scopes: ['read'],
            createdAt: expect.stringMatching(ISO_UTC),
          },
        },
      });
      const reader = res.body.data.apiKey.key;
      expect((await kv.get(reader, 'k')).body.data.value).toBe('v');
      expectError(await kv.put(reader, 'k', 'w'), 403, 'forbidden');
    });

    it('creates a read+write key that writes to the same account', async () => {
      const { accountId, apiKey } = await t.newAccount();
      const res = await admin.createKey(accountId, { scopes: ['read', 'write'] });
      expect(res.status).toBe(201);
      expect(res.body.data.apiKey).toMatchObject({ name: null, scopes: ['read', 'write'] });
      const writer = res.body.data.apiKey.key;
      expect((await kv.put(writer, 'k', 'from second key')).status).toBe(201);
      expect((await kv.get(apiKey, 'k')).body.data.value).toBe('from second key');
    });

    it.each([
      ['["write"] alone', { scopes: ['write'] }],
      ['[]', { scopes: [] }],
      ['["admin"]', { scopes: ['admin'] }],
      ['["read","read"]', { scopes: ['read', 'read'] }],
      ['a string', { scopes: 'read' }],
      ['missing', {}],
    ])('answers 400 invalid_request when scopes is %s', async (_name, body) => {
      const { accountId } = await t.newAccount();
      expectError(await admin.createKey(accountId, body), 400, 'invalid_request');
      expect((await admin.getAccount(accountId)).body.data.apiKeys).toHaveLength(1);
    });

    it('answers 404 not_found for an unknown account', async () => {
      expectError(await admin.createKey('acc_0123456789abcdef0123', { scopes: ['read'] }), 404, 'not_found');
      expectError(await admin.createKey('nope', { scopes: ['read'] }), 404, 'not_found');
    });
  });

  describe('DELETE /admin/keys/{keyId}', () => {
    it('answers 204, the key gets 401 at once, and deleting it again answers 404', async () => {
      const { accountId, apiKey, keyId } = await t.newAccount();
      const other = (await admin.createKey(accountId, { scopes: ['read', 'write'] })).body.data.apiKey;
      expect((await kv.put(apiKey, 'k', 1)).status).toBe(201);

      const res = await admin.revokeKey(keyId);
      expect(res.status).toBe(204);
      expect(res.text ?? '').toBe('');
      expectError(await kv.get(apiKey, 'k'), 401, 'unauthorized');
      expectError(await kv.put(apiKey, 'k', 2), 401, 'unauthorized');

      // The account's other key and data are untouched.
      expect((await kv.get(other.key, 'k')).body.data.value).toBe(1);
      const account = await admin.getAccount(accountId);
      expect(account.body.data.apiKeys.map((key: { id: string }) => key.id)).toEqual([other.id]);

      expectError(await admin.revokeKey(keyId), 404, 'not_found');
    });

    it('answers 404 not_found for an unknown key id', async () => {
      expectError(await admin.revokeKey('key_0123456789abcdef0123'), 404, 'not_found');
      expectError(await admin.revokeKey('whatever'), 404, 'not_found');
    });
  });

  describe('how API keys are stored', () => {
    it('keeps only a hash of each secret in the store, never the secret itself', async () => {
      const created = await admin.createAccount({ name: 'hashed' });
      const { account, apiKey } = created.body.data;
      const second = (await admin.createKey(account.id, { scopes: ['read'], name: 'second' })).body.data.apiKey;
      await kv.put(apiKey.key, 'item', apiKey.key.slice(0, 3));
      const secrets: string[] = [apiKey.key, second.key];

      const dump = await t.testStore.dump();
      expect(dump.length).toBeGreaterThan(0);
      for (const secret of secrets) {
        expect(dump.includes(Buffer.from(secret))).toBe(false);
        // What is stored instead: the SHA-256 of the secret.
        const hash = createHash('sha256').update(secret).digest('hex');
        expect(dump.includes(Buffer.from(hash))).toBe(true);
      }
    });
  });
});
