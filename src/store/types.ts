// The KvStore contract every backend implements, and the outcomes it returns. Nothing backend-specific.

import type { Store } from 'express-rate-limit';
import type { LimitOverrides, LimitsPatch } from '../limits';

/** Times are Unix epoch milliseconds, taken from the store's own clock where expiry depends on them. */
export interface ItemMeta {
  key: string;
  /** Opaque; changes on every write and is never reused within an account, even after delete and re-create. */
  version: string;
  createdAt: number;
  updatedAt: number;
  expiresAt: number | null;
}

export interface Item extends ItemMeta {
  /**
   * The value as compact JSON, UTF-8 bytes exactly as validated on write. Stores never parse it,
   * and hand it over as bytes so a large value goes from the store to the socket without being
   * decoded into a string and encoded again.
   */
  value: Buffer;
}

export type WriteCondition =
  | { kind: 'none' }
  /** Write only if the key is absent (SET NX). */
  | { kind: 'absent' }
  /** Write or delete only if the key exists at exactly this version (compare-and-swap). */
  | { kind: 'version'; version: string };

export interface SetRequest {
  /** Compact JSON text, already validated and within the size limit. */
  value: string;
  /** Absent: no expiry, unless keepTtl keeps the remaining TTL of the value being replaced. */
  ttlSeconds?: number;
  /**
   * The expiry as a time (epoch ms) instead of a TTL, kept to the millisecond (an imported
   * expiresAt); not with ttlSeconds. A time already past writes a key that is expired at once.
   */
  expiresAt?: number;
  keepTtl?: boolean;
  condition: WriteCondition;
  /** The account's key quota; checked only when the write creates a key. */
  maxKeys: number;
}

export type SetOutcome =
  | { ok: true; created: boolean; item: ItemMeta }
  | { ok: false; reason: 'exists'; currentVersion: string }
  | { ok: false; reason: 'version_mismatch'; currentVersion: string | null }
  | { ok: false; reason: 'quota_exceeded'; maxKeys: number };

export type DeleteOutcome =
  | { ok: true }
  | { ok: false; reason: 'not_found' }
  | { ok: false; reason: 'version_mismatch'; currentVersion: string | null };

export interface ListRequest {
  /** Only keys starting with these bytes; '' for all. */
  prefix: string;
  limit: number;
  /** Start after this key (exclusive): the last key of the previous page. */
  after?: string;
  /**
   * Read the values too, in the same snapshot as the keys: the page then also stops once its
   * values reach this many bytes (it always holds at least one item).
   */
  values?: { maxBytes: number };
}

export interface ListedItem {
  key: string;
  version: string;
  expiresAt: number | null;
  /** Only when the request asked for values. */
  value?: Buffer;
}

/** Holds when the key is at exactly `version`; `null`: when the key does not exist. */
export interface CommitCheck {
  key: string;
  version: string | null;
}

export type CommitOp =
  /** Like setItem without a condition: the value, and ttlMs or keepTtl. */
  | { op: 'set'; key: string; value: string; ttlMs?: number; keepTtl?: boolean }
  /** A no-op when the key is absent. */
  | { op: 'delete'; key: string }
  /**
   * Adds `by` to a JSON integer (an absent key counts as 0). `ttlMs` sets the expiry; without it the
   * key keeps the one it has (like Redis INCR).
   */
  | { op: 'increment'; key: string; by: number; ttlMs?: number };

export interface CommitRequest {
  checks: CommitCheck[];
  /** Each key at most once. */
  ops: CommitOp[];
  /** The account's key quota: the keys the commit creates, net of those it deletes, must fit. */
  maxKeys: number;
}

/** What one op did: the item as written (null for a delete), and for an increment its new value. */
export interface CommitResult {
  key: string;
  item: ItemMeta | null;
  /** True when the op created the key. */
  created: boolean;
  /** An increment's result, as JSON text. */
  value?: string;
}

export type ChangeKind = 'set' | 'delete' | 'expire';

/** One committed change of an account, as its change log keeps it. */
export interface Change {
  /** Opaque; increases in commit order within the account. */
  cursor: string;
  kind: ChangeKind;
  key: string;
  /** set: the version written; delete and expire: the version removed ('' when unknown). */
  version: string;
  /** set: the new expiry; delete and expire: the expiry of what was removed. */
  expiresAt: number | null;
}

