// The item string layout shared with the Lua scripts: "<version>:<createdAt>:<updatedAt>:<expiresAt>:<json>".

import type { Item } from '../types';

const COLON = 0x3a;

/**
 * Splits the header off the stored bytes; the JSON after it is returned as a view of the same
 * bytes, never decoded (only the short header is).
 */
export function parseItem(key: string, raw: Buffer): Item {
  const a = raw.indexOf(COLON);
  const b = raw.indexOf(COLON, a + 1);
  const c = raw.indexOf(COLON, b + 1);
  const d = raw.indexOf(COLON, c + 1);
  if (a < 0 || b < 0 || c < 0 || d < 0) throw new Error('item string has no header');
  return {
    key,
    version: raw.toString('latin1', 0, a),
    createdAt: Number(raw.toString('latin1', a + 1, b)),
    updatedAt: Number(raw.toString('latin1', b + 1, c)),
    expiresAt: d === c + 1 ? null : Number(raw.toString('latin1', c + 1, d)),
    value: raw.subarray(d + 1),
  };
}
