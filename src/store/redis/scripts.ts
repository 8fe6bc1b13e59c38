// The Lua scripts as ioredis commands: one table of their KEYS and ARGV, from which their definitions and call types follow.

import fs from 'node:fs';
import path from 'node:path';
import type { RedisClient } from './connection';

const SCRIPTS_DIR = path.join(__dirname, 'scripts');

/** A script's KEYS and ARGV, named exactly as in the header of its .lua file (a unit test compares them). */
export interface ScriptSignature {
  readonly keys: readonly string[];
  readonly args: readonly string[];
  /**
   * A variable-length tail after the fixed KEYS and ARGV. Of `keys`: the script takes any number of
   * KEYS and the caller passes their count first. Of `args`: any number of ARGV follow the fixed ones.
   */
  readonly rest?: { readonly of: 'keys' | 'args'; readonly name: string };
}

/** The ARGV every script that changes items (or collects expired ones) ends with: see changes.lua. */
const LOG_ARGS = ['accountId', 'channel', 'logging'] as const;

/**
 * Every script under scripts/, by the ioredis command it becomes (named after its file). Its call
 * type (ScriptCommands) and its numberOfKeys are derived from here, so a KEYS or ARGV added to a
 * script must be added here too, and then TypeScript points at every call that misses it.
 */
export const SCRIPT_SIGNATURES = {
  setItem: {
    keys: ['item', 'index', 'expiry', 'versions', 'expiryVersions', 'log'],
    args: ['member', 'value', 'ttlMs', 'expiresAt', 'keepTtl', 'mode', 'expected', 'maxKeys', 'sweep', ...LOG_ARGS],
  },
  setItems: {
    keys: ['index', 'expiry', 'versions', 'expiryVersions', 'log'],
    args: ['sweep', ...LOG_ARGS],
    rest: { of: 'keys', name: 'item' },
  },
  deleteItem: { keys: ['item', 'index', 'expiry', 'expiryVersions', 'log'], args: ['member', 'expected', 'sweep', ...LOG_ARGS] },
  countKeys: { keys: ['index', 'expiry', 'expiryVersions', 'log'], args: ['sweep', ...LOG_ARGS] },
  keepWatched: { keys: ['index', 'expiry', 'expiryVersions', 'log'], args: ['sweep', ...LOG_ARGS] },
  listKeys: { keys: ['index', 'expiry', 'expiryVersions', 'log'], args: ['start', 'stop', 'limit', 'sweep', ...LOG_ARGS] },
  readChanges: { keys: ['log'], args: ['after', 'limit', 'resuming'] },
  acquireWatcher: { keys: ['watchers'], args: ['watcher', 'max', 'leaseMs'] },
  readVersions: { keys: [], args: [], rest: { of: 'keys', name: 'item' } },
  readItems: { keys: [], args: ['maxBytes'], rest: { of: 'keys', name: 'item' } },
  commit: {
    keys: ['index', 'expiry', 'versions', 'expiryVersions', 'log'],
    args: ['maxKeys', 'sweep', 'checkCount', 'opCount', ...LOG_ARGS],
    rest: { of: 'keys', name: 'item' },
  },
  createAccount: {
    keys: ['account', 'apiKey', 'apiKeyId', 'accountKeys', 'accounts'],
    args: [
      'accountId',
      'accountName',
      'accountCreatedAt',
      'keyId',
      'keyHash',
      'keyName',
      'keyScopes',
      'keyCreatedAt',
      'keyPrefix',
      'keyExpiresAt',
    ],
    rest: { of: 'args', name: 'overrides' },
  },
  createApiKey: {
    keys: ['account', 'apiKey', 'apiKeyId', 'accountKeys'],
    args: ['accountId', 'keyId', 'keyHash', 'keyName', 'keyScopes', 'keyCreatedAt', 'keyPrefix', 'keyExpiresAt'],
  },
  markAccountDeleted: { keys: ['account', 'accounts'], args: ['accountId', 'now'] },
  purgeItems: {
    keys: ['index', 'expiry', 'expiryVersions', 'versions', 'log', 'watchers'],
    args: [],
    rest: { of: 'keys', name: 'item' },
  },
  revokeApiKey: { keys: ['apiKeyId', 'apiKey', 'accountKeys'], args: ['keyId', 'keyHash'] },
  updateAccountLimits: { keys: ['account'], args: [], rest: { of: 'args', name: 'overrides' } },
  reserveAuthCheck: { keys: ['failures', 'checking'], args: ['limit', 'token', 'holdMs'] },
  releaseAuthCheck: { keys: ['failures', 'checking'], args: ['token', 'failed', 'windowMs'] },
  addRateLimitHits: { keys: ['counter'], args: ['hits', 'ttlMs'] },
} as const satisfies Record<string, ScriptSignature>;

