// kv get, set, rm, ls, incr and usage, run as a child process against a real server: output, --json, exit codes, stdin.

import request from 'supertest';
import { accountClient, type AccountClient } from '../helpers/client';
import { runKv, startServer, type KvServer } from './run-kv';

let server: KvServer;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server.close();
});

interface Account {
  env: Record<string, string>;
  api: AccountClient;
  apiKey: string;
}

/** A fresh account: the environment that points kv at it, and supertest on its key to arrange and check. */
async function account(limits?: Record<string, number>): Promise<Account> {
  const { apiKey } = await server.test.newAccount(limits);
  return { env: { KV_URL: server.url, KV_API_KEY: apiKey }, api: accountClient(server.url, apiKey), apiKey };
}

describe('kv get', () => {
  it('prints the value as indented JSON, with every digit of a big number', async () => {
    const { env, api } = await account();
    await api.putText('greeting', '{"value": {"hello": "world", "big": 12345678901234567890, "list": [1, {}], "empty": []}}');
    expect(await runKv(['get', 'greeting'], { env })).toEqual({
      code: 0,
      stdout: '{\n  "hello": "world",\n  "big": 12345678901234567890,\n  "list": [\n    1,\n    {}\n  ],\n  "empty": []\n}\n',
      stderr: '',
    });
  });

  it('prints the API data object for --json, value included', async () => {
    const { env, api } = await account();
    await api.put('config/app', { value: { theme: 'dark', retries: 3 } });
    const run = await runKv(['get', 'config/app', '--json'], { env });
    expect(run.code).toBe(0);
    expect(run.stdout.endsWith('\n')).toBe(true);
    expect(JSON.parse(run.stdout)).toEqual((await api.get('config/app')).body.data);
  });

  it('keeps the digits of a big number under --json', async () => {
    const { env, api } = await account();
    await api.putText('n', '{"value": 12345678901234567890}');
    const run = await runKv(['get', 'n', '--json'], { env });
    expect(run.stdout).toContain('"value":12345678901234567890');
  });

  it('reads keys with slashes, dots and characters URLs reserve as the keys they are', async () => {
    const { env, api } = await account();
    for (const key of ['a/../b', 'q?x=1#frag', '100%', 'sp ace/ü']) {
      expect((await runKv(['set', key, JSON.stringify(key)], { env })).code).toBe(0);
      expect(await runKv(['get', key], { env })).toEqual({ code: 0, stdout: `${JSON.stringify(key)}\n`, stderr: '' });
    }
    const listed = await api.list();
    expect(listed.body.data.items.map((item: { key: string }) => item.key).sort()).toEqual(['100%', 'a/../b', 'q?x=1#frag', 'sp ace/ü']);
  });

  it('exits 1 with not_found on stderr when the key does not exist', async () => {
    const { env } = await account();
    expect(await runKv(['get', 'missing'], { env })).toEqual({ code: 1, stdout: '', stderr: 'kv: not_found: No such key.\n' });
  });
});

