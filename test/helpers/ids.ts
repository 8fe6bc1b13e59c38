// Random names for test data, so every test owns its accounts and keys and never shares them.

import { randomBytes } from 'node:crypto';

/** `length` random lowercase hex characters. */
export function randomString(length = 16): string {
  return randomBytes(Math.ceil(length / 2))
    .toString('hex')
    .slice(0, length);
}

/** `<prefix>_<16 lowercase hex characters>` (64 random bits), e.g. `acc_3f9c0e1a7b2d4c58`. */
export function randomId(prefix: string): string {
  return `${prefix}_${randomString(16)}`;
}

/** A fresh Redis key prefix, `kvtest-<12 hex>`, for a test's own store or KV processes. */
export function randomPrefix(): string {
  return `kvtest-${randomString(12)}`;
}

/** A fresh account id, `acc_<16 hex>`: items need no account record, so any test can own one. */
export function randomAccountId(): string {
  return randomId('acc');
}