/** The changes after a cursor, or `reset` when some of them are no longer kept. */
export type ChangesPage = { reset: false; changes: Change[] } | { reset: true };

/** How long and how many changes an account's log keeps: what a watch can resume within. */
export const CHANGE_LOG_RETENTION = { changes: 10_000, ms: 3_600_000 } as const;

/** The largest magnitude a counter may reach: JSON numbers beyond it lose digits in most parsers. */
export const MAX_SAFE_COUNTER = Number.MAX_SAFE_INTEGER;

export type CommitOutcome =
  | { ok: true; results: CommitResult[] }
  | { ok: false; reason: 'checks_failed'; failedChecks: { index: number; key: string; currentVersion: string | null }[] }
  | { ok: false; reason: 'quota_exceeded'; maxKeys: number }
  /** An increment of a value that is not a JSON integer, or whose result would pass ±MAX_SAFE_COUNTER. */
  | { ok: false; reason: 'type_mismatch'; index: number; key: string };

export interface ListPage {
  /** Live keys in byte order of their UTF-8. A page may hold fewer than `limit` keys and still have a next one. */
  items: ListedItem[];
  /** The key to pass as `after` for the next page, or null when there are no more keys. */
  nextAfter: string | null;
}

export type Scope = 'read' | 'write';

export interface Account {
  id: string;
  name: string | null;
  /** Only the limits an admin has set for this account; the rest come from the configuration. */
  limitOverrides: LimitOverrides;
  createdAt: number;
}

/** An API key as stored: never the secret itself, only its SHA-256. */
export interface ApiKeyRecord {
  id: string;
  accountId: string;
  name: string | null;
  scopes: Scope[];
  createdAt: number;
  /** Hex SHA-256 of the secret; the lookup key. */
  hash: string;
  /** Absent: the key reaches every key of its account; set: only keys starting with it. */
  prefix?: string;
  /** Absent: the key never expires; set (epoch ms): refused from that time on. */
  expiresAt?: number;
}

export type ApiKeyInfo = Omit<ApiKeyRecord, 'hash'>;

/** A page of accounts in byte order of their ids. */
export interface AccountPage {
  /** May hold fewer than the limit (an account deleted while the page was read) and still have a next page. */
  accounts: Account[];
  /** The id to pass as `after` for the next page, or null when there are no more accounts. */
  nextAfter: string | null;
}

/** What a replica must forget from its caches; `all` after the store may have missed messages. */
export type Invalidation = { kind: 'apiKey'; hash: string } | { kind: 'account'; id: string } | { kind: 'all' };

/**
 * The contract of a store. Expected outcomes (a failed condition, a full quota, a missing key) are
 * *returned*; a store *throws* only when its backend fails, as StoreUnavailableError when it cannot be
 * reached. Every write is atomic with its bookkeeping (key count, key index, expiry): it is applied
 * whole or not at all. An expired key is gone at once from get, list, countKeys and the quota.
 */
export interface KvStore {
  readonly kind: string;

  getItem(accountId: string, key: string): Promise<Item | null>;
  setItem(accountId: string, key: string, request: SetRequest): Promise<SetOutcome>;
  /**
   * Several independent writes, each with its own outcome, as if each ran alone in order (an
   * import's batch of lines); not one atomic step — each write is.
   */
  setItems(accountId: string, writes: { key: string; request: SetRequest }[]): Promise<SetOutcome[]>;
  deleteItem(accountId: string, key: string, condition: WriteCondition): Promise<DeleteOutcome>;
  listItems(accountId: string, request: ListRequest): Promise<ListPage>;
  /** Live keys of the account; exact, expired keys excluded. */
  countKeys(accountId: string): Promise<number>;
  /**
   * All checks, then all ops in order, as one atomic step: either every op applies or none does
   * (a failed check, the quota, an increment of a non-integer). Each op gets a new version.
   */
  commit(accountId: string, request: CommitRequest): Promise<CommitOutcome>;
  /** The items in request order (null where absent), read as one consistent snapshot. */
  getItems(accountId: string, keys: string[]): Promise<(Item | null)[]>;

