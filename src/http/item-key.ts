// The item key from the request path: strict percent-decoding, UTF-8 byte length, no control characters.

import { invalidKey } from '../errors';

const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Decodes the raw (still percent-encoded) path segment(s) after `/kv/items/`. `/` is part of the key.
 * Throws 400 invalid_key when the key is empty, too long, has control characters, or is not valid
 * percent-encoded UTF-8.
 */
export function parseItemKey(rawPath: string, maxKeyBytes: number): string {
  if (rawPath === '') throw invalidKey('The key is empty.');
  let key: string;
  try {
    key = decodeURIComponent(rawPath);
  } catch {
    throw invalidKey('The key is not valid percent-encoded UTF-8.');
  }
  if (CONTROL.test(key)) throw invalidKey('The key contains control characters.');
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > maxKeyBytes) throw invalidKey(`The key is ${bytes} bytes of UTF-8; the limit is ${maxKeyBytes}.`);
  return key;
}