describe('kv set', () => {
  it('creates a key from the JSON argument, then replaces it', async () => {
    const { env, api } = await account();
    const created = await runKv(['set', 'greeting', '{"hello": "world"}'], { env });
    const first = (await api.get('greeting')).body.data;
    expect(created).toEqual({ code: 0, stdout: `created greeting (version ${first.version})\n`, stderr: '' });
    expect(first.value).toEqual({ hello: 'world' });

    const replaced = await runKv(['set', 'greeting', '"hi"'], { env });
    const second = (await api.get('greeting')).body.data;
    expect(replaced).toEqual({ code: 0, stdout: `replaced greeting (version ${second.version})\n`, stderr: '' });
    expect(second.value).toBe('hi');
  });

  it('reads the value from stdin for - and when no value is given', async () => {
    const { env, api } = await account();
    expect((await runKv(['set', 'a', '-'], { env, input: '{\n  "from": "stdin"\n}\n' })).code).toBe(0);
    expect((await runKv(['set', 'b'], { env, input: '[1, 2, 3]' })).code).toBe(0);
    expect((await api.get('a')).body.data.value).toEqual({ from: 'stdin' });
    expect((await api.get('b')).body.data.value).toEqual([1, 2, 3]);
  });

  it('stores the value with its digits, escapes and key order as written', async () => {
    const { env, api } = await account();
    await runKv(['set', 'n', '{"z": 12345678901234567890, "a": "\\u00e9", "f": 1.50}'], { env });
    const res = await fetch(`${server.url}/kv/items/n`, { headers: { Authorization: api.auth } });
    expect(await res.text()).toContain('"value":{"z":12345678901234567890,"a":"\\u00e9","f":1.50}');
  });

  it('stores a negative number given as the argument', async () => {
    const { env, api } = await account();
    expect((await runKv(['set', 't', '-1.5'], { env })).code).toBe(0);
    expect((await api.get('t')).body.data.value).toBe(-1.5);
  });

  it('sets a TTL with --ttl', async () => {
    const { env, api } = await account();
    const before = Date.now();
    expect((await runKv(['set', 'session/1', '{"user": 42}', '--ttl', '3600'], { env })).code).toBe(0);
    const expiresAt = Date.parse((await api.get('session/1')).body.data.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 3600_000 - 1000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 3600_000 + 1000);
  });

  it('writes with --if-version only at that version, and exits 1 with the current version otherwise', async () => {
    const { env, api } = await account();
    const v1 = (await api.put('c', { value: 1 })).body.data.version;
    expect((await runKv(['set', 'c', '2', '--if-version', v1], { env })).code).toBe(0);
    const v2 = (await api.get('c')).body.data.version;
    const stale = await runKv(['set', 'c', '3', '--if-version', v1], { env });
    expect(stale).toEqual({
      code: 1,
      stdout: '',
      stderr: `kv: precondition_failed: The condition on the current version did not hold. (current version: ${v2})\n`,
    });
    expect((await api.get('c')).body.data.value).toBe(2);
  });

  it('creates with --nx only when the key does not exist, and exits 1 when it does', async () => {
    const { env, api } = await account();
    expect((await runKv(['set', 'lock', '"me"', '--nx'], { env })).code).toBe(0);
    const version = (await api.get('lock')).body.data.version;
    const taken = await runKv(['set', 'lock', '"you"', '--nx'], { env });
    expect(taken.code).toBe(1);
    expect(taken.stdout).toBe('');
    expect(taken.stderr).toBe(`kv: precondition_failed: The condition on the current version did not hold. (current version: ${version})\n`);
    expect((await api.get('lock')).body.data.value).toBe('me');
  });

  it('prints the API data object for --json', async () => {
    const { env, api } = await account();
    const run = await runKv(['set', 'k', '{"a": 1}', '--ttl', '60', '--json'], { env });
    expect(run.code).toBe(0);
    const item = (await api.get('k')).body.data;
    expect(JSON.parse(run.stdout)).toEqual({
      key: 'k',
      version: item.version,
      expiresAt: item.expiresAt,
      createdAt: item.createdAt,
      updatedAt: item.updatedAt,
    });
  });

  it('exits 2 with the API error when the server refuses the input', async () => {
    const { env } = await account();
    const run = await runKv(['set', 'k', '1', '--ttl', '999999999'], { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^kv: invalid_request: /);
  });
});

describe('kv rm', () => {
  it('deletes the key', async () => {
    const { env, api } = await account();
    await api.put('k', { value: 1 });
    expect(await runKv(['rm', 'k'], { env })).toEqual({ code: 0, stdout: 'deleted k\n', stderr: '' });
    expect((await api.get('k')).status).toBe(404);
  });

  it('prints the deleted key as JSON for --json', async () => {
    const { env, api } = await account();
    await api.put('k', { value: 1 });
    expect(await runKv(['rm', 'k', '--json'], { env })).toEqual({ code: 0, stdout: '{"key":"k","deleted":true}\n', stderr: '' });
  });

  it('exits 1 with not_found when the key does not exist', async () => {
    const { env } = await account();
    expect(await runKv(['rm', 'nothing'], { env })).toEqual({ code: 1, stdout: '', stderr: 'kv: not_found: No such key.\n' });
  });

  it('deletes with --if-version only at that version', async () => {
    const { env, api } = await account();
    const v1 = (await api.put('k', { value: 1 })).body.data.version;
    await api.put('k', { value: 2 });
    const stale = await runKv(['rm', 'k', '--if-version', v1], { env });
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/^kv: precondition_failed: /);
    expect((await api.get('k')).status).toBe(200);
    const current = (await api.get('k')).body.data.version;
    expect((await runKv(['rm', 'k', '--if-version', current], { env })).code).toBe(0);
    expect((await api.get('k')).status).toBe(404);
  });
});

