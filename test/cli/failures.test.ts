// kv against a server that refuses or fails, or no server at all: exit 3, one line on stderr, and never a credential in the output.

import request from 'supertest';
import { ADMIN_TOKEN } from '../helpers/admin-token';
import { refusedPort } from '../helpers/processes';
import { runKv, startServer, type KvRun, type KvServer } from './run-kv';

/** A server failure: exit 3, nothing on stdout, one line on stderr with the code, no credential anywhere. */
function expectServerError(run: KvRun, code: string, secrets: string[]): void {
  expect(run.code).toBe(3);
  expect(run.stdout).toBe('');
  expect(run.stderr).toMatch(new RegExp(`^kv: ${code}: [^\\n]+\\n$`));
  for (const secret of secrets) {
    expect(run.stdout).not.toContain(secret);
    expect(run.stderr).not.toContain(secret);
  }
}

describe('kv when the server refuses', () => {
  let server: KvServer;

  beforeAll(async () => {
    // One failed authentication a minute per address: the second wrong key is throttled (429).
    server = await startServer({ KV_AUTH_FAILURES_PER_MINUTE: '1' });
  });

  afterAll(async () => {
    await server.close();
  });

  it('exits 3 with forbidden when a read-only key writes', async () => {
    const { accountId } = await server.test.newAccount();
    const res = await request(server.url)
      .post(`/admin/accounts/${accountId}/keys`)
      .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
      .send({ scopes: ['read'] });
    const readOnly = res.body.data.apiKey.key as string;
    const run = await runKv(['set', 'k', '1'], { env: { KV_URL: server.url, KV_API_KEY: readOnly } });
    expectServerError(run, 'forbidden', [readOnly]);
  });

  it('exits 3 with unauthorized for an unknown key, then rate_limited once the address is throttled, never printing the key', async () => {
    const wrong = 'kv_this-is-not-a-key-0123456789';
    const first = await runKv(['get', 'k'], { env: { KV_URL: server.url, KV_API_KEY: wrong } });
    expectServerError(first, 'unauthorized', [wrong]);
    // The throttle says to retry in up to a minute: kv reports it at once instead of waiting.
    const started = Date.now();
    const second = await runKv(['ls', '--api-key', wrong], { env: { KV_URL: server.url } });
    expectServerError(second, 'rate_limited', [wrong]);
    expect(second.stderr).toMatch(/\(retry after \d+ s\)\n$/);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('kv output on success', () => {
  it('never carries the API key or the admin token, whatever the command and output mode', async () => {
    const server = await startServer();
    try {
      const { accountId, apiKey } = await server.test.newAccount();
      const env = { KV_URL: server.url, KV_API_KEY: apiKey, KV_ADMIN_TOKEN: ADMIN_TOKEN };
      const commands = [
        ['set', 'k', '{"a": 1}'], ['get', 'k'], ['ls', '--values'], ['incr', 'n'], ['usage'], ['export'], ['rm', 'k'],
        ['admin', 'accounts', 'get', accountId], ['admin', 'keys', 'list', accountId], ['admin', 'accounts', 'list'],
      ];
      for (const mode of [[], ['--json']]) {
        for (const args of commands) {
          const run = await runKv([...args, ...mode], { env });
          expect({ args: [...args, ...mode], code: run.code }).toEqual({ args: [...args, ...mode], code: 0 });
          for (const secret of [apiKey, ADMIN_TOKEN]) expect(run.stdout + run.stderr).not.toContain(secret);
        }
      }
    } finally {
      await server.close();
    }
  });
});

describe('kv when the store is down', () => {
  it('exits 3 with unavailable after the client has retried what is safe to retry', async () => {
    const server = await startServer();
    try {
      const { apiKey } = await server.test.newAccount();
      await server.test.testStore.cutOff();
      const env = { KV_URL: server.url, KV_API_KEY: apiKey };
      expectServerError(await runKv(['get', 'k'], { env }), 'unavailable', [apiKey]);
      expectServerError(await runKv(['set', 'k', '1'], { env }), 'unavailable', [apiKey]);
    } finally {
      await server.close();
    }
  });
});

describe('kv without a server', () => {
  it('exits 3 with network_error naming the URL and the reason, never the credentials', async () => {
    const url = `http://127.0.0.1:${await refusedPort()}`;
    const apiKey = 'kv_network-test-secret-key';
    const adminToken = 'network-test-admin-token';
    for (const args of [['get', 'k'], ['ls'], ['admin', 'accounts', 'list']]) {
      const run = await runKv(args, { env: { KV_URL: url, KV_API_KEY: apiKey, KV_ADMIN_TOKEN: adminToken } });
      expectServerError(run, 'network_error', [apiKey, adminToken]);
      expect(run.stderr).toContain(`cannot reach ${url}`);
      expect(run.stderr).toContain('ECONNREFUSED');
    }
  });

  it('never prints credentials given as options, even in usage errors', async () => {
    const apiKey = 'kv_option-secret-key-9876';
    const run = await runKv(['get', 'k', apiKey, '--api-key', apiKey]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("kv: usage: unexpected argument '***' (see `kv help get`)\n");
  });
});
