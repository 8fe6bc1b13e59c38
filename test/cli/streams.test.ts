// kv watch, export and import, run as child processes against a real server: the lines they print, files and stdin, exit codes.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { accountClient, type AccountClient } from '../helpers/client';
import { openWatch } from '../helpers/watch';
import { childEnv, KV_BIN, runKv, startKv, startServer, type KvServer } from './run-kv';

let server: KvServer;
let dir: string;

beforeAll(async () => {
  server = await startServer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kv-cli-'));
});

afterAll(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  await server.close();
});

async function account(): Promise<{ env: Record<string, string>; api: AccountClient }> {
  const { apiKey } = await server.test.newAccount();
  return { env: { KV_URL: server.url, KV_API_KEY: apiKey }, api: accountClient(server.url, apiKey) };
}

/** GET /kv/export?prefix= as text, to compare kv's output with. */
async function exportText(api: AccountClient, prefix = ''): Promise<string> {
  const res = await fetch(`${server.url}/kv/export?prefix=${encodeURIComponent(prefix)}`, { headers: { Authorization: api.auth } });
  expect(res.status).toBe(200);
  return res.text();
}

describe('kv export', () => {
  it('prints the NDJSON lines of the API, digits intact, under a prefix', async () => {
    const { env, api } = await account();
    await api.putText('config/a', '{"value": {"n": 12345678901234567890}}');
    await api.put('config/b', { value: 'x', ttlSeconds: 600 });
    await api.put('other', { value: 1 });
    const run = await runKv(['export', 'config/'], { env });
    expect(run).toEqual({ code: 0, stdout: await exportText(api, 'config/'), stderr: '' });
    expect(run.stdout.split('\n')[0]).toBe('{"key":"config/a","value":{"n":12345678901234567890},"expiresAt":null}');
    expect(run.stdout.trimEnd().split('\n')).toHaveLength(2);
  });

  it('prints the same NDJSON with --json, and nothing for an empty account', async () => {
    const { env, api } = await account();
    expect(await runKv(['export'], { env })).toEqual({ code: 0, stdout: '', stderr: '' });
    await api.put('k', { value: [1] });
    expect(await runKv(['export', '--json'], { env })).toEqual({ code: 0, stdout: '{"key":"k","value":[1],"expiresAt":null}\n', stderr: '' });
  });
});

