// The item string layout shared with the Lua scripts: "<version>:<createdAt>:<updatedAt>:<expiresAt>:<json>".

import type { Item } from '../types';

/** Splits the header off without touching the JSON, which is returned as the stored text. */
export function parseItem(key: string, raw: string): Item {
  const a = raw.indexOf(':');
  const b = raw.indexOf(':', a + 1);
  const c = raw.indexOf(':', b + 1);
  const d = raw.indexOf(':', c + 1);
  if (a < 0 || b < 0 || c < 0 || d < 0) throw new Error('item string has no header');
  return {
    key,
    version: raw.slice(0, a),
    createdAt: Number(raw.slice(a + 1, b)),
    updatedAt: Number(raw.slice(b + 1, c)),
    expiresAt: d === c + 1 ? null : Number(raw.slice(c + 1, d)),
    value: raw.slice(d + 1),
  };
}
