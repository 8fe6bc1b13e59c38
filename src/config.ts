// The only reader of process.env: one table of settings, each parsed and checked at start-up.

import fs from 'node:fs';
import type { Limits } from './limits';

export interface HostPort {
  host: string;
  port: number;
}

/** Where Redis is, in one of its three topologies, and how to authenticate and encrypt. */
export type RedisConnection = (
  | { kind: 'standalone'; url: string }
  | { kind: 'cluster'; nodes: HostPort[] }
  | { kind: 'sentinel'; sentinels: HostPort[]; masterName: string; sentinelPassword?: string }
) & {
  /** ACL user and password of the data nodes; with REDIS_URL they may also sit in the URL. */
  username?: string;
  password?: string;
  /** TLS to the data nodes (and the sentinels): rediss:// or REDIS_TLS=true. */
  tls: boolean;
  /** PEM file of the CA that signed the servers' certificates; the system's CAs when unset. */
  tlsCaFile?: string;
};

/** Redis when a Redis variable is set; otherwise the embedded SQLite store under KV_DATA_DIR. */
export type StoreConfig =
  | {
      kind: 'redis';
      redis: RedisConnection;
      prefix: string;
      commandTimeoutMs: number;
      /** How often replicas add their account rate-limit counts to Redis; 0 counts every request in Redis. */
      rateLimitSyncMs: number;
    }
  | { kind: 'sqlite'; dataDir: string };

export interface Config {
  port: number;
  /** Undefined: listen on every interface, as Node does by default. */
  host: string | undefined;
  store: StoreConfig;
  adminToken: string | undefined;
  bootstrapApiKey: string | undefined;
  maxKeyBytes: number;
  maxValueBytes: number;
  maxTtlSeconds: number;
  /** The defaults of the per-account limits. */
  limits: Limits;
  /** Failed authentications per minute per client IP before that IP gets 429 for the rest of the minute. */
  authFailuresPerMinute: number;
  /** Processes serving the port (node:cluster); more than 1 only with Redis, which they share. */
  workers: number;
  /** When set, /metrics and /admin/* are served only on this port, not on `port`. */
  internalPort: number | undefined;
  /** Origins allowed to call the API from a browser (CORS): a list, '*' for any, empty for none. */
  corsOrigins: string[] | '*';
  /** Log every change for watchers (and so serve GET /kv/watch); off saves the log's Redis work and memory. */
  changeLog: boolean;
  /** Open watch streams allowed per account, across all replicas. */
  watchersPerAccount: number;
  /** A comment line on every watch stream this often, so proxies keep it open. */
  watchHeartbeatSeconds: number;
  /** The request line and headers must arrive within this (slowloris); 408 otherwise. */
  headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this; 408 otherwise. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this; above a load balancer's idle timeout. */
  keepAliveTimeoutMs: number;
  /** Express's `trust proxy` setting: false, true, a hop count, or a list of addresses/subnets. */
  trustProxy: boolean | number | string;
  logLevel: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;
type Parser<T> = (raw: string) => T;

const integer =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    if (!/^\d+$/.test(raw.trim())) throw new Error(`must be a whole number from ${min} to ${max}`);
    const n = Number(raw.trim());
    if (n < min || n > max) throw new Error(`must be a whole number from ${min} to ${max}`);
    return n;
  };

const nonEmpty: Parser<string> = (raw) => {
  if (raw.trim() === '') throw new Error('must not be empty');
  return raw;
};

/**
 * The example secrets shipped in .env.example and k8s/secret.yaml: public, so never accepted (a
 * test checks this list against those files).
 */
export const SHIPPED_EXAMPLE_SECRETS: readonly string[] = [
  'example-admin-token-change-me',
  'kv_example_bootstrap_key_change_me',
  'example-admin-token-REPLACE-ME',
  'kv_example_bootstrap_key_REPLACE_ME',
];

const secret =
  (minLength: number): Parser<string> =>
  (raw) => {
    if (SHIPPED_EXAMPLE_SECRETS.includes(raw.trim())) {
      throw new Error('is the example value shipped with KV, which anyone can read; generate a secret of your own');
    }
    if (raw.length < minLength) throw new Error(`must be at least ${minLength} characters long`);
    if (/\s/.test(raw)) throw new Error('must not contain whitespace');
    return raw;
  };

