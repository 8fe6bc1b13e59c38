// What the API sends and takes, as TypeScript types: the field names are the server's own.

/** An item without its value: what a write answers. Times are ISO-8601 UTC strings. */
export interface ItemMeta {
  key: string;
  /** Changes on every write; never reused in the account. Compare only for equality. */
  version: string;
  /** When the key expires; `null`: never. */
  expiresAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/** An item with its value (GET, batchGet, increment). */
export interface Entry<T = unknown> extends ItemMeta {
  value: T;
}

/** An item with its value's exact JSON text instead of the parsed value (`raw: true`). */
export interface RawEntry extends ItemMeta {
  /** The value's JSON text as stored: digits, escapes and member order as sent. */
  raw: string;
}

/** The answer of a PUT (set): the item without its value, and whether the write created the key. */
export interface WriteResult extends ItemMeta {
  /** true: the key did not exist (201); false: it was replaced (200). */
  created: boolean;
}

/** A listed item; `value` (or `raw`) only when listed with `values: true` (or `raw: true`). */
export interface ListedItem<T = unknown> {
  key: string;
  version: string;
  expiresAt: string | null;
  value?: T;
  raw?: string;
}

/** One page of a listing. */
export interface ListPage<T = unknown> {
  items: ListedItem<T>[];
  /** The cursor of the next page; `null` on the last one. */
  nextCursor: string | null;
}

/** The limits in force for an account. */
export interface Limits {
  maxKeys: number;
  readsPerSecond: number;
  writesPerSecond: number;
}

/** `GET /kv/usage`: the live key count and the effective limits. */
export interface Usage {
  keys: number;
  limits: Limits & { maxKeyBytes: number; maxValueBytes: number; maxTtlSeconds: number };
}

/** A commit check: the key must be at `version` (`null`: must not exist). */
export interface CommitCheck {
  key: string;
  version: string | null;
}

/** A commit op, as the server takes it. */
export type CommitOp =
  | { op: 'set'; key: string; value: unknown; ttlSeconds?: number; keepTtl?: boolean }
  | { op: 'delete'; key: string }
  | { op: 'increment'; key: string; by?: number; ttlSeconds?: number };

/** One result per op, in op order: `version` is null for a delete; `value` is an increment's result. */
export interface CommitResult {
  key: string;
  version: string | null;
  value?: number;
}

/** An export line: `{"key", "value", "expiresAt"}`. The import takes the same (`expiresAt` optional). */
export interface ExportRecord<T = unknown> {
  key: string;
  value: T;
  expiresAt?: string | null;
}

/** An export line with its value left as JSON text (`raw: true`). */
export interface RawExportRecord {
  key: string;
  raw: string;
  expiresAt: string | null;
}

/** A line an import could not apply. */
export interface ImportFailure {
  /** 1-based, counted over everything this import call sent. */
  line: number;
  error: { code: string; message: string; [field: string]: unknown };
}

/** What an import did. */
export interface ImportReport {
  created: number;
  replaced: number;
  skipped: number;
  /** At most 1,000 per request sent; `omittedFailures` counts the rest. */
  failed: ImportFailure[];
  omittedFailures?: number;
}

/** A change under the watched prefix. */
export interface ChangeEvent<T = unknown> {
  /** `set`: written (PUT, commit, increment, merge patch, import); `delete`; `expire`: its TTL ran out. */
  type: 'set' | 'delete' | 'expire';
  /** The event's cursor: resume after it with `since`. */
  id: string;
  key: string;
  /** The version written (set) or removed (delete, expire; `null` when not known). */
  version: string | null;
  expiresAt: string | null;
  /** With `values: true`, on a `set` whose version was still current when it was sent. */
  value?: T;
  /** With `raw: true`: the value's JSON text instead. */
  raw?: string;
}

/**
 * The stream could not resume where it left off (the cursor is past the log's retention): re-read
 * what you need (list, export), then follow the events after this one.
 */
export interface ResetEvent {
  type: 'reset';
  id: string;
}

/** What watch yields: a change, or a reset. Branch on `type`. */
export type WatchEvent<T = unknown> = ChangeEvent<T> | ResetEvent;

/** An account as the admin routes show it. */
export interface Account {
  id: string;
  name: string | null;
  /** Effective: the overrides over the configured defaults. */
  limits: Limits;
  /** Only what was set for this account. */
  limitOverrides: Partial<Limits>;
  createdAt: string;
}

/** An API key as listed (never its secret). */
export interface ApiKeyInfo {
  id: string;
  name: string | null;
  scopes: ('read' | 'write')[];
  /** The key reaches only keys starting with this (when the server supports key prefixes). */
  prefix?: string | null;
  /** The key is refused after this time (when the server supports expiring keys). */
  expiresAt?: string | null;
  createdAt: string;
}

/** A new API key, with its secret: shown only once. */
export interface NewApiKey extends ApiKeyInfo {
  /** The secret: `Authorization: Bearer <key>`. Stored only as a hash by the server. */
  key: string;
}
