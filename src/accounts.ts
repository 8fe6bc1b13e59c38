// Accounts and API keys: id formats, key secrets (shown once, stored as SHA-256), and the admin-token check.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiKeyRecord, Scope } from './store/types';

/** The account created on first start (bootstrap.ts); the only account id without the `acc_` form. */
export const DEFAULT_ACCOUNT_ID = 'default';

/** Random bytes in an id: 80 bits, so ids never collide in practice (they are not secrets). */
const ID_BYTES = 10;
const ID_HEX = `[0-9a-f]{${ID_BYTES * 2}}`;

/** An account id as randomId('acc') makes it, or the default account's. */
export const ACCOUNT_ID = new RegExp(`^(${DEFAULT_ACCOUNT_ID}|acc_${ID_HEX})$`);

/** An API key id as randomId('key') makes it. */
export const KEY_ID = new RegExp(`^key_${ID_HEX}$`);

/** A random id with a type prefix, e.g. "key_3f9c…"; matches ACCOUNT_ID or KEY_ID. */
export function randomId(prefix: 'acc' | 'key'): string {
  return `${prefix}_${randomBytes(ID_BYTES).toString('hex')}`;
}

/** Every generated secret starts with it, so a leaked key is recognisable (e.g. by secret scanners). */
export const API_KEY_PREFIX = 'kv_';

/** A new secret: "kv_" and 32 base64url characters (192 bits). Shown once, never stored. */
export function generateApiKeySecret(): string {
  return API_KEY_PREFIX + randomBytes(24).toString('base64url');
}

/** Hex SHA-256: what the store keeps and looks keys up by. */
export function hashApiKey(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** What an API key may be narrowed to beyond its scopes: a key prefix, an expiry time (epoch ms). */
export interface ApiKeyRestrictions {
  prefix?: string;
  expiresAt?: number;
}

/**
 * A new key record for the account and its secret (generated unless given, as KV_BOOTSTRAP_API_KEY
 * is). The secret leaves the process only in the response that creates the key. `write` implies
 * `read`. Nothing is stored: the caller hands the record to the store.
 */
export function newApiKey(
  accountId: string,
  scopes: readonly Scope[],
  name: string | null,
  secret = generateApiKeySecret(),
  restrictions: ApiKeyRestrictions = {},
): { record: ApiKeyRecord; secret: string } {
  const record: ApiKeyRecord = {
    id: randomId('key'),
    accountId,
    name,
    scopes: scopes.includes('write') ? ['read', 'write'] : ['read'],
    createdAt: Date.now(),
    hash: hashApiKey(secret),
    ...(restrictions.prefix === undefined ? {} : { prefix: restrictions.prefix }),
    ...(restrictions.expiresAt === undefined ? {} : { expiresAt: restrictions.expiresAt }),
  };
  return { record, secret };
}

/** True once the key's expiresAt has come: it is refused (401) from that millisecond on. */
export function isApiKeyExpired(key: Pick<ApiKeyRecord, 'expiresAt'>, now = Date.now()): boolean {
  return key.expiresAt !== undefined && now >= key.expiresAt;
}

/** True when a key restricted to `prefix` (null: none) may reach the item `key`. */
export function keyInScope(prefix: string | null, key: string): boolean {
  return prefix === null || key.startsWith(prefix);
}

/**
 * The prefix a listing (list, watch, export) asked for with `requested`, narrowed to what a key
 * restricted to `keyPrefix` may see: no request → the key's prefix; a request under the key's
 * prefix → as asked; a request the key's prefix is under (e.g. "" or "a" for a key on "a/b") →
 * the key's prefix. Null when the two do not overlap: that listing is forbidden.
 */
export function scopedListPrefix(keyPrefix: string | null, requested: string | undefined): string | null {
  if (keyPrefix === null) return requested ?? '';
  if (requested === undefined) return keyPrefix;
  if (requested.startsWith(keyPrefix)) return requested;
  if (keyPrefix.startsWith(requested)) return keyPrefix;
  return null;
}

/**
 * The `default` account cannot be deleted: first start creates it only when its id is free, so
 * after a deletion every restart would create it again (with KV_BOOTSTRAP_API_KEY, or a new
 * printed key) and its versions would start over. Its keys can be revoked and replaced instead.
 */
export function isDeletableAccount(id: string): boolean {
  return id !== DEFAULT_ACCOUNT_ID;
}

/**
 * True when a token was presented and it is the configured admin token; always false when no admin
 * token is configured. Compared in constant time, whatever the lengths, so timing tells nothing.
 */
export function isAdminToken(presented: string | undefined, configured: string | undefined): boolean {
  if (presented === undefined || configured === undefined) return false;
  return secretsEqual(presented, configured);
}

/** Constant-time comparison: both sides are hashed first, so their lengths do not show either. */
function secretsEqual(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