const redisUrl: Parser<string> = (raw) => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error('must be a URL such as redis://host:6379 or rediss://user:password@host:6380/0');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new Error('must start with redis:// or rediss://');
  return raw;
};

const boolean: Parser<boolean> = (raw) => {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new Error('must be true or false');
};

/** "host:port,host:port" ("[::1]:7000" for IPv6); a missing port is `defaultPort`. */
const hostPorts =
  (defaultPort: number): Parser<HostPort[]> =>
  (raw) => {
    const entries = raw.split(',').map((entry) => entry.trim());
    return entries.map((entry) => {
      const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+))(?::(\d{1,5}))?$/.exec(entry);
      const port = match?.[3] === undefined ? defaultPort : Number(match[3]);
      if (!match || port < 1 || port > 65535) {
        throw new Error('must be a comma-separated list of host:port, such as 10.0.0.1:6379,10.0.0.2:6379');
      }
      return { host: match[1] ?? match[2], port };
    });
  };

const readableFile: Parser<string> = (raw) => {
  try {
    fs.accessSync(raw, fs.constants.R_OK);
  } catch {
    throw new Error('is not a readable file');
  }
  return raw;
};

const prefix: Parser<string> = (raw) => {
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(raw)) throw new Error('must be 1-64 characters of letters, digits, _ . : -');
  return raw;
};

const trustProxy: Parser<boolean | number | string> = (raw) => {
  const value = raw.trim();
  if (value === 'true') return true;
  if (value === 'false' || value === '') return false;
  if (/^\d+$/.test(value)) return Number(value);
  if (/^[0-9A-Za-z.:/,\s]+$/.test(value)) return value;
  throw new Error('must be true, false, a hop count, or a comma-separated list of addresses or subnets');
};

/** "*" or a comma-separated list of origins (scheme://host[:port], no path). */
const corsOrigins: Parser<string[] | '*'> = (raw) => {
  if (raw.trim() === '*') return '*';
  const origins = raw.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  for (const origin of origins) {
    let url: URL | undefined;
    try {
      url = new URL(origin);
    } catch {
      url = undefined;
    }
    if (!url || !/^https?:$/.test(url.protocol) || url.origin !== origin) {
      throw new Error('must be * or a comma-separated list of origins such as https://app.example.com,http://localhost:3000 (scheme, host and port only)');
    }
  }
  return origins;
};

const onOff: Parser<boolean> = (raw) => {
  if (raw === 'on' || raw === 'true') return true;
  if (raw === 'off' || raw === 'false') return false;
  throw new Error('must be on or off');
};

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const logLevel: Parser<string> = (raw) => {
  if (!LOG_LEVELS.includes(raw)) throw new Error(`must be one of ${LOG_LEVELS.join(', ')}`);
  return raw;
};

/** Every environment variable KV reads; deployment files may set only these (a test checks both ways). */
export const ENV_VARIABLES = [
  'PORT',
  'HOST',
  'REDIS_URL',
  'REDIS_CLUSTER_NODES',
  'REDIS_SENTINELS',
  'REDIS_SENTINEL_MASTER',
  'REDIS_SENTINEL_PASSWORD',
  'REDIS_USERNAME',
  'REDIS_PASSWORD',
  'REDIS_TLS',
  'REDIS_TLS_CA_FILE',
  'KV_REDIS_PREFIX',
  'KV_REDIS_TIMEOUT_MS',
  'KV_DATA_DIR',
  'KV_ADMIN_TOKEN',
  'KV_BOOTSTRAP_API_KEY',
  'KV_MAX_KEY_BYTES',
  'KV_MAX_VALUE_BYTES',
  'KV_MAX_KEYS',
  'KV_MAX_TTL_SECONDS',
  'KV_READS_PER_SECOND',
  'KV_WRITES_PER_SECOND',
  'KV_AUTH_FAILURES_PER_MINUTE',
  'KV_RATE_LIMIT_SYNC_MS',
  'KV_TRUST_PROXY',
  'KV_INTERNAL_PORT',
  'KV_CORS_ORIGINS',
  'KV_CHANGE_LOG',
  'KV_WATCHERS_PER_ACCOUNT',
  'KV_WATCH_HEARTBEAT_SECONDS',
  'KV_HEADERS_TIMEOUT_MS',
  'KV_REQUEST_TIMEOUT_MS',
  'KV_KEEP_ALIVE_TIMEOUT_MS',
  'KV_WORKERS',
  'LOG_LEVEL',
] as const;

