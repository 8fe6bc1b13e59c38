// The item key from the request path: strict percent-decoding, UTF-8 byte length, no control characters.

import { invalidKey } from '../errors';

const CONTROL = /[\u0000-\u001f\u007f]/;
/** A UTF-16 surrogate without its pair: a JSON string can carry one ("\ud800"), UTF-8 cannot. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

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
  return checkItemKey(key, maxKeyBytes);
}

/**
 * Checks a key given in a body (already decoded): 400 invalid_key when it is empty, too long or has
 * control characters. `where` names it in the message (e.g. `ops[2].key`).
 */
export function checkItemKey(key: string, maxKeyBytes: number, where = 'The key'): string {
  if (key === '') throw invalidKey(`${where} is empty.`);
  if (CONTROL.test(key)) throw invalidKey(`${where} contains control characters.`);
  if (LONE_SURROGATE.test(key)) throw invalidKey(`${where} is not valid Unicode (a lone surrogate).`);
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > maxKeyBytes) throw invalidKey(`${where} is ${bytes} bytes of UTF-8; the limit is ${maxKeyBytes}.`);
  return key;
}