export type ScriptName = keyof typeof SCRIPT_SIGNATURES;

/** The scripts the Redis store runs, defined on its connection when it is made (RedisStore). */
export const STORE_SCRIPTS = [
  'setItem',
  'setItems',
  'deleteItem',
  'countKeys',
  'keepWatched',
  'listKeys',
  'readChanges',
  'acquireWatcher',
  'readVersions',
  'readItems',
  'commit',
  'createAccount',
  'createApiKey',
  'revokeApiKey',
  'updateAccountLimits',
  'markAccountDeleted',
  'purgeItems',
] as const satisfies readonly ScriptName[];

/**
 * The rate limiters' scripts (the failed-authentication ledger, the synchronised account counters),
 * defined by the rate-limit store on the connection it shares.
 */
export const RATE_LIMIT_SCRIPTS = ['reserveAuthCheck', 'releaseAuthCheck', 'addRateLimitHits'] as const satisfies readonly ScriptName[];

/** What each script returns (see the "Returns" of its header). */
interface ScriptReplies {
  setItem: (string | number)[];
  setItems: (string | number)[];
  deleteItem: (string | number)[];
  countKeys: number;
  keepWatched: number;
  readChanges: string[];
  acquireWatcher: number;
  listKeys: string[];
  readVersions: string[];
  readItems: string[];
  commit: (string | number)[];
  createAccount: number;
  createApiKey: number;
  revokeApiKey: number;
  updateAccountLimits: number;
  markAccountDeleted: number;
  purgeItems: number;
  reserveAuthCheck: number[];
  releaseAuthCheck: number;
  addRateLimitHits: number;
}

/** An ARGV value: ioredis sends numbers as their decimal text, Buffers as their bytes. */
type Arg = string | number | Buffer;
/** A tuple of the same length as the names, each element of type V. */
type Each<Names extends readonly string[], V> = { -readonly [I in keyof Names]: V };
type CallArgs<S extends ScriptSignature> = S extends { rest: { of: 'keys' } }
  ? [numberOfKeys: number, ...keysThenArgs: Arg[]]
  : S extends { rest: { of: 'args' } }
    ? [...Each<S['keys'], string>, ...Each<S['args'], Arg>, ...rest: Arg[]]
    : [...Each<S['keys'], string>, ...Each<S['args'], Arg>];

/** The scripts as ioredis commands: KEYS first, then ARGV, as many of each as the signature names. */
export type ScriptCommands = {
  [N in ScriptName]: (...args: CallArgs<(typeof SCRIPT_SIGNATURES)[N]>) => Promise<ScriptReplies[N]>;
};

/** ioredis also defines `<name>Buffer` for each script: the same call, bulk replies as Buffers. */
type ScriptBufferCommands = {
  readItemsBuffer: (...args: CallArgs<(typeof SCRIPT_SIGNATURES)['readItems']>) => Promise<Buffer[]>;
};

/** A connection on which the scripts are defined as commands. */
export type ScriptedRedis = RedisClient & ScriptCommands & ScriptBufferCommands;

/** What ioredis's defineCommand (or its `scripts` option) takes for one script. */
export interface ScriptDefinition {
  lua: string;
  /** Absent: the caller passes the number of KEYS as the first argument. */
  numberOfKeys?: number;
}

function readScript(name: string): string {
  const source = fs.readFileSync(path.join(SCRIPTS_DIR, `${name}.lua`), 'utf8');
  return source.replace(/^-- @include (\w+)$/gm, (_line, include: string) =>
    fs.readFileSync(path.join(SCRIPTS_DIR, 'includes', `${include}.lua`), 'utf8'),
  );
}

/** The definitions of these scripts, read from their files (includes expanded). */
export function scriptDefinitions<N extends ScriptName>(names: readonly N[]): Record<N, ScriptDefinition> {
  const entries = names.map((name) => {
    const signature: ScriptSignature = SCRIPT_SIGNATURES[name];
    const lua = readScript(name);
    return [name, signature.rest?.of === 'keys' ? { lua } : { lua, numberOfKeys: signature.keys.length }];
  });
  return Object.fromEntries(entries) as Record<N, ScriptDefinition>;
}

/** The `scripts` option of the store's ioredis connection: the store's own scripts. */
export function loadScripts(): Record<(typeof STORE_SCRIPTS)[number], ScriptDefinition> {
  return scriptDefinitions(STORE_SCRIPTS);
}