describe('kv ls', () => {
  /** Creates `count` keys `<prefix>0000`, `<prefix>0001`, … with their index as value, 100 per commit. */
  async function fill(api: AccountClient, prefix: string, count: number): Promise<void> {
    for (let start = 0; start < count; start += 100) {
      const ops = Array.from({ length: Math.min(100, count - start) }, (_, i) => ({
        op: 'set',
        key: `${prefix}${String(start + i).padStart(4, '0')}`,
        value: start + i,
      }));
      const res = await request(server.url).post('/kv/items:commit').set('Authorization', api.auth).send({ ops });
      expect(res.status).toBe(200);
    }
  }

  it('prints a table of keys, versions and expiries under a prefix', async () => {
    const { env, api } = await account();
    await api.put('flags/a', { value: true });
    await api.put('flags/b', { value: false, ttlSeconds: 600 });
    await api.put('other', { value: 1 });
    const a = (await api.get('flags/a')).body.data;
    const b = (await api.get('flags/b')).body.data;
    const run = await runKv(['ls', 'flags/'], { env });
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0].split(/\s+/)).toEqual(['KEY', 'VERSION', 'EXPIRES']);
    expect(lines[1].split(/\s+/)).toEqual(['flags/a', a.version, 'never']);
    expect(lines[2].split(/\s+/)).toEqual(['flags/b', b.version, b.expiresAt]);
  });

  it('adds a VALUE column with --values', async () => {
    const { env, api } = await account();
    await api.putText('f/big', '{"value": {"n": 12345678901234567890}}');
    const run = await runKv(['ls', '--values'], { env });
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0].split(/\s+/)).toEqual(['KEY', 'VERSION', 'EXPIRES', 'VALUE']);
    expect(lines[1]).toMatch(/^f\/big\s+\d+\s+never\s+\{"n":12345678901234567890\}$/);
  });

  it('lists every page, and at most --limit keys', async () => {
    const { env, api } = await account({ writesPerSecond: 100000 });
    await fill(api, 'p/', 1050);
    const all = await runKv(['ls', 'p/', '--json'], { env });
    expect(all.code).toBe(0);
    const items = JSON.parse(all.stdout).items as { key: string }[];
    expect(items).toHaveLength(1050);
    expect(items[0].key).toBe('p/0000');
    expect(items[1049].key).toBe('p/1049');

    const limited = await runKv(['ls', 'p/', '--limit', '3'], { env });
    expect(limited.stdout.trimEnd().split('\n').map((line) => line.split(/\s+/)[0])).toEqual(['KEY', 'p/0000', 'p/0001', 'p/0002']);
  });

  it('prints the API item objects for --json, values included with --values', async () => {
    const { env, api } = await account();
    await api.put('a', { value: { x: 1 } });
    await api.put('b', { value: [2] });
    const plain = await runKv(['ls', '--json'], { env });
    expect(JSON.parse(plain.stdout)).toEqual({ items: (await api.list()).body.data.items });
    const withValues = await runKv(['ls', '--json', '--values'], { env });
    expect(JSON.parse(withValues.stdout)).toEqual({ items: (await api.list('?values=true')).body.data.items });
  });

  it('prints nothing and exits 0 when no key matches', async () => {
    const { env } = await account();
    expect(await runKv(['ls', 'none/'], { env })).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await runKv(['ls', 'none/', '--json'], { env })).toEqual({ code: 0, stdout: '{"items":[]}\n', stderr: '' });
  });
});

describe('kv incr', () => {
  it('adds 1, or the amount given (negative too), and prints the new value', async () => {
    const { env } = await account();
    expect(await runKv(['incr', 'hits'], { env })).toEqual({ code: 0, stdout: '1\n', stderr: '' });
    expect(await runKv(['incr', 'hits', '10'], { env })).toEqual({ code: 0, stdout: '11\n', stderr: '' });
    expect(await runKv(['incr', 'hits', '-5'], { env })).toEqual({ code: 0, stdout: '6\n', stderr: '' });
  });

  it('prints the item with its value for --json', async () => {
    const { env, api } = await account();
    const run = await runKv(['incr', 'hits', '2', '--json'], { env });
    expect(JSON.parse(run.stdout)).toEqual((await api.get('hits')).body.data);
  });

  it('exits 1 with type_mismatch when the value is not an integer', async () => {
    const { env } = await account();
    await runKv(['set', 'name', '"kv"'], { env });
    const run = await runKv(['incr', 'name'], { env });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^kv: type_mismatch: .+\n$/);
  });
});

describe('kv usage', () => {
  it('prints the key count and the limits', async () => {
    const { env, api } = await account({ maxKeys: 500 });
    await api.put('a', { value: 1 });
    await api.put('b', { value: 2 });
    const run = await runKv(['usage'], { env });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^keys\s+2$/m);
    expect(run.stdout).toMatch(/^maxKeys\s+500$/m);
    expect(run.stdout).toMatch(/^writesPerSecond\s+\d+$/m);
    expect(run.stdout).toMatch(/^maxValueBytes\s+1048576$/m);
  });

  it('prints the API data object for --json', async () => {
    const { env, api } = await account();
    const run = await runKv(['usage', '--json'], { env });
    expect(JSON.parse(run.stdout)).toEqual((await api.usage()).body.data);
  });
});

describe('where kv connects', () => {
  it('takes --url over KV_URL and --api-key over KV_API_KEY', async () => {
    const { apiKey, api } = await account();
    await api.put('k', { value: 'here' });
    const env = { KV_URL: 'http://127.0.0.1:9', KV_API_KEY: 'kv_not-this-one' };
    expect(await runKv(['get', 'k', '--url', server.url, '--api-key', apiKey], { env })).toEqual({ code: 0, stdout: '"here"\n', stderr: '' });
    expect(await runKv(['get', 'k', `--url=${server.url}`, `--api-key=${apiKey}`], { env })).toEqual({ code: 0, stdout: '"here"\n', stderr: '' });
  });

  it('uses KV_URL and KV_API_KEY when no option is given', async () => {
    const { env, api } = await account();
    await api.put('k', { value: 'here' });
    expect(await runKv(['get', 'k'], { env })).toEqual({ code: 0, stdout: '"here"\n', stderr: '' });
  });

  it('takes global options before the command as well as after it', async () => {
    const { env, api } = await account();
    await api.put('k', { value: 1 });
    const run = await runKv(['--json', 'get', 'k'], { env });
    expect(JSON.parse(run.stdout).value).toBe(1);
  });
});
