// KvAdmin against a real service: accounts (paged list, create, get, limits, delete) and their API keys
// (list, create with scopes, prefix and expiry, revoke), and what a key made that way can do.

import {
  KvAdmin,
  KvClient,
  KvForbiddenError,
  KvInvalidRequestError,
  KvNotFoundError,
  KvUnauthorizedError,
  type Account,
} from '../../packages/client/src';
import { ADMIN_TOKEN, describeStore } from '../helpers/app';
import { waitFor } from '../helpers/wait';
import { startClientServer, type ClientServer } from './server';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describeStore('KvAdmin', () => {
  let s: ClientServer;

  beforeAll(async () => {
    s = await startClientServer();
  });
  afterAll(() => s.close());

  it('creates an account with its first read+write key, and reads it back with usage and keys', async () => {
    const { account, apiKey } = await s.admin.createAccount({ name: 'billing', limits: { maxKeys: 10 } });
    expect(account).toStrictEqual({
      id: expect.stringMatching(/^acc_[0-9a-f]{20}$/),
      name: 'billing',
      limits: { maxKeys: 10, readsPerSecond: expect.any(Number), writesPerSecond: expect.any(Number) },
      limitOverrides: { maxKeys: 10 },
      createdAt: expect.stringMatching(ISO),
    });
    expect(apiKey).toMatchObject({ id: expect.stringMatching(/^key_/), key: expect.stringMatching(/^kv_/), scopes: ['read', 'write'] });
    await new KvClient({ url: s.url, apiKey: apiKey.key }).set('k', 1);
    const details = await s.admin.getAccount(account.id);
    expect(details).toMatchObject({ account, usage: { keys: 1 }, apiKeys: [expect.objectContaining({ id: apiKey.id, scopes: ['read', 'write'] })] });
    expect(details!.apiKeys[0]).not.toHaveProperty('key');
    expect(await s.admin.getAccount('acc_00000000000000000000')).toBeNull();
  });

  it('sets and clears limit overrides', async () => {
    const { account } = await s.admin.createAccount();
    const updated = await s.admin.updateAccount(account.id, { limits: { readsPerSecond: 7, maxKeys: 3 } });
    expect(updated.limitOverrides).toStrictEqual({ readsPerSecond: 7, maxKeys: 3 });
    expect(updated.limits).toMatchObject({ readsPerSecond: 7, maxKeys: 3 });
    const cleared = await s.admin.updateAccount(account.id, { limits: { maxKeys: null } });
    expect(cleared.limitOverrides).toStrictEqual({ readsPerSecond: 7 });
    await expect(s.admin.updateAccount('acc_00000000000000000000', { limits: {} })).rejects.toBeInstanceOf(KvNotFoundError);
  });

  it('creates a read-only key that can read but not write, and revokes it', async () => {
    const { account } = await s.admin.createAccount();
    const readOnly = await s.admin.createKey(account.id, { scopes: ['read'], name: 'dashboard' });
    expect(readOnly).toMatchObject({ id: expect.stringMatching(/^key_/), key: expect.stringMatching(/^kv_/), name: 'dashboard', scopes: ['read'] });
    const kv = new KvClient({ url: s.url, apiKey: readOnly.key });
    expect(await kv.get('k')).toBeNull();
    await expect(kv.set('k', 1)).rejects.toBeInstanceOf(KvForbiddenError);
    expect(await s.admin.revokeKey(readOnly.id)).toBe(true);
    await waitFor(async () => expect(await kv.get('k').catch((e: unknown) => e)).toBeInstanceOf(KvUnauthorizedError), {
      what: 'the revoked key refused',
      timeoutMs: 3000,
    });
    expect(await s.admin.revokeKey(readOnly.id)).toBe(false);
  });

  it('throws KvInvalidRequestError for a key without the read scope', async () => {
    const { account } = await s.admin.createAccount();
    await expect(s.admin.createKey(account.id, { scopes: ['write'] })).rejects.toBeInstanceOf(KvInvalidRequestError);
  });

  it('throws KvUnauthorizedError for a wrong admin token', async () => {
    const wrong = new KvAdmin({ url: s.url, adminToken: 'not-the-token' });
    await expect(wrong.getAccount('default')).rejects.toBeInstanceOf(KvUnauthorizedError);
  });

  it('gives an admin client for the same service from client.admin(token)', async () => {
    const kv = await s.client();
    const admin = kv.admin(ADMIN_TOKEN);
    const { account } = await admin.createAccount({ name: 'through the client' });
    expect((await admin.getAccount(account.id))!.account.name).toBe('through the client');
  });

  // The routes below are the SPEC's "Operators" section: list and delete accounts, list keys, keys
  // with a prefix and an expiry.

  it('lists accounts page by page with listAccounts, and all of them with allAccounts', async () => {
    const made = new Set<string>();
    for (let i = 0; i < 3; i++) made.add((await s.admin.createAccount({ name: `listed-${i}` })).account.id);
    const first = await s.admin.listAccounts({ limit: 2 });
    expect(first.accounts).toHaveLength(2);
    expect(Object.keys(first).sort()).toStrictEqual(['accounts', 'nextCursor']);
    expect(Array.isArray(first.accounts)).toBe(true);
    expect(first.nextCursor === null || typeof first.nextCursor === 'string').toBe(true);
    const all: Account[] = [];
    for await (const account of s.admin.allAccounts({ limit: 2 })) all.push(account);
    const ids = all.map((a) => a.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of made) expect(ids).toContain(id);
    expect(all.find((a) => made.has(a.id))).toMatchObject({ name: expect.stringMatching(/^listed-/), limits: expect.any(Object), createdAt: expect.stringMatching(ISO) });
  });

  it("deletes an account with its data and keys; its key stops working", async () => {
    const { account, apiKey } = await s.admin.createAccount();
    const kv = new KvClient({ url: s.url, apiKey: apiKey.key });
    await kv.set('k', 1);
    expect(await s.admin.deleteAccount(account.id)).toBe(true);
    expect(await s.admin.getAccount(account.id)).toBeNull();
    await waitFor(async () => expect(await kv.get('k').catch((e: unknown) => e)).toBeInstanceOf(KvUnauthorizedError), {
      what: "the deleted account's key refused",
      timeoutMs: 3000,
    });
    expect(await s.admin.deleteAccount(account.id)).toBe(false);
  });

  it('refuses to delete the default account (KvInvalidRequestError)', async () => {
    await expect(s.admin.deleteAccount('default')).rejects.toBeInstanceOf(KvInvalidRequestError);
  });

  it("lists an account's keys without secrets", async () => {
    const { account, apiKey } = await s.admin.createAccount();
    const second = await s.admin.createKey(account.id, { scopes: ['read'], name: 'second' });
    const keys = await s.admin.listKeys(account.id);
    expect(keys.map((k) => k.id).sort()).toStrictEqual([apiKey.id, second.id].sort());
    for (const key of keys) expect(key).not.toHaveProperty('key');
    expect(keys.find((k) => k.id === second.id)).toMatchObject({ name: 'second', scopes: ['read'], createdAt: expect.stringMatching(ISO) });
    await expect(s.admin.listKeys('acc_00000000000000000000')).rejects.toBeInstanceOf(KvNotFoundError);
  });

  it('creates a key limited to a prefix: other keys are forbidden, listing and watch see only the prefix', async () => {
    const { account, apiKey } = await s.admin.createAccount();
    const owner = new KvClient({ url: s.url, apiKey: apiKey.key });
    await owner.set('flags/a', true);
    await owner.set('secret', 'no');
    const scoped = await s.admin.createKey(account.id, { scopes: ['read'], prefix: 'flags/' });
    expect(scoped).toMatchObject({ prefix: 'flags/', scopes: ['read'] });
    const kv = new KvClient({ url: s.url, apiKey: scoped.key });
    expect((await kv.get('flags/a'))!.value).toBe(true);
    await expect(kv.get('secret')).rejects.toBeInstanceOf(KvForbiddenError);
    const listed = [];
    for await (const item of kv.listAll()) listed.push(item.key);
    expect(listed).toStrictEqual(['flags/a']);
    const watch = kv.watch();
    const next = watch.next();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await owner.set('secret', 'still no');
    await owner.set('flags/b', false);
    expect(await next).toMatchObject({ value: { type: 'set', key: 'flags/b' } });
    await watch.return(undefined);
  });

  it('creates a key that expires: refused with KvUnauthorizedError after expiresAt', async () => {
    const { account } = await s.admin.createAccount();
    const expiresAt = new Date(Date.now() + 1500);
    const expiring = await s.admin.createKey(account.id, { scopes: ['read'], expiresAt });
    expect(expiring.expiresAt).toBe(expiresAt.toISOString());
    const kv = new KvClient({ url: s.url, apiKey: expiring.key });
    expect(await kv.get('k')).toBeNull();
    await waitFor(async () => expect(await kv.get('k').catch((e: unknown) => e)).toBeInstanceOf(KvUnauthorizedError), {
      what: 'the expired key refused',
      timeoutMs: 5000,
    });
  });
});
