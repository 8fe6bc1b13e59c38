// Key management over HTTP: listing and deleting accounts, listing an account's API keys, and API
// keys restricted to a prefix or with an expiry, on every data route (across replicas: admin-keys-replicas).

import pino from 'pino';
import request from 'supertest';
import { ensureDefaultAccount } from '../../src/bootstrap';
import { ADMIN_TOKEN, createTestApp, describeStore, type TestApp } from '../helpers/app';
import { expectError, secrets } from '../helpers/envelope';
import { sleep, waitFor } from '../helpers/wait';
import { baseUrl, openWatch } from '../helpers/watch';
import { asText } from '../helpers/client';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const ACCOUNT_ID = /^acc_[0-9a-f]{20}$/;
const KEY_ID = /^key_[0-9a-f]{20}$/;
const API_KEY = /^kv_[A-Za-z0-9_-]{32}$/;
const DEFAULT_LIMITS = { maxKeys: 1_000_000, readsPerSecond: 1000, writesPerSecond: 1000 };
const ADMIN = `Bearer ${ADMIN_TOKEN}`;
/** High enough that no test here is rate limited. */
const UNLIMITED = { readsPerSecond: 1_000_000, writesPerSecond: 1_000_000 };

type Client = Awaited<ReturnType<TestApp['newClient']>>;

