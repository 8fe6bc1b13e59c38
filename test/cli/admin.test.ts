// kv admin accounts … and kv admin keys …, run as child processes against a real server: tables, --json, exit codes.

import request from 'supertest';
import { ADMIN_TOKEN } from '../helpers/admin-token';
import { runKv, startServer, type KvServer } from './run-kv';

let server: KvServer;
let admin: Record<string, string>;

beforeAll(async () => {
  server = await startServer();
  admin = { KV_URL: server.url, KV_ADMIN_TOKEN: ADMIN_TOKEN };
});

afterAll(async () => {
  await server.close();
});

/** GET /admin/accounts/{id} as the admin API answers it. */
async function accountDetails(id: string): Promise<{ status: number; body: { data: Record<string, unknown> } }> {
  const res = await request(server.url).get(`/admin/accounts/${id}`).set('Authorization', `Bearer ${ADMIN_TOKEN}`);
  return { status: res.status, body: res.body };
}

/** `kv admin accounts create --json`: the new account's id and first key. */
async function createAccount(name?: string): Promise<{ id: string; apiKey: string; keyId: string }> {
  const run = await runKv(['admin', 'accounts', 'create', '--json', ...(name ? ['--name', name] : [])], { env: admin });
  expect(run.code).toBe(0);
  const { account, apiKey } = JSON.parse(run.stdout);
  return { id: account.id, apiKey: apiKey.key, keyId: apiKey.id };
}

