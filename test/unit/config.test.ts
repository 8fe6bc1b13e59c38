// Configuration: one table, every bad variable reported at once, the process stops with one line each.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, ENV_VARIABLES, loadConfig, SHIPPED_EXAMPLE_SECRETS } from '../../src/config';

const root = path.join(__dirname, '..', '..');

/** The secrets the repository ships as examples: KEY=value lines of .env.example, KEY: value of k8s/secret.yaml. */
function shippedSecrets(): [file: string, name: string, value: string][] {
  const found: [string, string, string][] = [];
  for (const [file, pattern] of [
    ['.env.example', /^(KV_ADMIN_TOKEN|KV_BOOTSTRAP_API_KEY|REDIS_PASSWORD|REDIS_SENTINEL_PASSWORD)=(.+)$/gm],
    ['k8s/secret.yaml', /^\s+(KV_ADMIN_TOKEN|KV_BOOTSTRAP_API_KEY|REDIS_PASSWORD|REDIS_SENTINEL_PASSWORD):\s*(\S+)\s*$/gm],
  ] as const) {
    for (const match of fs.readFileSync(path.join(root, file), 'utf8').matchAll(pattern)) found.push([file, match[1], match[2]]);
  }
  return found;
}

const base = { REDIS_URL: 'redis://127.0.0.1:6379' };

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadConfig', () => {
  it('applies the documented defaults when only REDIS_URL is set', () => {
    const config = loadConfig(base);
    expect(config).toMatchObject({
      port: 8080,
      host: undefined,
      store: { kind: 'redis', redis: { kind: 'standalone', url: 'redis://127.0.0.1:6379' }, prefix: 'kv' },
      adminToken: undefined,
      bootstrapApiKey: undefined,
      maxKeyBytes: 512,
      maxValueBytes: 1_048_576,
      maxTtlSeconds: 31_536_000,
      limits: { maxKeys: 1_000_000, readsPerSecond: 1000, writesPerSecond: 1000 },
      trustProxy: false,
      logLevel: 'info',
    });
  });

  it('chooses the embedded store under ./data when no Redis variable is set', () => {
    expect(loadConfig({}).store).toEqual({ kind: 'sqlite', dataDir: './data' });
    expect(loadConfig({ KV_DATA_DIR: '/var/lib/kv' }).store).toEqual({ kind: 'sqlite', dataDir: '/var/lib/kv' });
  });

  it('chooses Redis when REDIS_URL is set, whatever KV_DATA_DIR says', () => {
    expect(loadConfig({ ...base, KV_DATA_DIR: '/var/lib/kv' }).store).toMatchObject({ kind: 'redis' });
  });

  it('reads every variable of the spec', () => {
    const config = loadConfig({
      ...base,
      PORT: '9000',
      HOST: '127.0.0.1',
      KV_REDIS_PREFIX: 'tenant-a',
      KV_ADMIN_TOKEN: 'a-very-long-admin-token',
      KV_BOOTSTRAP_API_KEY: 'kv_bootstrap_key_0123456789',
      KV_MAX_KEY_BYTES: '256',
      KV_MAX_VALUE_BYTES: '2048',
      KV_MAX_KEYS: '10',
      KV_MAX_TTL_SECONDS: '60',
      KV_READS_PER_SECOND: '5',
      KV_WRITES_PER_SECOND: '6',
      KV_TRUST_PROXY: '1',
      LOG_LEVEL: 'warn',
    });
    expect(config).toMatchObject({
      port: 9000,
      host: '127.0.0.1',
      store: { prefix: 'tenant-a' },
      adminToken: 'a-very-long-admin-token',
      bootstrapApiKey: 'kv_bootstrap_key_0123456789',
      maxKeyBytes: 256,
      maxValueBytes: 2048,
      maxTtlSeconds: 60,
      limits: { maxKeys: 10, readsPerSecond: 5, writesPerSecond: 6 },
      trustProxy: 1,
      logLevel: 'warn',
    });
  });

  it('lists every bad variable at once, one line each', () => {
    const problems = problemsOf({
      ...base,
      PORT: 'eighty',
      KV_MAX_KEYS: '-1',
      KV_READS_PER_SECOND: '1.5',
      LOG_LEVEL: 'loud',
      KV_TRUST_PROXY: 'maybe?',
    });
    expect(problems.map((line) => line.split(':')[0]).sort()).toEqual(
      ['KV_MAX_KEYS', 'KV_READS_PER_SECOND', 'KV_TRUST_PROXY', 'LOG_LEVEL', 'PORT'].sort(),
    );
    expect(problems.find((line) => line.startsWith('PORT'))).toBe('PORT: must be a whole number from 0 to 65535 (got "eighty")');
  });

  it('reads exactly the variables listed in ENV_VARIABLES', () => {
    const readNames = (env: Record<string, string>) => {
      const seen = new Set<string>();
      const tracked = new Proxy(env, {
        get: (target, name) => {
          if (typeof name === 'string') seen.add(name);
          return target[name as string];
        },
      });
      loadConfig(tracked);
      return seen;
    };
    const seen = new Set([...readNames({ REDIS_URL: 'redis://127.0.0.1:6379' }), ...readNames({})]);
    expect([...seen].sort()).toEqual([...ENV_VARIABLES].sort());
  });

  it('allows more than one worker only with Redis', () => {
    expect(loadConfig({ ...base, KV_WORKERS: '2' }).workers).toBe(2);
    expect(problemsOf({ KV_WORKERS: '2' })).toEqual([
      'KV_WORKERS: more than one worker needs Redis (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES); the embedded store serves one process',
    ]);
    expect(problemsOf({ ...base, KV_WORKERS: '0' })).toEqual(['KV_WORKERS: must be a whole number from 1 to 64 (got "0")']);
  });

  it('refuses a REDIS_URL that is not redis:// or rediss://', () => {
    expect(problemsOf({ REDIS_URL: 'http://localhost:6379' })).toEqual(['REDIS_URL: must start with redis:// or rediss://']);
  });

  it('never echoes a secret back in an error', () => {
    const problems = problemsOf({ ...base, KV_ADMIN_TOKEN: 'short', KV_BOOTSTRAP_API_KEY: 'has space in it here' });
    expect(problems).toHaveLength(2);
    expect(problems.join('\n')).not.toContain('short');
    expect(problems.join('\n')).not.toContain('has space');
  });

  it('reads a Redis Cluster from REDIS_CLUSTER_NODES, with credentials and TLS', () => {
    const config = loadConfig({
      REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-1.internal:7001,[::1]:7002,10.0.0.4',
      REDIS_USERNAME: 'kv',
      REDIS_PASSWORD: 'a password',
      REDIS_TLS: 'true',
      REDIS_TLS_CA_FILE: __filename,
    });
    expect(config.store).toEqual({
      kind: 'redis',
      prefix: 'kv',
      commandTimeoutMs: 2000,
      rateLimitSyncMs: 50,
      redis: {
        kind: 'cluster',
        nodes: [
          { host: '10.0.0.1', port: 7000 },
          { host: 'redis-1.internal', port: 7001 },
          { host: '::1', port: 7002 },
          { host: '10.0.0.4', port: 6379 },
        ],
        username: 'kv',
        password: 'a password',
        tls: true,
        tlsCaFile: __filename,
      },
    });
  });

  it('reads a Sentinel group from REDIS_SENTINELS and REDIS_SENTINEL_MASTER', () => {
    const config = loadConfig({
      REDIS_SENTINELS: 'sentinel-0:26379,sentinel-1',
      REDIS_SENTINEL_MASTER: 'mymaster',
      REDIS_SENTINEL_PASSWORD: 'sentinel secret',
      REDIS_PASSWORD: 'data secret',
    });
    expect(config.store).toMatchObject({
      kind: 'redis',
      redis: {
        kind: 'sentinel',
        sentinels: [
          { host: 'sentinel-0', port: 26379 },
          { host: 'sentinel-1', port: 26379 },
        ],
        masterName: 'mymaster',
        sentinelPassword: 'sentinel secret',
        password: 'data secret',
        tls: false,
      },
    });
  });

  it('takes TLS from a rediss:// REDIS_URL, and credentials from the URL or the variables', () => {
    expect(loadConfig({ REDIS_URL: 'rediss://kv:secret@redis.example.com:6380' }).store).toMatchObject({
      redis: { kind: 'standalone', url: 'rediss://kv:secret@redis.example.com:6380', tls: true },
    });
    expect(loadConfig({ ...base, REDIS_USERNAME: 'kv', REDIS_PASSWORD: 'secret' }).store).toMatchObject({
      redis: { kind: 'standalone', username: 'kv', password: 'secret', tls: false },
    });
  });

  it('refuses Redis settings that contradict each other, one line each, never echoing a password', () => {
    expect(problemsOf({ ...base, REDIS_CLUSTER_NODES: '127.0.0.1:7000' })).toEqual([
      'REDIS_URL, REDIS_CLUSTER_NODES: set only one of REDIS_URL, REDIS_CLUSTER_NODES and REDIS_SENTINELS',
    ]);
    expect(problemsOf({ REDIS_SENTINELS: '127.0.0.1:26379' })).toEqual([
      'REDIS_SENTINEL_MASTER: must be set with REDIS_SENTINELS (the master group name, such as mymaster)',
    ]);
    expect(problemsOf({ REDIS_CLUSTER_NODES: '127.0.0.1:7000', REDIS_SENTINEL_MASTER: 'mymaster' })).toEqual([
      'REDIS_SENTINEL_MASTER: applies only with REDIS_SENTINELS',
    ]);
    expect(problemsOf({ REDIS_CLUSTER_NODES: '127.0.0.1:7000', REDIS_TLS_CA_FILE: __filename })).toEqual([
      'REDIS_TLS_CA_FILE: applies only with TLS (REDIS_TLS=true, or a rediss:// REDIS_URL)',
    ]);
    expect(problemsOf({ REDIS_URL: 'rediss://h:6380', REDIS_TLS: 'false' })).toEqual([
      'REDIS_TLS: is false but REDIS_URL starts with rediss://',
    ]);
    expect(problemsOf({ REDIS_URL: 'redis://:pw-in-url@h:6379', REDIS_PASSWORD: 'pw-in-variable' })).toEqual([
      'REDIS_PASSWORD: the password is already in REDIS_URL; set it in one place',
    ]);
    expect(problemsOf({ REDIS_PASSWORD: 'orphan-secret' })).toEqual([
      'REDIS_PASSWORD: applies only with REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS',
    ]);
    expect(problemsOf({ REDIS_CLUSTER_NODES: '127.0.0.1:7000', REDIS_TLS: 'yes' })).toEqual([
      'REDIS_TLS: must be true or false (got "yes")',
    ]);
    expect(problemsOf({ REDIS_CLUSTER_NODES: '127.0.0.1:7000', REDIS_TLS: 'true', REDIS_TLS_CA_FILE: '/no/such/ca.pem' })).toEqual([
      'REDIS_TLS_CA_FILE: is not a readable file (got "/no/such/ca.pem")',
    ]);
    for (const nodes of ['', 'host:99999', 'a:1,,b:2', 'redis://h:1', 'h:port']) {
      expect(problemsOf({ REDIS_CLUSTER_NODES: nodes })).toEqual([
        `REDIS_CLUSTER_NODES: must be a comma-separated list of host:port, such as 10.0.0.1:6379,10.0.0.2:6379 (got ${JSON.stringify(nodes)})`,
      ]);
    }
  });
});

