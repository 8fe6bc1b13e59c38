// How stored records look on the wire: ISO-8601 UTC times, effective limits, never a secret.

import { effectiveLimits, type Limits } from '../limits';
import type { Account, ApiKeyInfo, Item, ItemMeta, ListedItem } from '../store/types';

export const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

export function itemMetaView(item: ItemMeta) {
  return {
    key: item.key,
    version: item.version,
    expiresAt: isoOrNull(item.expiresAt),
    createdAt: iso(item.createdAt),
    updatedAt: iso(item.updatedAt),
  };
}

/**
 * The GET envelope as bytes, in one buffer: the stored value is copied in as it is, never parsed,
 * re-serialised or decoded, so numbers keep their digits and the read path does no JSON or UTF-8
 * work proportional to the value — one copy of its bytes, and one write to the socket.
 */
export function itemEnvelope(item: Item): Buffer {
  const head = `{"data":{"key":${JSON.stringify(item.key)},"value":`;
  const tail =
    `,"version":${JSON.stringify(item.version)},"expiresAt":${item.expiresAt === null ? 'null' : `"${iso(item.expiresAt)}"`},` +
    `"createdAt":"${iso(item.createdAt)}","updatedAt":"${iso(item.updatedAt)}"}}`;
  const headBytes = Buffer.byteLength(head);
  const body = Buffer.allocUnsafe(headBytes + item.value.length + Buffer.byteLength(tail));
  body.write(head, 0);
  item.value.copy(body, headBytes);
  body.write(tail, headBytes + item.value.length);
  return body;
}

export function listedItemView(item: ListedItem) {
  return { key: item.key, version: item.version, expiresAt: isoOrNull(item.expiresAt) };
}

export function accountView(account: Account, defaults: Limits) {
  return {
    id: account.id,
    name: account.name,
    limits: effectiveLimits(defaults, account.limitOverrides),
    limitOverrides: account.limitOverrides,
    createdAt: iso(account.createdAt),
  };
}

export function apiKeyView(key: ApiKeyInfo, secret?: string) {
  return {
    id: key.id,
    ...(secret === undefined ? {} : { key: secret }),
    name: key.name,
    scopes: key.scopes,
    createdAt: iso(key.createdAt),
  };
}