describe('kv export into a pipe that closes', () => {
  it('ends quietly with exit 0 when the reader goes away, as `kv export | head -1`', async () => {
    const { env } = await account();
    const lines = Array.from({ length: 3000 }, (_, i) => `{"key":"k/${String(i).padStart(4, '0')}","value":"${'x'.repeat(40)}"}`);
    expect((await runKv(['import'], { env, input: lines.join('\n'), timeoutMs: 20000 })).code).toBe(0);
    const child = spawn(process.execPath, [KV_BIN, 'export'], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // The first chunk read, the pipe is closed with far more than a pipe's buffer still to write.
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  });
});

describe('kv import', () => {
  const lines = ['{"key":"a","value":{"n":12345678901234567890}}', '{"key":"b","value":"two","expiresAt":null}', ''].join('\n');

  it('applies the lines of a file and prints what it did', async () => {
    const { env, api } = await account();
    const file = path.join(dir, 'import-file.ndjson');
    fs.writeFileSync(file, lines);
    expect(await runKv(['import', file], { env })).toEqual({ code: 0, stdout: 'created 2, replaced 0, skipped 0, failed 0\n', stderr: '' });
    expect(await exportText(api)).toBe('{"key":"a","value":{"n":12345678901234567890},"expiresAt":null}\n{"key":"b","value":"two","expiresAt":null}\n');
  });

  it('reads stdin for - and when no file is given', async () => {
    const { env, api } = await account();
    expect((await runKv(['import', '-'], { env, input: lines })).code).toBe(0);
    const other = await account();
    expect((await runKv(['import'], { env: other.env, input: lines })).code).toBe(0);
    expect(await exportText(other.api)).toBe(await exportText(api));
  });

  it('leaves existing keys alone by default and replaces them with --mode overwrite', async () => {
    const { env, api } = await account();
    await api.put('a', { value: 'old' });
    expect((await runKv(['import'], { env, input: lines })).stdout).toBe('created 1, replaced 0, skipped 1, failed 0\n');
    expect((await api.get('a')).body.data.value).toBe('old');
    expect((await runKv(['import', '--mode', 'overwrite'], { env, input: lines })).stdout).toBe('created 0, replaced 2, skipped 0, failed 0\n');
    expect((await api.get('b')).body.data.value).toBe('two');
    expect((await api.get('a')).body.data.value).toEqual({ n: 12345678901234567890 });
  });

  it('applies the good lines, lists the bad ones on stderr and exits 1', async () => {
    const { env, api } = await account();
    const input = '{"key":"good","value":1}\nnot json\n{"key":"also-good","value":2}\n{"key":"x"}\n';
    const run = await runKv(['import'], { env, input });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('created 2, replaced 0, skipped 0, failed 2\n');
    const failures = run.stderr.trimEnd().split('\n');
    expect(failures).toHaveLength(2);
    expect(failures[0]).toMatch(/^line 2: invalid_json: /);
    expect(failures[1]).toMatch(/^line 4: invalid_request: /);
    expect((await api.get('also-good')).body.data.value).toBe(2);
  });

  it('prints the API report for --json', async () => {
    const { env } = await account();
    const run = await runKv(['import', '--json'], { env, input: '{"key":"a","value":1}\n[]\n' });
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report).toEqual({ created: 1, replaced: 0, skipped: 0, failed: [{ line: 2, error: expect.objectContaining({ code: 'invalid_request' }) }] });
  });

  it('exits 2 for a file that does not exist', async () => {
    const { env } = await account();
    const run = await runKv(['import', path.join(dir, 'missing.ndjson')], { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("cannot read '");
    expect(run.stderr).toContain('no such file');
  });

  it('restores what kv export wrote into another account', async () => {
    const source = await account();
    const target = await account();
    await source.api.putText('cfg', '{"value": {"big": 12345678901234567890, "s": "\\u00e9"}}');
    await source.api.put('session/1', { value: { user: 1 }, ttlSeconds: 3600 });
    const exported = await runKv(['export'], { env: source.env });
    const imported = await runKv(['import'], { env: target.env, input: exported.stdout });
    expect(imported.stdout).toBe('created 2, replaced 0, skipped 0, failed 0\n');
    expect(await exportText(target.api)).toBe(exported.stdout);
  });
});

describe('kv watch', () => {
  /** The id of an event under `prefix`, made now: `kv watch --since` it sees every later change, however late it connects. */
  async function cursor(api: AccountClient, prefix: string): Promise<string> {
    const stream = await openWatch(server.url, api.auth, `?prefix=${encodeURIComponent(prefix)}`);
    await api.put(`${prefix}start`, { value: 0 });
    const event = await stream.next();
    stream.close();
    return event.id!;
  }

  it('prints a line per change under the prefix until interrupted, then exits 0', async () => {
    const { env, api } = await account();
    const since = await cursor(api, 'flags/');
    const watch = startKv(['watch', 'flags/', '--since', since], env);
    const v1 = (await api.put('flags/beta', { value: true, ttlSeconds: 600 })).body.data;
    await api.put('other/x', { value: 1 });
    await api.del('flags/beta');
    const lines = await watch.lines(2);
    expect(lines).toEqual([`set flags/beta version=${v1.version} expiresAt=${v1.expiresAt}`, `delete flags/beta version=${v1.version} expiresAt=${v1.expiresAt}`]);
    const ended = await watch.interrupt();
    expect(ended.code).toBe(0);
    expect(ended.stderr).toBe('');
  });

  it('prints each event as a JSON line with --json, values with --values', async () => {
    const { env, api } = await account();
    const since = await cursor(api, 'f/');
    const watch = startKv(['watch', 'f/', '--since', since, '--json', '--values'], env);
    await api.putText('f/big', '{"value": {"n": 12345678901234567890}}');
    const [line] = await watch.lines(1);
    const version = (await api.get('f/big')).body.data.version;
    expect(line).toMatch(new RegExp(`^\\{"id":"[^"]+","event":"set","key":"f/big","version":"${version}","expiresAt":null,"value":\\{"n":12345678901234567890\\}\\}$`));
    await watch.interrupt();
  });

  it('resumes after --since with nothing missed: a second watch from the first one\'s id', async () => {
    const { env, api } = await account();
    const since = await cursor(api, 'r/');
    const first = startKv(['watch', 'r/', '--since', since, '--json'], env);
    await api.put('r/1', { value: 1 });
    const [seen] = await first.lines(1);
    await first.interrupt();
    await api.put('r/2', { value: 2 });
    await api.put('r/3', { value: 3 });
    const second = startKv(['watch', 'r/', '--since', JSON.parse(seen).id, '--json'], env);
    const keys = (await second.lines(2)).map((line) => JSON.parse(line).key);
    expect(keys).toEqual(['r/2', 'r/3']);
    await second.interrupt();
  });

  it('exits 3 at once when the key is refused, instead of waiting for events', async () => {
    const run = await runKv(['watch'], { env: { KV_URL: server.url, KV_API_KEY: 'kv_not-a-key' } });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/^kv: unauthorized: /);
  });

  it('exits 2 for a --since the API did not send', async () => {
    const { env } = await account();
    const run = await runKv(['watch', '--since', 'nonsense'], { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^kv: invalid_request: /);
  });
});
