// API key secrets and ids: generated with 192 random bits, recognisable by prefix, stored only as SHA-256.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const API_KEY_PREFIX = 'kv_';

/** A new secret: "kv_" and 32 base64url characters (192 bits). Shown once, never stored. */
export function generateApiKeySecret(): string {
  return API_KEY_PREFIX + randomBytes(24).toString('base64url');
}

/** Hex SHA-256: what the store keeps and looks keys up by. */
export function hashApiKey(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** A random id with a type prefix, e.g. "key_3f9c…" (80 bits; ids are not secrets). */
export function randomId(prefix: 'acc' | 'key'): string {
  return `${prefix}_${randomBytes(10).toString('hex')}`;
}

/** Constant-time comparison of a presented secret with the expected one, whatever their lengths. */
export function secretsEqual(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