describeStore('key management', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const admin = {
    listAccounts: (query = '') => request(t.app).get(`/admin/accounts${query}`).set('Authorization', ADMIN),
    createAccount: (body: unknown = {}) => request(t.app).post('/admin/accounts').set('Authorization', ADMIN).send(body as object),
    getAccount: (id: string) => request(t.app).get(`/admin/accounts/${id}`).set('Authorization', ADMIN),
    deleteAccount: (id: string) => request(t.app).delete(`/admin/accounts/${id}`).set('Authorization', ADMIN),
    listKeys: (id: string) => request(t.app).get(`/admin/accounts/${id}/keys`).set('Authorization', ADMIN),
    createKey: (id: string, body: unknown) => request(t.app).post(`/admin/accounts/${id}/keys`).set('Authorization', ADMIN).send(body as object),
    revokeKey: (keyId: string) => request(t.app).delete(`/admin/keys/${keyId}`).set('Authorization', ADMIN),
  };

  /** A new key of the account with `body`'s fields; its secret, as an Authorization value, and its view. */
  async function newKey(accountId: string, body: Record<string, unknown>) {
    const res = await admin.createKey(accountId, body);
    expect(res.status).toBe(201);
    secrets.push(res.body.data.apiKey.key);
    return { auth: `Bearer ${res.body.data.apiKey.key}`, view: res.body.data.apiKey as Record<string, unknown> };
  }

  const as = (auth: string) => ({
    get: (key: string) => request(t.app).get(`/kv/items/${key}`).set('Authorization', auth),
    head: (key: string) => request(t.app).head(`/kv/items/${key}`).set('Authorization', auth),
    put: (key: string, value: unknown) => request(t.app).put(`/kv/items/${key}`).set('Authorization', auth).send({ value }),
    del: (key: string) => request(t.app).delete(`/kv/items/${key}`).set('Authorization', auth),
    patch: (key: string, patch: unknown) =>
      request(t.app).patch(`/kv/items/${key}`).set('Authorization', auth).set('Content-Type', 'application/merge-patch+json').send(JSON.stringify(patch)),
    increment: (key: string) => request(t.app).post('/kv/items:increment').set('Authorization', auth).send({ key }),
    commit: (body: unknown) => request(t.app).post('/kv/items:commit').set('Authorization', auth).send(body as object),
    batchGet: (keys: string[]) => request(t.app).post('/kv/items:batchGet').set('Authorization', auth).send({ keys }),
    list: (query = '') => request(t.app).get(`/kv/items${query}`).set('Authorization', auth),
    usage: () => request(t.app).get('/kv/usage').set('Authorization', auth),
    exportItems: (query = '') =>
      request(t.app)
        .get(`/kv/export${query}`)
        .set('Authorization', auth)
        .buffer(true)
        .parse(asText as never),
    importItems: (body: string) =>
      request(t.app)
        .post('/kv/import')
        .set('Authorization', auth)
        .set('Content-Type', 'application/x-ndjson')
        .serialize((d) => d)
        .send(body),
  });

  /** The listing of `c` seen through its own full key: every key with its value. */
  async function everything(c: Client): Promise<Record<string, unknown>> {
    const res = await c.list('?values=true&limit=1000');
    expect(res.status).toBe(200);
    return Object.fromEntries((res.body.data.items as { key: string; value: unknown }[]).map((item) => [item.key, item.value]));
  }

  describe('GET /admin/accounts', () => {
    /** Every account id the listing shows with `limit`, page by page, each page's envelope checked whole. */
    async function pageThrough(limit: number): Promise<string[]> {
      const ids: string[] = [];
      let query = `?limit=${limit}`;
      for (let page = 0; page < 1000; page++) {
        const res = await admin.listAccounts(query);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ data: { accounts: expect.any(Array), nextCursor: res.body.data.nextCursor } });
        expect(res.body.data.nextCursor === null || typeof res.body.data.nextCursor === 'string').toBe(true);
        expect(res.body.data.accounts.length).toBeLessThanOrEqual(limit);
        for (const account of res.body.data.accounts) {
          expect(account).toEqual({
            // The default account is there too where the service bootstrapped it (the replica topology).
            id: account.id === 'default' ? 'default' : expect.stringMatching(ACCOUNT_ID),
            name: account.name === null ? null : expect.any(String),
            limits: expect.any(Object),
            limitOverrides: expect.any(Object),
            createdAt: expect.stringMatching(ISO_UTC),
          });
        }
        ids.push(...res.body.data.accounts.map((account: { id: string }) => account.id));
        if (res.body.data.nextCursor === null) return ids;
        query = `?limit=${limit}&cursor=${encodeURIComponent(res.body.data.nextCursor)}`;
      }
      throw new Error('the listing never ended');
    }

    it('lists every account once, in id order, over several pages', async () => {
      const created = await Promise.all(Array.from({ length: 7 }, () => admin.createAccount({})));
      const createdIds = created.map((res) => res.body.data.account.id as string);

      const ids = await pageThrough(3);

      expect(ids.length).toBeGreaterThanOrEqual(7);
      expect(new Set(ids).size).toBe(ids.length);
      expect([...ids].sort()).toEqual(ids);
      for (const id of createdIds) expect(ids).toContain(id);
    });

    it('shows each account as POST /admin/accounts showed it', async () => {
      const created = await admin.createAccount({ name: 'listed', limits: { maxKeys: 7 } });
      const { account } = created.body.data;
      expect(account).toEqual({
        id: expect.stringMatching(ACCOUNT_ID),
        name: 'listed',
        limits: { ...DEFAULT_LIMITS, maxKeys: 7 },
        limitOverrides: { maxKeys: 7 },
        createdAt: expect.stringMatching(ISO_UTC),
      });
      const listed: unknown[] = [];
      let query = '?limit=1000';
      for (;;) {
        const res = await admin.listAccounts(query);
        listed.push(...res.body.data.accounts);
        if (res.body.data.nextCursor === null) break;
        query = `?limit=1000&cursor=${res.body.data.nextCursor}`;
      }
      expect(listed).toContainEqual(account);
    });

    it('answers pages of at most 100 accounts without a limit', async () => {
      const res = await admin.listAccounts();
      expect(res.status).toBe(200);
      expect(res.body.data.accounts.length).toBeLessThanOrEqual(100);
    });

    it('does not list a deleted account', async () => {
      const { accountId } = await t.newAccount();
      expect((await admin.deleteAccount(accountId)).status).toBe(204);
      expect(await pageThrough(1000)).not.toContain(accountId);
    });

    it('answers 400 invalid_request for a cursor it did not return', async () => {
      for (const cursor of ['nope!', Buffer.from('acc_0123').toString('base64url'), Buffer.from('x').toString('base64url')]) {
        const res = await admin.listAccounts(`?cursor=${cursor}`);
        expectError(res, 400, 'invalid_request', { details: [{ path: 'query.cursor', message: 'is not a cursor this API returned' }] });
      }
    });

    it('answers 400 invalid_request for a limit out of range or an unknown parameter', async () => {
      expectError(await admin.listAccounts('?limit=0'), 400, 'invalid_request', {
        details: [{ path: 'query.limit', message: 'must be >= 1' }],
      });
      expectError(await admin.listAccounts('?limit=1001'), 400, 'invalid_request', {
        details: [{ path: 'query.limit', message: 'must be <= 1000' }],
      });
      expectError(await admin.listAccounts('?prefix=acc'), 400, 'invalid_request', {
        details: [{ path: 'query.prefix', message: 'is not an allowed field' }],
      });
    });

    it('answers 401 without the admin token', async () => {
      expectError(await request(t.app).get('/admin/accounts'), 401, 'unauthorized');
    });
  });

  describe('DELETE /admin/accounts/{id}', () => {
    it('removes the data, keys and counts of the account and leaves other accounts alone', async () => {
      const c = await t.newClient(UNLIMITED);
      const other = await t.newClient(UNLIMITED);
      const second = await newKey(c.accountId, { scopes: ['read'], name: 'second' });
      await c.put('a', { value: 1 }).expect(201);
      await c.put('b', { value: 'two', ttlSeconds: 600 }).expect(201);
      await as(c.auth).increment('counter').expect(201);
      await as(c.auth).commit({ ops: [{ op: 'set', key: 'c', value: [3] }] }).expect(200);
      await other.put('a', { value: 'kept' }).expect(201);
      expect((await c.usage()).body.data.keys).toBe(4);

      const res = await admin.deleteAccount(c.accountId);
      expect(res.status).toBe(204);
      expect(res.text ?? '').toBe('');

      for (const auth of [c.auth, second.auth]) {
        expectError(await as(auth).get('a'), 401, 'unauthorized');
        expectError(await as(auth).put('a', 2), 401, 'unauthorized');
        expectError(await as(auth).usage(), 401, 'unauthorized');
      }
      expectError(await admin.getAccount(c.accountId), 404, 'not_found');
      expectError(await admin.listKeys(c.accountId), 404, 'not_found');
      expectError(await admin.createKey(c.accountId, { scopes: ['read'] }), 404, 'not_found');
      expectError(await admin.revokeKey(c.keyId), 404, 'not_found');
      // The data itself, as the store holds it: nothing left.
      expect(await t.store.countKeys(c.accountId)).toBe(0);
      expect(await t.store.listItems(c.accountId, { prefix: '', limit: 100 })).toEqual({ items: [], nextAfter: null });
      expect(await t.store.getItems(c.accountId, ['a', 'b', 'c', 'counter'])).toEqual([null, null, null, null]);

      expect((await other.get('a')).body).toEqual({
        data: { key: 'a', value: 'kept', version: expect.any(String), expiresAt: null, createdAt: expect.any(String), updatedAt: expect.any(String) },
      });
      expect((await other.usage()).body.data.keys).toBe(1);
      expect((await admin.getAccount(other.accountId)).status).toBe(200);

      expectError(await admin.deleteAccount(c.accountId), 404, 'not_found');
    });

    it('answers 404 not_found for an unknown account or an id of another shape', async () => {
      expectError(await admin.deleteAccount('acc_0123456789abcdef0123'), 404, 'not_found');
      expectError(await admin.deleteAccount('nope'), 404, 'not_found');
    });

    it('refuses to delete the default account with 400, and leaves it working', async () => {
      const logger = pino({ level: 'silent' });
      await ensureDefaultAccount(t.store, undefined, logger, () => undefined);

      const res = await admin.deleteAccount('default');

      expectError(res, 400, 'invalid_request', {
        message: 'The default account cannot be deleted.',
        details: [
          { path: 'path.id', message: 'is the default account, which cannot be deleted; revoke its API keys and create new ones instead' },
        ],
      });
      expect((await admin.getAccount('default')).status).toBe(200);
    });

    it('answers 400 invalid_request for a query parameter', async () => {
      const { accountId } = await t.newAccount();
      expectError(await request(t.app).delete(`/admin/accounts/${accountId}?force=1`).set('Authorization', ADMIN), 400, 'invalid_request');
      expect((await admin.getAccount(accountId)).status).toBe(200);
    });
  });

  describe('GET /admin/accounts/{id}/keys', () => {
    it('lists the keys without secrets or hashes, prefix and expiresAt where set, revoked keys left out', async () => {
      const created = (await admin.createAccount({})).body.data;
      const accountId = created.account.id;
      const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
      const scoped = await newKey(accountId, { scopes: ['read'], name: 'flags', prefix: 'flags/', expiresAt });
      const revoked = await newKey(accountId, { scopes: ['read', 'write'] });
      expect((await admin.revokeKey(revoked.view.id as string)).status).toBe(204);

      const res = await admin.listKeys(accountId);

      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        data: {
          keys: [
            { id: created.apiKey.id, name: null, scopes: ['read', 'write'], createdAt: created.apiKey.createdAt },
            { id: scoped.view.id, name: 'flags', scopes: ['read'], prefix: 'flags/', expiresAt, createdAt: scoped.view.createdAt },
          ],
        },
      });
      expect(res.text).not.toContain(created.apiKey.key);
      expect(res.text).not.toContain(scoped.auth.slice('Bearer '.length));
      expect(res.text).not.toContain('hash');
    });

    it('answers 404 not_found for an unknown account', async () => {
      expectError(await admin.listKeys('acc_0123456789abcdef0123'), 404, 'not_found');
      expectError(await admin.listKeys('nope'), 404, 'not_found');
    });
  });

  describe('POST /admin/accounts/{id}/keys with prefix and expiresAt', () => {
    it('answers 201 with the key, its prefix and its expiresAt as UTC', async () => {
      const { accountId } = await t.newAccount();
      const res = await admin.createKey(accountId, { scopes: ['read'], prefix: 'flags/', expiresAt: '2099-01-01T02:00:00+02:00' });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        data: {
          apiKey: {
            id: expect.stringMatching(KEY_ID),
            key: expect.stringMatching(API_KEY),
            name: null,
            scopes: ['read'],
            prefix: 'flags/',
            expiresAt: '2099-01-01T00:00:00.000Z',
            createdAt: expect.stringMatching(ISO_UTC),
          },
        },
      });
      secrets.push(res.body.data.apiKey.key);
      const account = await admin.getAccount(accountId);
      const { key: _secret, ...shown } = res.body.data.apiKey;
      expect(account.body.data.apiKeys[1]).toEqual(shown);
    });

    it.each([
      ['an empty prefix', { prefix: '' }, [{ path: 'body.prefix', message: 'must NOT have fewer than 1 characters' }]],
      ['a prefix that is not a string', { prefix: 7 }, [{ path: 'body.prefix', message: 'must be string' }]],
      ['a prefix with a control character', { prefix: 'a\u0001' }, [{ path: 'body.prefix', message: 'The prefix contains control characters.' }]],
      ['a prefix over the key limit in bytes', { prefix: 'é'.repeat(300) }, [{ path: 'body.prefix', message: 'The prefix is 600 bytes of UTF-8; the limit is 512.' }]],
      ['an expiresAt in the past', { expiresAt: '2001-01-01T00:00:00Z' }, [{ path: 'body.expiresAt', message: 'must be in the future' }]],
      ['an expiresAt that is no time', { expiresAt: '2099-13-01T00:00:00Z' }, [{ path: 'body.expiresAt', message: 'is not a valid time' }]],
      [
        'an expiresAt without a time zone',
        { expiresAt: '2099-01-01T00:00:00' },
        [{ path: 'body.expiresAt', message: expect.stringMatching(/^must match pattern /) }],
      ],
      ['an expiresAt as a number', { expiresAt: 4102444800000 }, [{ path: 'body.expiresAt', message: 'must be string' }]],
    ])('answers 400 invalid_request for %s, and creates no key', async (_name, fields, details) => {
      const { accountId } = await t.newAccount();
      expectError(await admin.createKey(accountId, { scopes: ['read'], ...fields }), 400, 'invalid_request', { details });
      expect((await admin.listKeys(accountId)).body.data.keys).toHaveLength(1);
    });
  });

  describe('a key with a prefix', () => {
    let c: Client;
    let scoped: ReturnType<typeof as>;
    let scopedAuth: string;
    const outside = { message: 'This API key reaches only keys starting with "app/".' };

    beforeEach(async () => {
      c = await t.newClient(UNLIMITED);
      scopedAuth = (await newKey(c.accountId, { scopes: ['read', 'write'], prefix: 'app/' })).auth;
      scoped = as(scopedAuth);
      for (const [key, value] of [['app/a', 1], ['app/b', 2], ['apple', 3], ['other/x', 4]] as const) await c.put(key, { value }).expect(201);
    });

    const before = { 'app/a': 1, 'app/b': 2, apple: 3, 'other/x': 4 };

    it('reads, writes and deletes items under its prefix', async () => {
      expect((await scoped.get('app/a')).body.data).toMatchObject({ key: 'app/a', value: 1 });
      expect((await scoped.head('app/a')).status).toBe(200);
      expect((await scoped.put('app/c', 'new')).status).toBe(201);
      expect((await scoped.patch('app/c', 'patched')).status).toBe(200);
      expect((await scoped.del('app/b')).status).toBe(204);
      expect((await scoped.increment('app/n')).status).toBe(201);
      expect(await everything(c)).toEqual({ 'app/a': 1, 'app/c': 'patched', 'app/n': 1, apple: 3, 'other/x': 4 });
    });

    it('answers 403 forbidden on every item route for a key outside it, and changes nothing', async () => {
      for (const key of ['other/x', 'apple', 'ap', 'APP/a']) {
        expectError(await scoped.get(key), 403, 'forbidden', outside);
        expect((await scoped.head(key)).status).toBe(403);
        expectError(await scoped.put(key, 'changed'), 403, 'forbidden', outside);
        expectError(await scoped.del(key), 403, 'forbidden', outside);
        expectError(await scoped.patch(key, { changed: true }), 403, 'forbidden', outside);
        expectError(await scoped.increment(key), 403, 'forbidden', outside);
      }
      expect(await everything(c)).toEqual(before);
    });

    it('answers 403 forbidden for a commit with any check or op outside it, and applies nothing', async () => {
      const inside = { op: 'set', key: 'app/a', value: 'changed' };
      expectError(await scoped.commit({ ops: [inside, { op: 'delete', key: 'other/x' }] }), 403, 'forbidden', outside);
      expectError(await scoped.commit({ ops: [{ op: 'increment', key: 'apple' }, inside] }), 403, 'forbidden', outside);
      expectError(await scoped.commit({ checks: [{ key: 'other/x', version: null }], ops: [inside] }), 403, 'forbidden', outside);
      expect(await everything(c)).toEqual(before);

      const applied = await scoped.commit({ checks: [{ key: 'app/b', version: null }], ops: [inside] });
      expectError(applied, 412, 'precondition_failed');
      expect((await scoped.commit({ ops: [inside, { op: 'delete', key: 'app/b' }] })).status).toBe(200);
      expect(await everything(c)).toEqual({ 'app/a': 'changed', apple: 3, 'other/x': 4 });
    });

    it('answers 403 forbidden for a batchGet with any key outside it', async () => {
      expectError(await scoped.batchGet(['app/a', 'other/x']), 403, 'forbidden', outside);
      const res = await scoped.batchGet(['app/a', 'app/none']);
      expect(res.status).toBe(200);
      expect(res.body.data.items.map((item: { key: string } | null) => item?.key ?? null)).toEqual(['app/a', null]);
    });

    it('lists only under its prefix: none given is its prefix, a wider one is narrowed, another is 403', async () => {
      const keysOf = async (query: string) => {
        const res = await scoped.list(query);
        expect(res.status).toBe(200);
        return res.body.data.items.map((item: { key: string }) => item.key);
      };
      expect(await keysOf('')).toEqual(['app/a', 'app/b']);
      expect(await keysOf('?prefix=')).toEqual(['app/a', 'app/b']);
      expect(await keysOf('?prefix=ap')).toEqual(['app/a', 'app/b']);
      expect(await keysOf('?prefix=app/b')).toEqual(['app/b']);
      expect(await keysOf('?prefix=app/z')).toEqual([]);
      // Paging stays within the prefix.
      const first = await scoped.list('?limit=1');
      expect(first.body.data.items.map((item: { key: string }) => item.key)).toEqual(['app/a']);
      const next = await scoped.list(`?limit=1&cursor=${first.body.data.nextCursor}`);
      expect(next.body.data.items).toEqual([expect.objectContaining({ key: 'app/b' })]);
      if (next.body.data.nextCursor !== null) {
        expect((await scoped.list(`?limit=1&cursor=${next.body.data.nextCursor}`)).body.data).toEqual({ items: [], nextCursor: null });
      }
      for (const prefix of ['other', 'apple', 'b']) expectError(await scoped.list(`?prefix=${prefix}`), 403, 'forbidden', outside);
    });

    it('exports only under its prefix, and 403 for a prefix outside it', async () => {
      const res = await scoped.exportItems('?prefix=a');
      expect(res.status).toBe(200);
      expect(res.body).toBe('{"key":"app/a","value":1,"expiresAt":null}\n{"key":"app/b","value":2,"expiresAt":null}\n');
      expect((await scoped.exportItems()).body).toBe(res.body);
      expectError(await request(t.app).get('/kv/export?prefix=other/').set('Authorization', scopedAuth), 403, 'forbidden', outside);
    });

    it('imports the lines under its prefix; a line outside it fails alone with forbidden', async () => {
      const res = await scoped.importItems('{"key":"app/d","value":"d"}\n{"key":"other/y","value":"y"}\n{"key":"app/e","value":"e"}\n');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        data: { created: 2, replaced: 0, skipped: 0, failed: [{ line: 2, error: { code: 'forbidden', ...outside } }] },
      });
      expect(await everything(c)).toEqual({ ...before, 'app/d': 'd', 'app/e': 'e' });
    });

    it('watches only under its prefix, and 403 for a prefix outside it', async () => {
      const refused = await openWatch(t.app, scopedAuth, '?prefix=other/');
      expect(refused.status).toBe(403);
      expect(JSON.parse(refused.errorBody)).toEqual({ error: { code: 'forbidden', ...outside } });

      const stream = await openWatch(t.app, scopedAuth);
      try {
        expect(stream.status).toBe(200);
        await c.put('other/z', { value: 1 }).expect(201);
        await c.put('apple', { value: 2 }).expect(200);
        const written = await c.put('app/w', { value: 3 }).expect(201);
        const event = await stream.next();
        expect(event).toMatchObject({ event: 'set', data: { key: 'app/w', version: written.body.data.version } });
        await sleep(200);
        expect(stream.pending()).toEqual([]);
      } finally {
        stream.close();
      }
    });

    it("answers GET /kv/usage with the whole account's usage", async () => {
      const res = await scoped.usage();
      expect(res.status).toBe(200);
      expect(res.body.data.keys).toBe(4);
    });

    it('keeps its scopes too: a read-only key with a prefix cannot write under it', async () => {
      const reader = as((await newKey(c.accountId, { scopes: ['read'], prefix: 'app/' })).auth);
      expect((await reader.get('app/a')).status).toBe(200);
      expectError(await reader.put('app/a', 'changed'), 403, 'forbidden', { message: 'This API key lacks the "write" scope.' });
      expectError(await reader.get('other/x'), 403, 'forbidden', outside);
    });
  });

  describe('a key with expiresAt', () => {
    it('works until expiresAt and answers 401 unauthorized from then on, even just after a cached request', async () => {
      const c = await t.newClient(UNLIMITED);
      await c.put('k', { value: 1 }).expect(201);
      const expiresAt = Date.now() + 1500;
      const key = as((await newKey(c.accountId, { scopes: ['read'], expiresAt: new Date(expiresAt).toISOString() })).auth);

      // Used until just before its expiry, so the replica has it cached.
      while (Date.now() < expiresAt - 100) {
        expect((await key.get('k')).status).toBe(200);
        await sleep(50);
      }
      await sleep(expiresAt - Date.now() + 20);
      expectError(await key.get('k'), 401, 'unauthorized');
      expectError(await key.usage(), 401, 'unauthorized');
      // Still listed, with its expiry, until revoked.
      const keys = (await admin.listKeys(c.accountId)).body.data.keys;
      expect(keys[1]).toMatchObject({ expiresAt: new Date(expiresAt).toISOString() });
    });
  });

  describe('requests that outlive their authentication', () => {
    it('ends a watch stream when its account is deleted, when its key is revoked, and at its expiresAt', async () => {
      const deleted = await t.newClient(UNLIMITED);
      const revoked = await t.newClient(UNLIMITED);
      const expiring = await t.newClient(UNLIMITED);
      const expiresAt = Date.now() + 1500;
      const expiringAuth = (await newKey(expiring.accountId, { scopes: ['read'], expiresAt: new Date(expiresAt).toISOString() })).auth;
      const streams = [await openWatch(t.app, deleted.auth), await openWatch(t.app, revoked.auth), await openWatch(t.app, expiringAuth)];
      try {
        for (const stream of streams) expect(stream.status).toBe(200);
        const ended = (i: number) => Promise.race([streams[i].ended, sleep(1000).then(() => 'still open')]);

        expect((await admin.deleteAccount(deleted.accountId)).status).toBe(204);
        expect(await ended(0)).toBe('end');
        expect((await admin.revokeKey(revoked.keyId)).status).toBe(204);
        expect(await ended(1)).toBe('end');
        await sleep(Math.max(0, expiresAt - Date.now()));
        expect(await ended(2)).toBe('end');

        const again = await openWatch(t.app, expiringAuth);
        expect(again.status).toBe(401);
      } finally {
        for (const stream of streams) stream.close();
      }
    });

    it('stops an import whose key is revoked while its body streams in: 401, the lines before applied', async () => {
      const c = await t.newClient(UNLIMITED);
      const importer = await newKey(c.accountId, { scopes: ['read', 'write'] });
      const lines = (from: number, to: number) =>
        Array.from({ length: to - from }, (_, i) => `{"key":"k${String(from + i).padStart(3, '0')}","value":${from + i}}\n`).join('');
      let send!: (text: string | null) => void;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          send = (text) => (text === null ? controller.close() : controller.enqueue(new TextEncoder().encode(text)));
        },
      });
      const answer = fetch(`${await baseUrl(t.app)}/kv/import`, {
        method: 'POST',
        headers: { Authorization: importer.auth, 'Content-Type': 'application/x-ndjson' },
        body,
        duplex: 'half',
      } as RequestInit);
      send(lines(0, 100));
      await waitFor(async () => expect((await c.usage()).body.data.keys).toBe(100), { what: 'the first batch to apply', timeoutMs: 5000 });
      expect((await admin.revokeKey(importer.view.id as string)).status).toBe(204);
      send(lines(100, 200));
      send(null);

      const res = await answer;
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: { code: 'unauthorized', message: 'A valid API key is required.' } });
      expect((await c.usage()).body.data.keys).toBe(100);
    });
  });
});
