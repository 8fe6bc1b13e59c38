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
 * The GET envelope as bytes around the stored value, which is never parsed, re-serialised or
 * decoded: numbers keep their digits and the read path does no JSON or UTF-8 work proportional to
 * the value. Small values are copied into one buffer (one chunk to write); above
 * SPLIT_ENVELOPE_BYTES the value's own bytes are written between the two ends, so a large read
 * costs no copy of it at all.
 */
export function itemEnvelope(item: Item): Buffer[] {
  const [itemHead, itemTail] = itemJsonEnds(item);
  const head = `{"data":${itemHead}`;
  const tail = `${itemTail}}`;
  if (item.value.length > SPLIT_ENVELOPE_BYTES) return [Buffer.from(head), item.value, Buffer.from(tail)];
  const headBytes = Buffer.byteLength(head);
  const body = Buffer.allocUnsafe(headBytes + item.value.length + Buffer.byteLength(tail));
  body.write(head, 0);
  item.value.copy(body, headBytes);
  body.write(tail, headBytes + item.value.length);
  return [body];
}

/** The JSON text of an item before and after its value, which goes between them as stored. */
export function itemJsonEnds(item: ItemMeta): [head: string, tail: string] {
  return [
    `{"key":${JSON.stringify(item.key)},"value":`,
    `,"version":${JSON.stringify(item.version)},"expiresAt":${item.expiresAt === null ? 'null' : `"${iso(item.expiresAt)}"`},` +
      `"createdAt":"${iso(item.createdAt)}","updatedAt":"${iso(item.updatedAt)}"}`,
  ];
}

/** Values above this are written without being copied into the envelope. */
const SPLIT_ENVELOPE_BYTES = 64 * 1024;

export function listedItemView(item: ListedItem) {
  return { key: item.key, version: item.version, expiresAt: isoOrNull(item.expiresAt) };
}

/** A listed item with its value, as JSON text: the value goes in as stored, never parsed. */
export function listedItemWithValueJson(item: ListedItem): string {
  return `{"key":${JSON.stringify(item.key)},"version":${JSON.stringify(item.version)},"expiresAt":${
    item.expiresAt === null ? 'null' : `"${iso(item.expiresAt)}"`
  },"value":${item.value!.toString('utf8')}}`;
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

/** `prefix` and `expiresAt` only when the key has them. */
export function apiKeyView(key: ApiKeyInfo, secret?: string) {
  return {
    id: key.id,
    ...(secret === undefined ? {} : { key: secret }),
    name: key.name,
    scopes: key.scopes,
    ...(key.prefix === undefined ? {} : { prefix: key.prefix }),
    ...(key.expiresAt === undefined ? {} : { expiresAt: iso(key.expiresAt) }),
    createdAt: iso(key.createdAt),
  };
}