describe('kv admin accounts', () => {
  it('creates an account and prints its first key once, with what it may do', async () => {
    const run = await runKv(['admin', 'accounts', 'create', '--name', 'billing'], { env: admin });
    expect(run.code).toBe(0);
    const [accountLine, keyLine, note, blank, secret] = run.stdout.trimEnd().split('\n');
    const id = /^created account (acc_[0-9a-f]{20}) \(billing\)$/.exec(accountLine)![1];
    expect(keyLine).toMatch(/^API key key_[0-9a-f]{20}: read\+write$/);
    expect(note).toContain('shown only now');
    expect(blank).toBe('');
    const key = secret.trim();
    expect(key).toMatch(/^kv_/);
    // The printed key works.
    const usage = await request(server.url).get('/kv/usage').set('Authorization', `Bearer ${key}`);
    expect(usage.status).toBe(200);
    expect((await accountDetails(id)).body.data.account).toMatchObject({ id, name: 'billing' });
  });

  it('prints the API data object for --json', async () => {
    const run = await runKv(['admin', 'accounts', 'create', '--json'], { env: admin });
    const data = JSON.parse(run.stdout);
    expect(data.account).toEqual((await accountDetails(data.account.id)).body.data.account);
    expect(data.apiKey).toMatchObject({ scopes: ['read', 'write'], key: expect.stringMatching(/^kv_/) });
  });

  it('shows an account with its usage and keys, never their secrets', async () => {
    const { id, apiKey, keyId } = await createAccount('shown');
    await request(server.url).put('/kv/items/a').set('Authorization', `Bearer ${apiKey}`).send({ value: 1 });
    const run = await runKv(['admin', 'accounts', 'get', id], { env: admin });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^id\\s+${id}$`, 'm'));
    expect(run.stdout).toMatch(/^name\s+shown$/m);
    expect(run.stdout).toMatch(/^keys\s+1$/m);
    expect(run.stdout).toMatch(/^limits\s+maxKeys=\d+ \(default\), readsPerSecond=\d+ \(default\), writesPerSecond=\d+ \(default\)$/m);
    expect(run.stdout).toMatch(new RegExp(`^${keyId}\\s+-\\s+read,write\\s`, 'm'));
    expect(run.stdout).not.toContain(apiKey);

    const json = await runKv(['admin', 'accounts', 'get', id, '--json'], { env: admin });
    expect(JSON.parse(json.stdout)).toEqual((await accountDetails(id)).body.data);
  });

  it('exits 1 with not_found for an account that does not exist', async () => {
    const run = await runKv(['admin', 'accounts', 'get', 'acc_00000000000000000000'], { env: admin });
    expect(run).toEqual({ code: 1, stdout: '', stderr: 'kv: not_found: No such account.\n' });
  });

  it('lists every account, across pages', async () => {
    // More accounts than the server's page of 100, so that the listing takes several requests.
    const created = [await createAccount('list-a'), await createAccount('list-b')];
    for (let i = 0; i < 105; i += 15) await Promise.all(Array.from({ length: 15 }, () => server.test.newAccount()));
    const run = await runKv(['admin', 'accounts', 'list'], { env: admin });
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0].split(/\s+/)).toEqual(['ID', 'NAME', 'CREATED']);
    expect(lines.length - 1).toBeGreaterThan(107);
    for (const { id } of created) expect(lines.some((line) => line.startsWith(`${id}  `))).toBe(true);

    const json = JSON.parse((await runKv(['admin', 'accounts', 'list', '--json'], { env: admin })).stdout);
    const ids = json.accounts.map((account: { id: string }) => account.id);
    expect(ids).toHaveLength(lines.length - 1);
    expect(ids).toEqual(expect.arrayContaining(created.map(({ id }) => id)));
    expect(new Set(ids).size).toBe(ids.length);
    expect(json.accounts.find((account: { id: string }) => account.id === created[0].id)).toEqual((await accountDetails(created[0].id)).body.data.account);
  });

  it('exits 2 with the API error when asked to delete the default account', async () => {
    const run = await runKv(['admin', 'accounts', 'delete', 'default'], { env: admin });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^kv: invalid_request: .+\n$/);
  });

  it('deletes an account: its keys stop working, and deleting it again exits 1', async () => {
    const { id, apiKey } = await createAccount('doomed');
    expect(await runKv(['admin', 'accounts', 'delete', id], { env: admin })).toEqual({ code: 0, stdout: `deleted account ${id}\n`, stderr: '' });
    expect((await accountDetails(id)).status).toBe(404);
    const refused = await runKv(['usage'], { env: { KV_URL: server.url, KV_API_KEY: apiKey } });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/^kv: unauthorized: /);
    expect(await runKv(['admin', 'accounts', 'delete', id], { env: admin })).toEqual({ code: 1, stdout: '', stderr: 'kv: not_found: No such account.\n' });
  });

  it('prints {"id", "deleted"} for --json', async () => {
    const { id } = await createAccount();
    expect(await runKv(['admin', 'accounts', 'delete', id, '--json'], { env: admin })).toEqual({ code: 0, stdout: `{"id":"${id}","deleted":true}\n`, stderr: '' });
  });
});

describe('kv admin keys', () => {
  it('creates a read+write key by default and prints its secret once', async () => {
    const { id } = await createAccount();
    const run = await runKv(['admin', 'keys', 'create', id, '--name', 'ci'], { env: admin });
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^API key key_[0-9a-f]{20} \(ci\): read\+write$/);
    const key = lines[lines.length - 1].trim();
    const write = await request(server.url).put('/kv/items/k').set('Authorization', `Bearer ${key}`).send({ value: 1 });
    expect(write.status).toBe(201);
  });

  it('creates a read-only key for a prefix that expires, and prints its API object for --json', async () => {
    const { id, apiKey } = await createAccount();
    const expiresAt = new Date(Date.now() + 3600_000).toISOString();
    const run = await runKv(['admin', 'keys', 'create', id, '--read-only', '--prefix', 'flags/', '--expires-at', expiresAt, '--json'], { env: admin });
    expect(run.code).toBe(0);
    const created = JSON.parse(run.stdout);
    expect(created).toMatchObject({ scopes: ['read'], prefix: 'flags/', expiresAt, key: expect.stringMatching(/^kv_/) });
    await request(server.url).put('/kv/items/flags/beta').set('Authorization', `Bearer ${apiKey}`).send({ value: true });
    await request(server.url).put('/kv/items/secret').set('Authorization', `Bearer ${apiKey}`).send({ value: 1 });
    const readOnly = { KV_URL: server.url, KV_API_KEY: created.key };
    expect(await runKv(['get', 'flags/beta'], { env: readOnly })).toEqual({ code: 0, stdout: 'true\n', stderr: '' });
    const outside = await runKv(['get', 'secret'], { env: readOnly });
    expect(outside.code).toBe(3);
    expect(outside.stderr).toMatch(/^kv: forbidden: /);
    const write = await runKv(['set', 'flags/beta', 'false'], { env: readOnly });
    expect(write.code).toBe(3);
    expect(write.stderr).toMatch(/^kv: forbidden: /);
    // Listing and export reach only the prefix, even asked for everything.
    expect(JSON.parse((await runKv(['ls', '--json'], { env: readOnly })).stdout).items.map((item: { key: string }) => item.key)).toEqual(['flags/beta']);
    expect((await runKv(['export'], { env: readOnly })).stdout).toBe('{"key":"flags/beta","value":true,"expiresAt":null}\n');
  });

  it('creates a key that works until its --expires-at and is refused after it', async () => {
    const { id } = await createAccount();
    // Long enough for two `kv` processes to start before it, on a loaded machine (1.5 s was not, once).
    const expiresAt = new Date(Date.now() + 8000);
    const run = await runKv(['admin', 'keys', 'create', id, '--expires-at', expiresAt.toISOString(), '--json'], { env: admin });
    expect(run.code).toBe(0);
    const env = { KV_URL: server.url, KV_API_KEY: JSON.parse(run.stdout).key };
    expect((await runKv(['usage'], { env })).code).toBe(0);
    // Refused on every replica within a second of its expiry.
    await new Promise((resolve) => setTimeout(resolve, expiresAt.getTime() - Date.now() + 1100));
    const refused = await runKv(['usage'], { env });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/^kv: unauthorized: /);
  });

  it('lists the keys of an account with their scopes, prefixes and expiries, never their secrets', async () => {
    const { id, apiKey, keyId } = await createAccount();
    const scoped = JSON.parse((await runKv(['admin', 'keys', 'create', id, '--read-only', '--prefix', 'flags/', '--name', 'flags-reader', '--json'], { env: admin })).stdout);
    const run = await runKv(['admin', 'keys', 'list', id], { env: admin });
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0].split(/\s+/)).toEqual(['ID', 'NAME', 'SCOPES', 'PREFIX', 'EXPIRES', 'CREATED']);
    expect(lines.find((line) => line.startsWith(keyId))!.split(/\s+/).slice(0, 5)).toEqual([keyId, '-', 'read,write', '-', 'never']);
    expect(lines.find((line) => line.startsWith(scoped.id))!.split(/\s+/).slice(0, 5)).toEqual([scoped.id, 'flags-reader', 'read', 'flags/', 'never']);
    expect(run.stdout).not.toContain(apiKey);
    expect(run.stdout).not.toContain(scoped.key);

    const json = JSON.parse((await runKv(['admin', 'keys', 'list', id, '--json'], { env: admin })).stdout);
    expect(json.keys.map((key: { id: string }) => key.id).sort()).toEqual([keyId, scoped.id].sort());
    expect(JSON.stringify(json)).not.toContain(scoped.key);
  });

  it('revokes a key: it stops working, and revoking it again exits 1', async () => {
    const { apiKey, keyId } = await createAccount();
    expect(await runKv(['admin', 'keys', 'revoke', keyId], { env: admin })).toEqual({ code: 0, stdout: `revoked key ${keyId}\n`, stderr: '' });
    const refused = await runKv(['usage'], { env: { KV_URL: server.url, KV_API_KEY: apiKey } });
    expect(refused.code).toBe(3);
    expect(await runKv(['admin', 'keys', 'revoke', keyId, '--json'], { env: admin })).toEqual({ code: 1, stdout: '', stderr: 'kv: not_found: No such API key.\n' });
  });

  it('prints {"id", "revoked"} for --json', async () => {
    const { keyId } = await createAccount();
    expect(await runKv(['admin', 'keys', 'revoke', keyId, '--json'], { env: admin })).toEqual({ code: 0, stdout: `{"id":"${keyId}","revoked":true}\n`, stderr: '' });
  });

  it('exits 2 for an --expires-at that is not a time, before sending anything', async () => {
    const { id } = await createAccount();
    const run = await runKv(['admin', 'keys', 'create', id, '--expires-at', 'tomorrow'], { env: admin });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--expires-at must be an ISO-8601 time, e.g. 2027-01-01T00:00:00Z, not 'tomorrow'");
  });

  it('exits 1 with not_found for keys of an account that does not exist', async () => {
    const run = await runKv(['admin', 'keys', 'create', 'acc_00000000000000000000'], { env: admin });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^kv: not_found: /);
  });
});

describe('kv admin with the admin token', () => {
  it('takes --admin-token over KV_ADMIN_TOKEN', async () => {
    const run = await runKv(['admin', 'accounts', 'create', '--json', '--admin-token', ADMIN_TOKEN], {
      env: { KV_URL: server.url, KV_ADMIN_TOKEN: 'not-the-token' },
    });
    expect(run.code).toBe(0);
  });

  it('exits 3 with unauthorized for a wrong token, without printing it', async () => {
    const run = await runKv(['admin', 'accounts', 'create'], { env: { KV_URL: server.url, KV_ADMIN_TOKEN: 'wrong-admin-token-42' } });
    expect(run.code).toBe(3);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^kv: unauthorized: .+\n$/);
    expect(run.stderr).not.toContain('wrong-admin-token-42');
  });
});