describe('the example secrets shipped with KV', () => {
  it('finds the admin token and the bootstrap key in both example files', () => {
    expect(shippedSecrets().map(([file, name]) => `${file} ${name}`).sort()).toEqual([
      '.env.example KV_ADMIN_TOKEN',
      '.env.example KV_BOOTSTRAP_API_KEY',
      'k8s/secret.yaml KV_ADMIN_TOKEN',
      'k8s/secret.yaml KV_BOOTSTRAP_API_KEY',
    ]);
  });

  it.each(shippedSecrets())('refuses %s %s as it is shipped, in one line naming the variable', (_file, name, value) => {
    expect(SHIPPED_EXAMPLE_SECRETS).toContain(value);
    expect(problemsOf({ [name]: value })).toEqual([
      `${name}: is the example value shipped with KV, which anyone can read; generate a secret of your own`,
    ]);
  });
});

describe('the process with a bad configuration', () => {
  it('exits 1 with one line naming the port when the port is taken, no stack trace', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as net.AddressInfo;
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kv-port-'));
    try {
      const result = spawnSync(process.execPath, [path.join(root, 'dist', 'main.js')], {
        env: { PATH: process.env.PATH, KV_DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'silent' },
        encoding: 'utf8',
        timeout: 10_000,
      });
      expect({ status: result.status, stderr: result.stderr }).toEqual({
        status: 1,
        stderr: `kv: port 127.0.0.1:${port} is already in use (EADDRINUSE); stop what holds it or set PORT\n`,
      });
    } finally {
      holder.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('exits 1 printing one line per bad variable and nothing else', () => {
    const result = spawnSync(process.execPath, [path.join(__dirname, '..', '..', 'dist', 'main.js')], {
      env: { PATH: process.env.PATH, REDIS_URL: 'redis://127.0.0.1:6379', PORT: '99999', KV_MAX_VALUE_BYTES: 'big' },
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n').sort()).toEqual([
      'kv: configuration error: KV_MAX_VALUE_BYTES: must be a whole number from 16 to 67108864 (got "big")',
      'kv: configuration error: PORT: must be a whole number from 0 to 65535 (got "99999")',
    ]);
  });
});
