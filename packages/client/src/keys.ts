// An item key as the path after /kv/items/: each `/` segment percent-encoded, so every key stays the key it is.

import { KvInvalidKeyError } from './errors';

const DOT_SEGMENT = /^\.\.?$/;

/**
 * The path of `key` below `/kv/items/`. Each segment between `/` is encodeURIComponent'd, so `%`,
 * `?`, `#` and the rest stay data (`a/%2F` reaches the key `a/%2F`). A segment that is `.` or `..`
 * would be removed by URL normalisation (fetch's WHATWG URL parser does it even to `%2E`), so the
 * slashes around it are sent as `%2F`, which the server reads as `/`: `a/../b` stays that key.
 * A key that is only `.` or `..` has no path at all: KvInvalidKeyError (reach it through
 * batchGet and commit, whose bodies carry keys). So does a key with a lone UTF-16 surrogate.
 */
export function itemPath(key: string): string {
  if (typeof key !== 'string') throw new TypeError('a key is a string');
  const segments = key.split('/');
  if (segments.length === 1 && DOT_SEGMENT.test(key)) {
    throw invalid(`The key "${key}" cannot be a URL path; read and write it with batchGet and commit.`);
  }
  let path = '';
  segments.forEach((segment, i) => {
    let encoded: string;
    try {
      encoded = encodeURIComponent(segment);
    } catch {
      throw invalid('The key is not valid Unicode (a lone surrogate).');
    }
    if (i > 0) path += DOT_SEGMENT.test(segment) || DOT_SEGMENT.test(segments[i - 1]) ? '%2F' : '/';
    path += encoded;
  });
  return path;
}

function invalid(message: string): KvInvalidKeyError {
  return new KvInvalidKeyError({ status: 400, code: 'invalid_key', message });
}
