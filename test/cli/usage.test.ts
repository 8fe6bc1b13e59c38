// The kv CLI's command line: help, --version, and usage errors (exit 2) found before any request is sent.

import fs from 'node:fs';
import path from 'node:path';
import { runKv } from './run-kv';

// Nothing listens here: a usage error must be reported without trying the network (which would be exit 3).
const nowhere = { KV_URL: 'http://127.0.0.1:9', KV_API_KEY: 'kv_usage-test-key', KV_ADMIN_TOKEN: 'usage-test-admin-token' };

const COMMANDS = [
  'get', 'set', 'rm', 'ls', 'incr', 'watch', 'usage', 'export', 'import',
  'admin accounts list', 'admin accounts create', 'admin accounts get', 'admin accounts delete',
  'admin keys list', 'admin keys create', 'admin keys revoke',
];

describe('kv help', () => {
  it('lists every command, the environment and the exit codes', async () => {
    const run = await runKv(['help']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    for (const command of COMMANDS) expect(run.stdout).toContain(`  ${command}`);
    expect(run.stdout).toContain('KV_URL');
    expect(run.stdout).toContain('KV_API_KEY');
    expect(run.stdout).toContain('KV_ADMIN_TOKEN');
    expect(run.stdout).toMatch(/Exit codes: 0 ok, 1 not found .*, 2 usage error, 3 server or network error/);
  });

  it('prints the same overview for --help and -h', async () => {
    const help = await runKv(['help']);
    expect(await runKv(['--help'])).toEqual(help);
    expect(await runKv(['-h'])).toEqual(help);
  });

  it.each(COMMANDS)('prints the usage, options and an example of `%s` for --help and for `kv help`', async (command) => {
    const words = command.split(' ');
    const viaFlag = await runKv([...words, '--help']);
    expect(viaFlag.code).toBe(0);
    expect(viaFlag.stdout).toContain(`Usage: kv ${command}`);
    expect(viaFlag.stdout).toMatch(/Examples?:\n {2}kv /);
    expect(viaFlag.stdout).toContain('--json');
    expect(await runKv(['help', ...words])).toEqual(viaFlag);
  });

  it('lists the commands of a group for `kv admin keys --help`', async () => {
    const run = await runKv(['admin', 'keys', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: kv admin keys <command>');
    expect(run.stdout).toContain('admin keys create <accountId>');
    expect(run.stdout).not.toContain('admin accounts');
  });

  it('prints the package version for --version', async () => {
    const { version } = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../packages/client/package.json'), 'utf8'));
    expect(await runKv(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    expect(await runKv(['get', 'k', '--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });
});

describe('kv usage errors', () => {
  /** A usage error: exit 2, nothing on stdout, one line on stderr naming the problem. */
  async function expectUsageError(args: string[], message: string | RegExp, input?: string): Promise<string> {
    const run = await runKv(args, { env: nowhere, input });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.split('\n')).toHaveLength(2);
    expect(run.stderr).toMatch(/^kv: usage: /);
    expect(run.stderr).toMatch(message);
    return run.stderr;
  }

  it('prints the overview on stderr and exits 2 without a command', async () => {
    const run = await runKv([]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('Usage: kv <command>');
  });

  it('refuses an unknown command', async () => {
    await expectUsageError(['fetch', 'k'], "unknown command 'fetch'");
    await expectUsageError(['admin', 'users', 'list'], "unknown command 'admin users'");
    await expectUsageError(['admin', 'keys', 'rotate', 'key_1'], "unknown command 'admin keys rotate'");
    await expectUsageError(['help', 'fetch'], "unknown command 'fetch'");
  });

  it('asks for a command of a group given alone', async () => {
    await expectUsageError(['admin', 'accounts'], 'kv admin accounts needs a command: list, create, get, delete');
  });

  it('refuses an unknown option, naming it and the help to read', async () => {
    const stderr = await expectUsageError(['get', 'k', '--values'], "unknown option '--values'");
    expect(stderr).toContain('(see `kv help get`)');
    await expectUsageError(['ls', '-x'], "unknown option '-x'");
  });

  it('refuses a string option without its value and a boolean one with a value', async () => {
    await expectUsageError(['set', 'k', '1', '--ttl'], "option '--ttl' needs a value");
    await expectUsageError(['get', 'k', '--json=yes'], "option '--json' does not take a value");
  });

  it('refuses a missing argument and an extra one', async () => {
    await expectUsageError(['get'], 'missing argument: kv get <key>');
    await expectUsageError(['admin', 'keys', 'create'], 'missing argument: kv admin keys create <accountId>');
    await expectUsageError(['get', 'a', 'b'], "unexpected argument 'b'");
    await expectUsageError(['incr', 'hits', '1', '2'], "unexpected argument '2'");
  });

  it('refuses a value that is not JSON, from the argument or from stdin', async () => {
    await expectUsageError(['set', 'k', '{"a": 1'], /not JSON/);
    await expectUsageError(['set', 'k', 'hello'], /not JSON/);
    await expectUsageError(['set', 'k', '-'], /not JSON/, 'not json\n');
    await expectUsageError(['set', 'k'], /not JSON/, '');
  });

  it('refuses numbers that are not what the option takes', async () => {
    await expectUsageError(['set', 'k', '1', '--ttl', 'soon'], '--ttl');
    await expectUsageError(['set', 'k', '1', '--ttl', '1.5'], '--ttl');
    await expectUsageError(['incr', 'k', '1.5'], 'by');
    await expectUsageError(['ls', '--limit', '0'], '--limit');
    await expectUsageError(['import', '-', '--mode', 'replace'], '--mode');
  });

  it('refuses conditions that contradict each other', async () => {
    await expectUsageError(['set', 'k', '1', '--nx', '--if-version', '3'], /--nx.*--if-version/);
  });

  it('refuses a data command without an API key and an admin command without the admin token', async () => {
    const noKey = await runKv(['get', 'k'], { env: { KV_URL: nowhere.KV_URL } });
    expect(noKey).toEqual({ code: 2, stdout: '', stderr: 'kv: usage: no API key: set KV_API_KEY or pass --api-key (see `kv help`)\n' });
    const noToken = await runKv(['admin', 'accounts', 'list'], { env: { KV_URL: nowhere.KV_URL, KV_API_KEY: 'kv_x' } });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('no admin token: set KV_ADMIN_TOKEN or pass --admin-token');
  });

  it('refuses a URL that is not one', async () => {
    await expectUsageError(['get', 'k', '--url', 'localhost:8080'], "not an http(s) URL: 'localhost:8080' (from --url)");
    const fromEnv = await runKv(['get', 'k'], { env: { ...nowhere, KV_URL: 'http//x' } });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toContain("not an http(s) URL: 'http//x' (from KV_URL)");
  });

  it('reads a negative number as an argument, not as an option', async () => {
    // Accepted by the command line, so the request is tried: exit 3 from the network, not 2.
    const run = await runKv(['incr', 'hits', '-5'], { env: nowhere });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/^kv: network_error: /);
  });
});