/** Never echoed back in a configuration error: they may be half-right secrets. */
const SECRET_VARIABLES = new Set(['KV_ADMIN_TOKEN', 'KV_BOOTSTRAP_API_KEY', 'REDIS_URL', 'REDIS_PASSWORD', 'REDIS_SENTINEL_PASSWORD']);

/** Reads, parses and checks every setting; throws one ConfigError listing every bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  function read<T>(name: string, parse: Parser<T>, fallback: T): T;
  function read<T>(name: string, parse: Parser<T>): T | undefined;
  function read<T>(name: string, parse: Parser<T>, fallback?: T): T | undefined {
    const raw = env[name];
    if (raw === undefined) return fallback;
    try {
      return parse(raw);
    } catch (error) {
      const shown = SECRET_VARIABLES.has(name) ? '' : ` (got ${JSON.stringify(raw)})`;
      problems.push(`${name}: ${(error as Error).message}${shown}`);
      return fallback;
    }
  }

  const redis = readRedisConnection(read, problems);
  const config: Config = {
    port: read('PORT', integer(0, 65535), 8080),
    host: read('HOST', nonEmpty),
    store: redis
      ? {
          kind: 'redis',
          redis,
          prefix: read('KV_REDIS_PREFIX', prefix, 'kv'),
          commandTimeoutMs: read('KV_REDIS_TIMEOUT_MS', integer(50, 60_000), 2000),
          rateLimitSyncMs: read('KV_RATE_LIMIT_SYNC_MS', integer(0, 1000), 50),
        }
      : { kind: 'sqlite', dataDir: read('KV_DATA_DIR', nonEmpty, './data') },
    adminToken: read('KV_ADMIN_TOKEN', secret(16)),
    bootstrapApiKey: read('KV_BOOTSTRAP_API_KEY', secret(20)),
    maxKeyBytes: read('KV_MAX_KEY_BYTES', integer(1, 4096), 512),
    maxValueBytes: read('KV_MAX_VALUE_BYTES', integer(16, 64 * 1024 * 1024), 1024 * 1024),
    maxTtlSeconds: read('KV_MAX_TTL_SECONDS', integer(1, 10 * 365 * 24 * 3600), 365 * 24 * 3600),
    limits: {
      maxKeys: read('KV_MAX_KEYS', integer(1, 1_000_000_000), 1_000_000),
      readsPerSecond: read('KV_READS_PER_SECOND', integer(1, 1_000_000), 1000),
      writesPerSecond: read('KV_WRITES_PER_SECOND', integer(1, 1_000_000), 1000),
    },
    authFailuresPerMinute: read('KV_AUTH_FAILURES_PER_MINUTE', integer(1, 1_000_000), 60),
    internalPort: read('KV_INTERNAL_PORT', integer(0, 65535)),
    corsOrigins: read('KV_CORS_ORIGINS', corsOrigins, []),
    changeLog: read('KV_CHANGE_LOG', onOff, true),
    watchersPerAccount: read('KV_WATCHERS_PER_ACCOUNT', integer(1, 100_000), 100),
    watchHeartbeatSeconds: read('KV_WATCH_HEARTBEAT_SECONDS', integer(1, 300), 15),
    headersTimeoutMs: read('KV_HEADERS_TIMEOUT_MS', integer(100, 600_000), 10_000),
    requestTimeoutMs: read('KV_REQUEST_TIMEOUT_MS', integer(100, 3_600_000), 30_000),
    keepAliveTimeoutMs: read('KV_KEEP_ALIVE_TIMEOUT_MS', integer(100, 3_600_000), 65_000),
    trustProxy: read('KV_TRUST_PROXY', trustProxy, false),
    workers: read('KV_WORKERS', integer(1, 64), 1),
    logLevel: read('LOG_LEVEL', logLevel, 'info'),
  };

  if (config.workers > 1 && config.store.kind !== 'redis') {
    problems.push('KV_WORKERS: more than one worker needs Redis (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES); the embedded store serves one process');
  }

  if (config.internalPort !== undefined && config.internalPort !== 0 && config.internalPort === config.port) {
    problems.push('KV_INTERNAL_PORT: must differ from PORT (the internal routes are served on a port of their own)');
  }
  if (config.headersTimeoutMs > config.requestTimeoutMs) {
    problems.push('KV_HEADERS_TIMEOUT_MS: must not be more than KV_REQUEST_TIMEOUT_MS (the headers are part of the request)');
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

type Read = {
  <T>(name: string, parse: Parser<T>, fallback: T): T;
  <T>(name: string, parse: Parser<T>): T | undefined;
};

/**
 * The Redis topology named by REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS (at most one of
 * them), with the credentials and TLS settings that apply to all three; undefined for none.
 */
