// The programs in examples/, each run as a child process against a real server: they exit 0 and print what they showed.

import path from 'node:path';
import { ADMIN_TOKEN } from '../helpers/admin-token';
import { runNode, startServer, type KvServer } from '../cli/run-kv';

let server: KvServer;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server.close();
});

/** Runs examples/<name>.mjs with KV_URL, KV_API_KEY (of a fresh account), KV_ACCOUNT_ID and KV_ADMIN_TOKEN; expects exit 0. */
async function runExample(name: string): Promise<string[]> {
  const { accountId, apiKey } = await server.test.newAccount();
  const run = await runNode(path.resolve(__dirname, '../../examples', `${name}.mjs`), [], {
    env: { KV_URL: server.url, KV_API_KEY: apiKey, KV_ACCOUNT_ID: accountId, KV_ADMIN_TOKEN: ADMIN_TOKEN },
    timeoutMs: 20000,
  });
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
  return run.stdout.trimEnd().split('\n');
}

describe('examples', () => {
  it('feature-flags: a read-only key scoped to flags/ reads the flags, follows every change and revalidates one', async () => {
    const lines = await runExample('feature-flags');
    expect(lines).toEqual([
      'operator wrote 2 flags under flags/ (and billing/api-secret, which is not a flag)',
      expect.stringMatching(/^created API key key_[0-9a-f]{20}: read-only, only keys under flags\/, until \d{4}-\d\d-\d\dT/),
      'service cannot read billing/api-secret: 403 forbidden',
      'service cannot write flags: 403 forbidden',
      'service loaded 2 flags: flags/checkout-v2, flags/dark-mode',
      'service sees flags/dark-mode = {"enabled":true,"rollout":50}',
      'service sees flags/checkout-v2 = {"enabled":true}',
      'service sees flags/dark-mode deleted',
      'service followed every change: rollout 50%, checkout-v2 on, dark-mode gone',
      expect.stringMatching(/^revalidated flags\/checkout-v2 at version \d+: unchanged \(304\)$/),
      expect.stringMatching(/^revalidated flags\/checkout-v2 again: version \d+, \{"enabled":true,"rollout":100\}$/),
      expect.stringMatching(/^revoked API key key_[0-9a-f]{20}: refused from now on$/),
      'ok: the service read only flags/ and followed every change',
    ]);
  });

  it('sessions: a session with a TTL lives while it is refreshed and expires when left idle', async () => {
    const lines = await runExample('sessions');
    expect(lines[0]).toMatch(/^created examples\/sessions\/[0-9a-f-]{36}, expires at /);
    expect(lines.slice(2)).toEqual([
      expect.stringMatching(/^refreshed: expires at \S+ instead of \S+$/),
      'still there after its first expiry: the refresh kept it alive',
      'expired: after its TTL the session is gone',
      'ok: sessions expire unless refreshed',
    ]);
  });

  it('config: concurrent update() calls from several workers lose no change', async () => {
    const lines = await runExample('config');
    expect(lines[0]).toBe('5 workers each make 4 changes to "examples/config/app" at the same time');
    expect(lines[1]).toMatch(/^config at version \d+: 20 changes, 20 entries$/);
    expect(lines[lines.length - 1]).toBe('ok: no update was lost');
  });

  it('counter: concurrent increments add up exactly', async () => {
    const lines = await runExample('counter');
    expect(lines).toEqual([
      '10 callers each add 1 to "examples/counter/page-views" 25 times, all at once',
      'total: 250 (expected 250)',
      'increment by a negative amount takes it back to 0',
      'ok: no increment was lost',
    ]);
  });
});
