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
 * The GET envelope as text: the stored value is placed in as it is, never parsed and re-serialised,
 * so numbers keep their digits and the read path does no JSON work proportional to the value.
 */
export function itemEnvelope(item: Item): string {
  return (
    `{"data":{"key":${JSON.stringify(item.key)},"value":${item.value},"version":${JSON.stringify(item.version)},` +
    `"expiresAt":${item.expiresAt === null ? 'null' : `"${iso(item.expiresAt)}"`},` +
    `"createdAt":"${iso(item.createdAt)}","updatedAt":"${iso(item.updatedAt)}"}}`
  );
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
