// The only reader of process.env: one table of settings, each parsed and checked at start-up.

/** Defaults and bounds of the per-account limits; each can be overridden per account by an admin. */
export interface Limits {
  maxKeys: number;
  readsPerSecond: number;
  writesPerSecond: number;
}

export type RedisConnection = { kind: 'standalone'; url: string };

/** Redis when a Redis variable is set; otherwise the embedded SQLite store under KV_DATA_DIR. */
export type StoreConfig =
  | { kind: 'redis'; redis: RedisConnection; prefix: string; commandTimeoutMs: number }
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
  limits: Limits;
  /** Failed authentications per minute per client IP before that IP gets 429 for the rest of the minute. */
  authFailuresPerMinute: number;
  /** Processes serving the port (node:cluster); more than 1 only with Redis, which they share. */
  workers: number;
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

const secret =
  (minLength: number): Parser<string> =>
  (raw) => {
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

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const logLevel: Parser<string> = (raw) => {
  if (!LOG_LEVELS.includes(raw)) throw new Error(`must be one of ${LOG_LEVELS.join(', ')}`);
  return raw;
};

const notYet =
  (issue: string): Parser<never> =>
  () => {
    throw new Error(`is not supported yet (${issue}); use REDIS_URL`);
  };

/** Every environment variable KV reads; deployment files may set only these (a test checks both ways). */
export const ENV_VARIABLES = [
  'PORT',
  'HOST',
  'REDIS_URL',
  'REDIS_CLUSTER_NODES',
  'REDIS_SENTINELS',
  'REDIS_SENTINEL_MASTER',
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
  'KV_TRUST_PROXY',
  'KV_WORKERS',
  'LOG_LEVEL',
] as const;

/** Never echoed back in a configuration error: they may be half-right secrets. */
const SECRET_VARIABLES = new Set(['KV_ADMIN_TOKEN', 'KV_BOOTSTRAP_API_KEY', 'REDIS_URL']);

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

  const config: Config = {
    port: read('PORT', integer(0, 65535), 8080),
    host: read('HOST', nonEmpty),
    store:
      env.REDIS_URL !== undefined
        ? {
            kind: 'redis',
            redis: { kind: 'standalone', url: read('REDIS_URL', redisUrl, '') },
            prefix: read('KV_REDIS_PREFIX', prefix, 'kv'),
            commandTimeoutMs: read('KV_REDIS_TIMEOUT_MS', integer(50, 60_000), 2000),
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
    trustProxy: read('KV_TRUST_PROXY', trustProxy, false),
    workers: read('KV_WORKERS', integer(1, 64), 1),
    logLevel: read('LOG_LEVEL', logLevel, 'info'),
  };

  read('REDIS_CLUSTER_NODES', notYet('Redis Cluster, issue #6'));
  read('REDIS_SENTINELS', notYet('Redis Sentinel, issue #6'));
  read('REDIS_SENTINEL_MASTER', notYet('Redis Sentinel, issue #6'));

  if (config.workers > 1 && config.store.kind !== 'redis') {
    problems.push('KV_WORKERS: more than one worker needs Redis (set REDIS_URL); the embedded store serves one process');
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
