// The embedded store's tables. Keys are BLOBs of UTF-8 so SQLite orders them byte by byte.

/** Bumped when the tables change; a database from a newer KV is refused rather than misread. */
export const SCHEMA_VERSION = 4;

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS items (
  account_id TEXT NOT NULL,
  key BLOB NOT NULL,
  value TEXT NOT NULL,
  version INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  expires_at INTEGER,
  UNIQUE (account_id, key)
);
-- Expired rows of one account (quota and count), and of all accounts (the background sweep).
CREATE INDEX IF NOT EXISTS items_account_expiry ON items (account_id, expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_expiry ON items (expires_at) WHERE expires_at IS NOT NULL;

-- Per-account item bookkeeping: the version counter (never reset, so versions are never reused)
-- and the number of rows in items, expired rows not yet swept included.
CREATE TABLE IF NOT EXISTS item_accounts (
  account_id TEXT PRIMARY KEY,
  last_version INTEGER NOT NULL,
  row_count INTEGER NOT NULL
);

-- The change log (schema 3): one row per change, written in the same transaction as the change,
-- keyed by account and seq (one b-tree: the log costs a write as little as it can). A change's
-- seq comes from its account's version counter (a set's seq is its new version; a delete or expiry
-- draws one), so seqs of an account only grow and are never reused. Trimmed per account to about
-- the last 10,000 changes and an hour.
CREATE TABLE IF NOT EXISTS changes (
  account_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  key BLOB NOT NULL,
  version INTEGER NOT NULL,
  expires_at INTEGER,
  PRIMARY KEY (account_id, seq)
) WITHOUT ROWID;
-- Per account, the last seq trimmed from its log: a watch resumes only after it.
CREATE TABLE IF NOT EXISTS change_trims (
  account_id TEXT PRIMARY KEY,
  trimmed_upto INTEGER NOT NULL
);

-- deleting_at (schema 4): set when a deletion starts; the row goes once the account's data has.
CREATE TABLE IF NOT EXISTS accounts (
  id TEXT PRIMARY KEY,
  name TEXT,
  created_at INTEGER NOT NULL,
  max_keys INTEGER,
  reads_per_second INTEGER,
  writes_per_second INTEGER,
  deleting_at INTEGER
);

-- API keys by the SHA-256 of their secret; the secret itself is never stored.
CREATE TABLE IF NOT EXISTS api_keys (
  hash TEXT PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  account_id TEXT NOT NULL REFERENCES accounts (id),
  name TEXT,
  scopes TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  -- Schema 4: the key reaches only keys starting with prefix; it is refused from expires_at on.
  prefix TEXT,
  expires_at INTEGER
);
CREATE INDEX IF NOT EXISTS api_keys_account ON api_keys (account_id);
`;

/**
 * Run before SCHEMA on a database of an older schema. Schema 2's change log numbered changes
 * globally: it is dropped (a log is transient; a watcher resuming from one of its ids gets
 * a reset, as past retention) and made again in the schema 3 shape.
 */
export const UPGRADES: Record<number, string> = {
  2: 'DROP TABLE IF EXISTS changes; DROP TABLE IF EXISTS change_trims;',
};

/**
 * Columns added to existing tables after they were first made (schema 4: API key prefixes and
 * expiry, the mark of an account being deleted). CREATE TABLE IF NOT EXISTS leaves an older table
 * as it is, so after SCHEMA each is added where it is missing.
 */
export const ADDED_COLUMNS: readonly { table: string; column: string; type: string }[] = [
  { table: 'api_keys', column: 'prefix', type: 'TEXT' },
  { table: 'api_keys', column: 'expires_at', type: 'INTEGER' },
  { table: 'accounts', column: 'deleting_at', type: 'INTEGER' },
];