  /**
   * The change log. Every change above (sets, deletes, commits, and expiries when they are
   * collected) is logged in the same atomic step as the change itself, unless the store was made
   * without a change log. `latestChange` is where a watch "from now" starts: the cursor of the
   * account's last change, or one before any change.
   */
  latestChange(accountId: string): Promise<string>;
  /**
   * Up to `limit` changes after `cursor`, in commit order; `reset` when some of them are no longer
   * kept (see CHANGE_LOG_RETENTION), or, when `resuming`, when the cursor is older than the retention.
   */
  readChanges(accountId: string, cursor: string, limit: number, resuming: boolean): Promise<ChangesPage>;
  /** While an account is watched, about every second: collects its expired keys (logging each expiry) and keeps its log alive. */
  keepWatched(accountId: string): Promise<void>;
  /** Whether `text` has the form of this store's cursors (not whether it is still kept). */
  isCursor(text: string): boolean;
  /** Called, on every replica, when an account may have new changes. Returns an unsubscribe. */
  onChanges(listener: (accountId: string) => void): () => void;
  /**
   * A slot among the account's `max` open watches, across replicas, held for `leaseMs` unless
   * renewed; false when all are taken. Leases of a replica that stopped without releasing lapse.
   */
  acquireWatcher(accountId: string, watcherId: string, max: number, leaseMs: number): Promise<boolean>;
  renewWatchers(accountId: string, watcherIds: string[], leaseMs: number): Promise<void>;
  releaseWatcher(accountId: string, watcherId: string): Promise<void>;

  /** Creates the account with its first API key, atomically; false (and no change) if the id is taken. */
  createAccount(account: Account, firstKey: ApiKeyRecord): Promise<boolean>;
  getAccount(id: string): Promise<Account | null>;
  /** Applies the patch to the account's overrides; null when there is no such account. */
  updateAccountLimits(id: string, patch: LimitsPatch): Promise<Account | null>;
  /** False (and no change) when the key's account does not exist. */
  createApiKey(key: ApiKeyRecord): Promise<boolean>;
  listApiKeys(accountId: string): Promise<ApiKeyInfo[]>;
  /** The key with that hash and its account, or null when unknown or revoked. */
  findApiKey(hash: string): Promise<{ apiKey: ApiKeyInfo; account: Account } | null>;
  /** Removes the key for good; false when there is no such key. Every replica is told (see onInvalidate). */
  revokeApiKey(keyId: string): Promise<boolean>;
  /**
   * Accounts in byte order of their ids, after `after` (exclusive), at most `limit` of them. An
   * account being deleted is not listed. A page may hold fewer than `limit` and still have a next one.
   */
  listAccounts(request: { after?: string; limit: number }): Promise<AccountPage>;
  /**
   * Deletes the account: first marks it deleted (getAccount and findApiKey no longer find it, its
   * API keys stop working, every replica is told with an `account` invalidation), then removes its
   * API keys, its items, its change log and its version and expiry bookkeeping in bounded batches
   * (a large account never blocks the backend), and last its record. False when there is no such
   * account. If it fails midway (throws), the account stays marked and a later call on the same id
   * finishes the removal. Not guaranteed: a write whose key was authenticated before the mark and
   * that reaches the store after the removal is left behind, unreachable (no key can reach it).
   */
  deleteAccount(id: string): Promise<boolean>;
  /** Called, on every replica, when a key is revoked or an account's limits change or it is deleted. Returns an unsubscribe. */
  onInvalidate(listener: (event: Invalidation) => void): () => void;

  /** Resolves when the backend answers; throws StoreUnavailableError otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * How a limiter counts across replicas. `exact`: every request is counted in the shared store
 * before it is answered. `synced`: counted in process and added to the shared store every few tens
 * of ms, with a bounded overshoot across replicas (SyncedRateLimitStore); where the store has no
 * replicas to share with, both are exact.
 */
export interface RateLimitCounting {
  counting: 'exact' | 'synced';
  /** Told when a `synced` store could not reach the shared store (it goes on counting locally). */
  onSyncError?: (error: unknown) => void;
}

/** Makes the store for one limiter; `name` keeps the limiters' counters apart. */
export type RateLimitStoreFactory = (name: string, options: RateLimitCounting) => Store;