function readRedisConnection(read: Read, problems: string[]): RedisConnection | undefined {
  const url = read('REDIS_URL', redisUrl);
  const clusterNodes = read('REDIS_CLUSTER_NODES', hostPorts(6379));
  const sentinels = read('REDIS_SENTINELS', hostPorts(26379));
  const masterName = read('REDIS_SENTINEL_MASTER', nonEmpty);
  const sentinelPassword = read('REDIS_SENTINEL_PASSWORD', nonEmpty);
  const username = read('REDIS_USERNAME', nonEmpty);
  const password = read('REDIS_PASSWORD', nonEmpty);
  const tlsSetting = read('REDIS_TLS', boolean);
  const tlsCaFile = read('REDIS_TLS_CA_FILE', readableFile);

  const named = [url && 'REDIS_URL', clusterNodes && 'REDIS_CLUSTER_NODES', sentinels && 'REDIS_SENTINELS'].filter(Boolean);
  if (named.length > 1) {
    problems.push(`${named.join(', ')}: set only one of REDIS_URL, REDIS_CLUSTER_NODES and REDIS_SENTINELS`);
    return undefined;
  }
  if (sentinels && !masterName) problems.push('REDIS_SENTINEL_MASTER: must be set with REDIS_SENTINELS (the master group name, such as mymaster)');
  if (masterName && !sentinels) problems.push('REDIS_SENTINEL_MASTER: applies only with REDIS_SENTINELS');
  if (sentinelPassword && !sentinels) problems.push('REDIS_SENTINEL_PASSWORD: applies only with REDIS_SENTINELS');

  const parsedUrl = url ? new URL(url) : undefined;
  const urlTls = parsedUrl?.protocol === 'rediss:';
  if (urlTls && tlsSetting === false) problems.push('REDIS_TLS: is false but REDIS_URL starts with rediss://');
  const tls = urlTls || tlsSetting === true;
  if (tlsCaFile && !tls) problems.push('REDIS_TLS_CA_FILE: applies only with TLS (REDIS_TLS=true, or a rediss:// REDIS_URL)');
  if (parsedUrl?.username && username) problems.push('REDIS_USERNAME: the user is already in REDIS_URL; set it in one place');
  if (parsedUrl?.password && password) problems.push('REDIS_PASSWORD: the password is already in REDIS_URL; set it in one place');

  const common = { username, password, tls, tlsCaFile };
  if (url) return { kind: 'standalone', url, ...common };
  if (clusterNodes) return { kind: 'cluster', nodes: clusterNodes, ...common };
  if (sentinels && masterName) return { kind: 'sentinel', sentinels, masterName, sentinelPassword, ...common };
  for (const [name, value] of Object.entries({ REDIS_USERNAME: username, REDIS_PASSWORD: password, REDIS_TLS: tlsSetting })) {
    if (value !== undefined) problems.push(`${name}: applies only with REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS`);
  }
  return undefined;
}
