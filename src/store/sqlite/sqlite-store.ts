// The embedded store: the same contract as Redis on one SQLite file, for a single process.

import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { LIMIT_NAMES, type LimitOverrides, type Limits, type LimitsPatch } from '../../limits';
import { StoreUnavailableError } from '../../errors';
import { CHANGE_LOG_RETENTION, MAX_SAFE_COUNTER } from '../types';
import type {
  Account,
  AccountPage,
  ApiKeyInfo,
  ApiKeyRecord,
  Change,
  ChangeKind,
  ChangesPage,
  CommitOutcome,
  CommitRequest,
  CommitResult,
  DeleteOutcome,
  Invalidation,
  Item,
  KvStore,
  ListPage,
  ListRequest,
  Scope,
  SetOutcome,
  SetRequest,
  WriteCondition,
} from '../types';
import { ADDED_COLUMNS, SCHEMA, SCHEMA_VERSION, UPGRADES } from './schema';

export const DATABASE_FILE = 'kv.sqlite';

/** Expired rows deleted per write and per background pass: bounded work, like the Redis sweep. */
const SWEEP_BATCH = 100;
const BACKGROUND_SWEEP_BATCH = 1000;
const BACKGROUND_SWEEP_MS = 1000;
/** Rows of a deleted account removed per transaction. */
const PURGE_BATCH = 1000;
/**
 * A write sweeps its account's expired rows at most this often: counts and reads never depend on
 * the sweep (they skip expired rows), so it is housekeeping, and one DELETE per write would be a
 * fifth of a write's work.
 */
const ACCOUNT_SWEEP_MS = 1000;
/** Accounts remembered for ACCOUNT_SWEEP_MS; the map starts over past this many. */
const ACCOUNT_SWEEP_MEMORY = 10_000;

/** Column of each limit override. */
const LIMIT_COLUMNS: Record<keyof Limits, 'max_keys' | 'reads_per_second' | 'writes_per_second'> = {
  maxKeys: 'max_keys',
  readsPerSecond: 'reads_per_second',
  writesPerSecond: 'writes_per_second',
};

/** SQLite failures that mean "cannot serve now" (503) rather than a bug (500). */
const UNAVAILABLE_CODES = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN|NOMEM|PROTOCOL)/;

interface ItemRow {
  value: Buffer;
  version: number;
  created_at: number;
  updated_at: number;
  expires_at: number | null;
}

interface ExpiredRow {
  account_id: string;
  key: Buffer;
  version: number;
  expires_at: number;
}

interface ChangeRow {
  seq: number;
  kind: ChangeKind;
  key: Buffer;
  version: number;
  expires_at: number | null;
}

interface ListRow {
  key: Buffer;
  version: number;
  expires_at: number | null;
  /** Only when the listing asked for values. */
  value?: Buffer;
}

interface AccountRow {
  id: string;
  name: string | null;
  created_at: number;
  max_keys: number | null;
  reads_per_second: number | null;
  writes_per_second: number | null;
  deleting_at: number | null;
}

interface ApiKeyRow {
  id: string;
  account_id: string;
  name: string | null;
  scopes: string;
  created_at: number;
  prefix: string | null;
  expires_at: number | null;
}

export interface SqliteStoreOptions {
  /** Folder of the database file; created if missing. */
  dataDir: string;
  /** Delete expired rows in the background every second. Defaults to true. */
  backgroundSweep?: boolean;
  /** Log every change for watchers (KV_CHANGE_LOG); default true. */
  changeLog?: boolean;
}

/**
 * A log is trimmed to CHANGE_LOG_RETENTION.changes after this many more changes of its account (so
 * it holds up to 11,000): the trim finds its bound by walking 10,000 entries, a cost paid once per
 * TRIM_EVERY writes.
 */
const TRIM_EVERY = 1000;
/** Accounts whose logs the background sweep trims by age per pass (a cursor goes round them all). */
const AGE_TRIM_ACCOUNTS = 100;
/** Accounts whose changes since their last trim are counted; the map starts over past this many. */
const TRIM_MEMORY = 10_000;

const keyBytes = (key: string) => Buffer.from(key, 'utf8');

/** A stored value as a counter: a JSON integer within ±MAX_SAFE_COUNTER, else null. */
function counterValue(json: string): number | null {
  if (!/^-?\d{1,16}$/.test(json)) return null;
  const n = Number(json);
  return Math.abs(n) > MAX_SAFE_COUNTER ? null : n;
}
const isAlive = (expiresAt: number | null, now: number) => expiresAt === null || expiresAt >= now;

/**
 * Atomicity comes from SQLite transactions: every read-then-write runs in an IMMEDIATE transaction,
 * which takes the write lock first, so no other writer (in this or another process) can interleave.
 * WAL journal with synchronous=NORMAL: a committed write survives the process being killed; an OS
 * crash or power loss can lose the last commits, like Redis with appendfsync everysec. A key is
 * expired once now > expiresAt (as in Redis); expired rows are invisible at once and deleted in
 * bounded batches by writes and by a background sweep.
 */
export class SqliteStore implements KvStore {
  readonly kind = 'sqlite';
  readonly file: string;
  private readonly db: Database.Database;
  private readonly invalidations = new EventEmitter();
  private readonly sweepTimer: NodeJS.Timeout | undefined;
  /** When each account's expired rows were last swept by a write. */
  private readonly sweptAt = new Map<string, number>();
  private readonly statements;
  private readonly listStatements = new Map<string, Database.Statement<unknown[], ListRow>>();
  private readonly changeLog: boolean;
  /** 'changes' (accountId), after the transaction that logged them has committed. */
  private readonly changes = new EventEmitter();
  /** Accounts that logged changes in the transaction running now. */
  private readonly changedAccounts = new Set<string>();
  /** Open watches per account (the cap). */
  private readonly watchers = new Map<string, Set<string>>();
  /** Changes logged per account since its log was last trimmed. */
  private readonly sinceTrim = new Map<string, number>();
  /** The last account whose log the sweep trimmed by age ('' to start over). */
  private ageTrimCursor = '';

  constructor(options: SqliteStoreOptions) {
    fs.mkdirSync(options.dataDir, { recursive: true });
    this.file = path.resolve(options.dataDir, DATABASE_FILE);
    this.db = new Database(this.file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(`${this.file} was written by a newer KV (schema ${version}; this one knows ${SCHEMA_VERSION})`);
    }
    if (version > 0 && version < SCHEMA_VERSION) {
      for (let from = version; from < SCHEMA_VERSION; from++) if (UPGRADES[from]) this.db.exec(UPGRADES[from]);
    }
    this.db.exec(SCHEMA);
    for (const { table, column, type } of ADDED_COLUMNS) {
      const columns = this.db.pragma(`table_info(${table})`) as { name: string }[];
      if (!columns.some((existing) => existing.name === column)) this.db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
    }
    this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    this.statements = this.prepare();
    this.changeLog = options.changeLog ?? true;
    this.changes.setMaxListeners(0);
    if (options.backgroundSweep !== false) {
      this.sweepTimer = setInterval(() => this.sweepAll(), BACKGROUND_SWEEP_MS);
      this.sweepTimer.unref();
    }
  }

  private prepare() {
    const db = this.db;
    return {
      getItem: db.prepare<[string, Buffer], ItemRow>(
        // As a BLOB: the value's UTF-8 bytes as stored, handed over without decoding into a string.
        'SELECT CAST(value AS BLOB) AS value, version, created_at, updated_at, expires_at FROM items WHERE account_id = ? AND key = ?',
      ),
      itemHeader: db.prepare<[string, Buffer], Omit<ItemRow, 'value'>>(
        'SELECT version, created_at, updated_at, expires_at FROM items WHERE account_id = ? AND key = ?',
      ),
      nextVersion: db.prepare<[string], { last_version: number }>(
        `INSERT INTO item_accounts (account_id, last_version, row_count) VALUES (?, 1, 0)
         ON CONFLICT (account_id) DO UPDATE SET last_version = last_version + 1 RETURNING last_version`,
      ),
      upsertItem: db.prepare(
        `INSERT INTO items (account_id, key, value, version, created_at, updated_at, expires_at)
         VALUES (@accountId, @key, @value, @version, @createdAt, @updatedAt, @expiresAt)
         ON CONFLICT (account_id, key) DO UPDATE SET value = excluded.value, version = excluded.version,
           created_at = excluded.created_at, updated_at = excluded.updated_at, expires_at = excluded.expires_at`,
      ),
      deleteItem: db.prepare<[string, Buffer]>('DELETE FROM items WHERE account_id = ? AND key = ?'),
      addRows: db.prepare<[number, string]>('UPDATE item_accounts SET row_count = row_count + ? WHERE account_id = ?'),
      rowCount: db.prepare<[string], { row_count: number }>('SELECT row_count FROM item_accounts WHERE account_id = ?'),
      expiredCount: db.prepare<[string, number], { n: number }>(
        'SELECT count(*) AS n FROM items WHERE account_id = ? AND expires_at IS NOT NULL AND expires_at < ?',
      ),
      sweepAccount: db.prepare<[string, number, number], ExpiredRow>(
        `DELETE FROM items WHERE rowid IN (SELECT rowid FROM items
           WHERE account_id = ? AND expires_at IS NOT NULL AND expires_at < ? LIMIT ?)
         RETURNING account_id, key, version, expires_at`,
      ),
      sweepAll: db.prepare<[number, number], ExpiredRow>(
        `DELETE FROM items WHERE rowid IN (SELECT rowid FROM items
           WHERE expires_at IS NOT NULL AND expires_at < ? LIMIT ?) RETURNING account_id, key, version, expires_at`,
      ),
      logChange: db.prepare<[string, number, number, string, Buffer, number, number | null]>(
        'INSERT INTO changes (account_id, seq, at, kind, key, version, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      /** The seq of the change CHANGE_LOG_RETENTION.changes back: what a trim by count keeps from. */
      changeAtDepth: db.prepare<[string, number], { seq: number }>(
        'SELECT seq FROM changes WHERE account_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?',
      ),
      trimChanges: db.prepare<[string, number], { seq: number }>('DELETE FROM changes WHERE account_id = ? AND seq < ? RETURNING seq'),
      /** The next accounts after a cursor, for the sweep's trim by age. */
      accountsAfter: db.prepare<[string, number], { account_id: string }>(
        'SELECT account_id FROM item_accounts WHERE account_id > ? ORDER BY account_id LIMIT ?',
      ),
      oldestChange: db.prepare<[string], { at: number }>('SELECT at FROM changes WHERE account_id = ? ORDER BY seq LIMIT 1'),
      /** Of an account's oldest changes (a batch), those logged before a time: 'at' grows with seq. */
      trimOldChanges: db.prepare<[string, string, number, number], { seq: number }>(
        `DELETE FROM changes WHERE account_id = ? AND seq IN (SELECT seq FROM changes WHERE account_id = ? ORDER BY seq LIMIT ?)
           AND at < ? RETURNING seq`,
      ),
      setTrimmed: db.prepare<[string, number]>(
        `INSERT INTO change_trims (account_id, trimmed_upto) VALUES (?, ?)
         ON CONFLICT (account_id) DO UPDATE SET trimmed_upto = max(trimmed_upto, excluded.trimmed_upto)`,
      ),
      trimmedUpto: db.prepare<[string], { trimmed_upto: number }>('SELECT trimmed_upto FROM change_trims WHERE account_id = ?'),
      latestChange: db.prepare<[string], { seq: number }>('SELECT seq FROM changes WHERE account_id = ? ORDER BY seq DESC LIMIT 1'),
      changeAt: db.prepare<[string, number], { at: number }>('SELECT at FROM changes WHERE account_id = ? AND seq = ?'),
      readChanges: db.prepare<[string, number, number], ChangeRow>(
        'SELECT seq, kind, key, version, expires_at FROM changes WHERE account_id = ? AND seq > ? ORDER BY seq LIMIT ?',
      ),
      insertAccount: db.prepare(
        `INSERT INTO accounts (id, name, created_at, max_keys, reads_per_second, writes_per_second)
         VALUES (@id, @name, @createdAt, @maxKeys, @readsPerSecond, @writesPerSecond) ON CONFLICT (id) DO NOTHING`,
      ),
      /** An account being deleted is not found. */
      getAccount: db.prepare<[string], AccountRow>('SELECT * FROM accounts WHERE id = ? AND deleting_at IS NULL'),
      listAccounts: db.prepare<[string, number], AccountRow>(
        'SELECT * FROM accounts WHERE id > ? AND deleting_at IS NULL ORDER BY id LIMIT ?',
      ),
      markAccountDeleted: db.prepare<[number, string]>('UPDATE accounts SET deleting_at = coalesce(deleting_at, ?) WHERE id = ?'),
      deleteAccountKeys: db.prepare<[string]>('DELETE FROM api_keys WHERE account_id = ?'),
      purgeItems: db.prepare<[string, number]>(
        'DELETE FROM items WHERE rowid IN (SELECT rowid FROM items WHERE account_id = ? LIMIT ?)',
      ),
      purgeChanges: db.prepare<[string, string, number]>(
        'DELETE FROM changes WHERE account_id = ? AND seq IN (SELECT seq FROM changes WHERE account_id = ? ORDER BY seq LIMIT ?)',
      ),
      hasItems: db.prepare<[string], { found: number }>('SELECT 1 AS found FROM items WHERE account_id = ? LIMIT 1'),
      forgetItemAccount: db.prepare<[string]>('DELETE FROM item_accounts WHERE account_id = ?'),
      forgetChangeTrims: db.prepare<[string]>('DELETE FROM change_trims WHERE account_id = ?'),
      forgetAccount: db.prepare<[string]>('DELETE FROM accounts WHERE id = ?'),
      insertApiKey: db.prepare(
        `INSERT INTO api_keys (hash, id, account_id, name, scopes, created_at, prefix, expires_at)
         VALUES (@hash, @id, @accountId, @name, @scopes, @createdAt, @prefix, @expiresAt)`,
      ),
      findApiKey: db.prepare<[string], ApiKeyRow>(
        'SELECT id, account_id, name, scopes, created_at, prefix, expires_at FROM api_keys WHERE hash = ?',
      ),
      listApiKeys: db.prepare<[string], ApiKeyRow>(
        'SELECT id, account_id, name, scopes, created_at, prefix, expires_at FROM api_keys WHERE account_id = ? ORDER BY created_at, id',
      ),
      revokeApiKey: db.prepare<[string], { hash: string }>('DELETE FROM api_keys WHERE id = ? RETURNING hash'),
      countAll: db.prepare<[number], { n: number }>(
        `SELECT (SELECT coalesce(sum(row_count), 0) FROM item_accounts)
              - (SELECT count(*) FROM items WHERE expires_at IS NOT NULL AND expires_at < ?) AS n`,
      ),
      ping: db.prepare('SELECT 1'),
    };
  }

  async getItem(accountId: string, key: string): Promise<Item | null> {
    const row = this.run(() => this.statements.getItem.get(accountId, keyBytes(key)));
    if (!row || !isAlive(row.expires_at, Date.now())) return null;
    return {
      key,
      value: row.value,
      version: String(row.version),
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      expiresAt: row.expires_at,
    };
  }

  async getItems(accountId: string, keys: string[]): Promise<(Item | null)[]> {
    // One read transaction: one snapshot even if another process writes meanwhile.
    const read = this.transaction(() => {
      const now = Date.now();
      return keys.map((key): Item | null => {
        const row = this.statements.getItem.get(accountId, keyBytes(key));
        if (!row || !isAlive(row.expires_at, now)) return null;
        return { key, value: row.value, version: String(row.version), createdAt: row.created_at, updatedAt: row.updated_at, expiresAt: row.expires_at };
      });
    });
    return this.run(() => read());
  }

  async commit(accountId: string, request: CommitRequest): Promise<CommitOutcome> {
    const apply = this.transaction((): CommitOutcome => {
      const s = this.statements;
      const now = Date.now();
      this.sweepAccountNow(accountId, now);
      // Each key's row as the transaction found it (an expired row still there counts as absent).
      const rows = new Map<string, { row: Omit<ItemRow, 'value'> | undefined; live: boolean }>();
      const state = (key: string) => {
        let found = rows.get(key);
        if (!found) {
          const row = s.itemHeader.get(accountId, keyBytes(key));
          rows.set(key, (found = { row, live: row !== undefined && isAlive(row.expires_at, now) }));
        }
        return found;
      };

      const failedChecks = [];
      for (const [index, check] of request.checks.entries()) {
        const { row, live } = state(check.key);
        const currentVersion = live ? String(row!.version) : null;
        if (currentVersion !== check.version) failedChecks.push({ index, key: check.key, currentVersion });
      }
      if (failedChecks.length > 0) return { ok: false, reason: 'checks_failed', failedChecks };

      // Every op is planned (and refused, if it must be) before anything is written.
      let netCreated = 0;
      const values: (string | undefined)[] = [];
      for (const [index, op] of request.ops.entries()) {
        const { live } = state(op.key);
        if (op.op === 'delete') {
          if (live) netCreated--;
          continue;
        }
        if (!live) netCreated++;
        if (op.op === 'set') {
          values[index] = op.value;
          continue;
        }
        const base = live ? counterValue(s.getItem.get(accountId, keyBytes(op.key))!.value.toString('utf8')) : 0;
        const result = base === null ? null : base + op.by;
        if (result === null || Math.abs(result) > MAX_SAFE_COUNTER) return { ok: false, reason: 'type_mismatch', index, key: op.key };
        values[index] = String(result);
      }
      if (netCreated > 0 && this.liveCount(accountId, now) + netCreated > request.maxKeys) {
        return { ok: false, reason: 'quota_exceeded', maxKeys: request.maxKeys };
      }

      const results = request.ops.map((op, index): CommitResult => {
        const { row, live } = state(op.key);
        const bytes = keyBytes(op.key);
        if (op.op === 'delete') {
          if (row) {
            s.deleteItem.run(accountId, bytes);
            s.addRows.run(-1, accountId);
            this.logChange(accountId, now, live ? 'delete' : 'expire', bytes, row.version, row.expires_at);
          }
          return { key: op.key, item: null, created: false };
        }
        if (row && !live) this.logChange(accountId, now, 'expire', bytes, row.version, row.expires_at);
        const version = s.nextVersion.get(accountId)!.last_version;
        let expiresAt: number | null = null;
        if (op.ttlMs !== undefined) expiresAt = now + op.ttlMs;
        else if (live && (op.op === 'increment' || op.keepTtl)) expiresAt = row!.expires_at;
        const createdAt = live ? row!.created_at : now;
        s.upsertItem.run({ accountId, key: bytes, value: values[index], version, createdAt, updatedAt: now, expiresAt });
        if (!row) s.addRows.run(1, accountId);
        this.logChange(accountId, now, 'set', bytes, version, expiresAt);
        const item = { key: op.key, version: String(version), createdAt, updatedAt: now, expiresAt };
        return op.op === 'increment' ? { key: op.key, item, created: !live, value: values[index] } : { key: op.key, item, created: !live };
      });
      return { ok: true, results };
    });
    return this.run(() => apply.immediate());
  }

  async setItem(accountId: string, key: string, request: SetRequest): Promise<SetOutcome> {
    const write = this.transaction(() => this.writeItem(accountId, key, request));
    return this.run(() => write.immediate());
  }

  async setItems(accountId: string, writes: { key: string; request: SetRequest }[]): Promise<SetOutcome[]> {
    // One transaction for the batch (one commit instead of one per item); each write's outcome is
    // its own, as if it ran alone, in order.
    const writeAll = this.transaction(() => writes.map(({ key, request }) => this.writeItem(accountId, key, request)));
    return this.run(() => writeAll.immediate());
  }

  /** One write with its condition, quota and bookkeeping; run inside a transaction. */
  private writeItem(accountId: string, key: string, request: SetRequest): SetOutcome {
    const s = this.statements;
    const now = Date.now();
    const bytes = keyBytes(key);
    this.sweepAccountNow(accountId, now);
    const row = s.itemHeader.get(accountId, bytes);
    const current = row && isAlive(row.expires_at, now) ? row : undefined;
    const { condition } = request;
    if (condition.kind === 'absent' && current) {
      return { ok: false, reason: 'exists', currentVersion: String(current.version) };
    }
    if (condition.kind === 'version' && (!current || String(current.version) !== condition.version)) {
      return { ok: false, reason: 'version_mismatch', currentVersion: current ? String(current.version) : null };
    }
    if (!current && this.liveCount(accountId, now) >= request.maxKeys) {
      return { ok: false, reason: 'quota_exceeded', maxKeys: request.maxKeys };
    }

    // A row there but expired: its expiry is logged before the write that replaces it.
    if (row && !current) this.logChange(accountId, now, 'expire', bytes, row.version, row.expires_at);
    const version = s.nextVersion.get(accountId)!.last_version;
    let expiresAt: number | null = null;
    if (request.expiresAt !== undefined) expiresAt = request.expiresAt;
    else if (request.ttlSeconds !== undefined) expiresAt = now + request.ttlSeconds * 1000;
    else if (request.keepTtl && current) expiresAt = current.expires_at;
    const createdAt = current ? current.created_at : now;
    s.upsertItem.run({ accountId, key: bytes, value: request.value, version, createdAt, updatedAt: now, expiresAt });
    // An expired row that was still there was replaced in place: the row count stays.
    if (!row) s.addRows.run(1, accountId);
    this.logChange(accountId, now, 'set', bytes, version, expiresAt);
    return { ok: true, created: !current, item: { key, version: String(version), createdAt, updatedAt: now, expiresAt } };
  }

  async deleteItem(accountId: string, key: string, condition: WriteCondition): Promise<DeleteOutcome> {
    if (condition.kind === 'absent') throw new Error('deleteItem: an "absent" condition cannot apply to a delete');
    const remove = this.transaction((): DeleteOutcome => {
      const s = this.statements;
      const now = Date.now();
      const bytes = keyBytes(key);
      const row = s.itemHeader.get(accountId, bytes);
      const current = row && isAlive(row.expires_at, now) ? row : undefined;
      if (condition.kind === 'version' && (!current || String(current.version) !== condition.version)) {
        return { ok: false, reason: 'version_mismatch', currentVersion: current ? String(current.version) : null };
      }
      // An expired row still there is deleted too (its expiry logged); for the client it was already gone.
      if (row) {
        s.deleteItem.run(accountId, bytes);
        s.addRows.run(-1, accountId);
        this.logChange(accountId, now, current ? 'delete' : 'expire', bytes, row.version, row.expires_at);
      }
      return current ? { ok: true } : { ok: false, reason: 'not_found' };
    });
    return this.run(() => remove.immediate());
  }

  async listItems(accountId: string, request: ListRequest): Promise<ListPage> {
    const now = Date.now();
    const conditions = ['account_id = ?', '(expires_at IS NULL OR expires_at >= ?)'];
    const params: (string | number | Buffer)[] = [accountId, now];
    if (request.prefix !== '') {
      // UTF-8 never contains 0xFF, so prefix + 0xFF is above every key that starts with the prefix.
      const prefix = keyBytes(request.prefix);
      conditions.push('key >= ?', 'key < ?');
      params.push(prefix, Buffer.concat([prefix, Buffer.from([0xff])]));
    }
    if (request.after !== undefined) {
      conditions.push('key > ?');
      params.push(keyBytes(request.after));
    }
    const columns = request.values ? 'key, version, expires_at, CAST(value AS BLOB) AS value' : 'key, version, expires_at';
    const sql = `SELECT ${columns} FROM items WHERE ${conditions.join(' AND ')} ORDER BY key LIMIT ?`;
    let page: ListRow[];
    let more: boolean;
    if (request.values) {
      // Row by row, stopping once the values reach maxBytes (one item at least): a page of large
      // values never holds more than the budget (plus one value) in memory.
      const maxBytes = request.values.maxBytes;
      ({ page, more } = this.run(() => {
        const taken: ListRow[] = [];
        let bytes = 0;
        for (const row of this.listStatement(sql).iterate(...params, request.limit + 1)) {
          bytes += row.value!.length;
          if (taken.length === request.limit || (taken.length > 0 && bytes > maxBytes)) return { page: taken, more: true };
          taken.push(row);
        }
        return { page: taken, more: false };
      }));
    } else {
      const rows = this.run(() => this.listStatement(sql).all(...params, request.limit + 1));
      more = rows.length > request.limit;
      page = more ? rows.slice(0, request.limit) : rows;
    }
    const items = page.map((row) => {
      const item: ListPage['items'][number] = { key: row.key.toString('utf8'), version: String(row.version), expiresAt: row.expires_at };
      if (request.values) item.value = row.value;
      return item;
    });
    return { items, nextAfter: more ? items[items.length - 1].key : null };
  }

  async countKeys(accountId: string): Promise<number> {
    return this.run(() => this.liveCount(accountId, Date.now()));
  }

  async latestChange(accountId: string): Promise<string> {
    const read = this.transaction(() =>
      Math.max(this.statements.latestChange.get(accountId)?.seq ?? 0, this.statements.trimmedUpto.get(accountId)?.trimmed_upto ?? 0),
    );
    return String(this.run(() => read()));
  }

  async readChanges(accountId: string, cursor: string, limit: number, resuming: boolean): Promise<ChangesPage> {
    const after = Number(cursor);
    const read = this.transaction((): ChangesPage => {
      const s = this.statements;
      if ((s.trimmedUpto.get(accountId)?.trimmed_upto ?? 0) > after) return { reset: true };
      if (resuming && after !== 0) {
        const at = s.changeAt.get(accountId, after)?.at;
        if (at === undefined || at < Date.now() - CHANGE_LOG_RETENTION.ms) return { reset: true };
      }
      const changes = s.readChanges.all(accountId, after, limit).map(
        (row): Change => ({
          cursor: String(row.seq),
          kind: row.kind,
          key: row.key.toString('utf8'),
          version: String(row.version),
          expiresAt: row.expires_at,
        }),
      );
      return { reset: false, changes };
    });
    return this.run(() => read());
  }

  async keepWatched(accountId: string): Promise<void> {
    const sweep = this.transaction(() => this.sweepAccount(accountId, Date.now(), SWEEP_BATCH));
    this.run(() => sweep.immediate());
  }

  isCursor(text: string): boolean {
    return /^\d{1,15}$/.test(text);
  }

  async acquireWatcher(accountId: string, watcherId: string, max: number): Promise<boolean> {
    // One process: the open watches are all here.
    let open = this.watchers.get(accountId);
    if (!open) this.watchers.set(accountId, (open = new Set()));
    if (open.size >= max) return false;
    open.add(watcherId);
    return true;
  }

  async renewWatchers(): Promise<void> {}

  async releaseWatcher(accountId: string, watcherId: string): Promise<void> {
    const open = this.watchers.get(accountId);
    open?.delete(watcherId);
    if (open?.size === 0) this.watchers.delete(accountId);
  }

  onChanges(listener: (accountId: string) => void): () => void {
    this.changes.on('changes', listener);
    return () => this.changes.off('changes', listener);
  }

  async createAccount(account: Account, firstKey: ApiKeyRecord): Promise<boolean> {
    const create = this.transaction((): boolean => {
      const inserted = this.statements.insertAccount.run({
        id: account.id,
        name: account.name,
        createdAt: account.createdAt,
        maxKeys: account.limitOverrides.maxKeys ?? null,
        readsPerSecond: account.limitOverrides.readsPerSecond ?? null,
        writesPerSecond: account.limitOverrides.writesPerSecond ?? null,
      });
      if (inserted.changes === 0) return false;
      this.insertApiKey(firstKey);
      return true;
    });
    return this.run(() => create.immediate());
  }

  async getAccount(id: string): Promise<Account | null> {
    const row = this.run(() => this.statements.getAccount.get(id));
    return row ? toAccount(row) : null;
  }

  async updateAccountLimits(id: string, patch: LimitsPatch): Promise<Account | null> {
    const names = LIMIT_NAMES.filter((name) => patch[name] !== undefined);
    const update = this.transaction((): AccountRow | undefined => {
      if (names.length > 0) {
        const assignments = names.map((name) => `${LIMIT_COLUMNS[name]} = ?`).join(', ');
        this.db
          .prepare(`UPDATE accounts SET ${assignments} WHERE id = ? AND deleting_at IS NULL`)
          .run(...names.map((name) => patch[name] ?? null), id);
      }
      return this.statements.getAccount.get(id);
    });
    const row = this.run(() => update.immediate());
    if (!row) return null;
    this.invalidations.emit('invalidate', { kind: 'account', id } satisfies Invalidation);
    return toAccount(row);
  }

  async createApiKey(key: ApiKeyRecord): Promise<boolean> {
    const create = this.transaction((): boolean => {
      if (!this.statements.getAccount.get(key.accountId)) return false;
      this.insertApiKey(key);
      return true;
    });
    return this.run(() => create.immediate());
  }

  async listApiKeys(accountId: string): Promise<ApiKeyInfo[]> {
    return this.run(() => this.statements.listApiKeys.all(accountId)).map(toApiKey);
  }

  async findApiKey(hash: string): Promise<{ apiKey: ApiKeyInfo; account: Account } | null> {
    const keyRow = this.run(() => this.statements.findApiKey.get(hash));
    if (!keyRow) return null;
    const accountRow = this.run(() => this.statements.getAccount.get(keyRow.account_id));
    return accountRow ? { apiKey: toApiKey(keyRow), account: toAccount(accountRow) } : null;
  }

  async revokeApiKey(keyId: string): Promise<boolean> {
    const revoked = this.run(() => this.statements.revokeApiKey.get(keyId));
    if (!revoked) return false;
    this.invalidations.emit('invalidate', { kind: 'apiKey', hash: revoked.hash } satisfies Invalidation);
    return true;
  }

  async listAccounts(request: { after?: string; limit: number }): Promise<AccountPage> {
    // One more than the page: whether there is a next page is known without another query.
    const rows = this.run(() => this.statements.listAccounts.all(request.after ?? '', request.limit + 1));
    const page = rows.slice(0, request.limit).map(toAccount);
    return { accounts: page, nextAfter: rows.length > request.limit ? page[page.length - 1].id : null };
  }

  /**
   * Not one transaction, unlike every other write here: an account of a million items would hold
   * the write lock (and this process's event loop) for seconds. The mark and the keys go first in
   * one transaction; then items and changes a batch per transaction, yielding to other work in
   * between; the account's row goes last, once no item is left.
   */
  async deleteAccount(id: string): Promise<boolean> {
    const s = this.statements;
    const mark = this.transaction((): boolean => {
      if (s.markAccountDeleted.run(Date.now(), id).changes === 0) return false;
      s.deleteAccountKeys.run(id);
      return true;
    });
    if (!this.run(() => mark.immediate())) return false;
    this.invalidations.emit('invalidate', { kind: 'account', id } satisfies Invalidation);

    const purgeItems = this.transaction((): number => {
      const removed = s.purgeItems.run(id, PURGE_BATCH).changes;
      if (removed > 0) s.addRows.run(-removed, id);
      return removed;
    });
    const purgeChanges = this.transaction((): number => s.purgeChanges.run(id, id, PURGE_BATCH).changes);
    const forget = this.transaction((): boolean => {
      // A write authenticated before the mark may have landed meanwhile: collect it first.
      if (s.hasItems.get(id)) return false;
      s.forgetItemAccount.run(id);
      s.forgetChangeTrims.run(id);
      s.forgetAccount.run(id);
      return true;
    });
    for (;;) {
      while (this.run(() => purgeItems.immediate()) > 0) await yieldToOthers();
      while (this.run(() => purgeChanges.immediate()) > 0) await yieldToOthers();
      if (this.run(() => forget.immediate())) break;
    }
    this.sweptAt.delete(id);
    this.sinceTrim.delete(id);
    return true;
  }

  onInvalidate(listener: (event: Invalidation) => void): () => void {
    this.invalidations.on('invalidate', listener);
    return () => this.invalidations.off('invalidate', listener);
  }

  async ping(): Promise<void> {
    this.run(() => this.statements.ping.get());
  }

  async close(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.invalidations.removeAllListeners();
    if (this.db.open) this.db.close();
  }

  /** Live keys of all accounts: row counts minus expired rows not yet deleted (both index lookups). */
  countAllKeys(): number {
    return this.run(() => this.statements.countAll.get(Date.now())!.n);
  }

  /** Deletes up to one batch of expired rows of every account; run by the background timer. */
  sweepAll(now = Date.now()): number {
    const sweep = this.transaction((): number => {
      const removed = this.statements.sweepAll.all(now, BACKGROUND_SWEEP_BATCH);
      const perAccount = new Map<string, number>();
      for (const row of removed) {
        perAccount.set(row.account_id, (perAccount.get(row.account_id) ?? 0) + 1);
        this.logChange(row.account_id, now, 'expire', row.key, row.version, row.expires_at);
      }
      for (const [accountId, n] of perAccount) this.statements.addRows.run(-n, accountId);
      this.trimByAge(now);
      return removed.length;
    });
    try {
      const removed = sweep.immediate();
      this.notifyChanged();
      return removed;
    } catch {
      this.changedAccounts.clear();
      // Busy or closed: the next pass, or the next write of that account, collects these rows.
      return 0;
    }
  }

  /** One of the four shapes of the listing query (with or without prefix and cursor), prepared once. */
  private listStatement(sql: string) {
    let statement = this.listStatements.get(sql);
    if (!statement) {
      statement = this.db.prepare<unknown[], ListRow>(sql);
      this.listStatements.set(sql, statement);
    }
    return statement;
  }

  /** Sweeps the account unless a write did within ACCOUNT_SWEEP_MS. */
  private sweepAccountNow(accountId: string, now: number): void {
    if (now - (this.sweptAt.get(accountId) ?? 0) < ACCOUNT_SWEEP_MS) return;
    if (this.sweptAt.size >= ACCOUNT_SWEEP_MEMORY) this.sweptAt.clear();
    this.sweptAt.set(accountId, now);
    this.sweepAccount(accountId, now, SWEEP_BATCH);
  }

  private sweepAccount(accountId: string, now: number, limit: number): void {
    const removed = this.statements.sweepAccount.all(accountId, now, limit);
    if (removed.length === 0) return;
    this.statements.addRows.run(-removed.length, accountId);
    for (const row of removed) this.logChange(accountId, now, 'expire', row.key, row.version, row.expires_at);
  }

  /**
   * Changes past the retention's hour, of the next AGE_TRIM_ACCOUNTS accounts (a batch of each);
   * the cursor goes round every account. A resume from a change older than the hour is a reset
   * whether or not its row is gone yet: this only gives the space back.
   */
  private trimByAge(now: number): void {
    const s = this.statements;
    const accounts = s.accountsAfter.all(this.ageTrimCursor, AGE_TRIM_ACCOUNTS);
    this.ageTrimCursor = accounts.length < AGE_TRIM_ACCOUNTS ? '' : accounts[accounts.length - 1].account_id;
    const before = now - CHANGE_LOG_RETENTION.ms;
    for (const { account_id: accountId } of accounts) {
      const oldest = s.oldestChange.get(accountId);
      if (!oldest || oldest.at >= before) continue;
      const removed = s.trimOldChanges.all(accountId, accountId, BACKGROUND_SWEEP_BATCH, before);
      if (removed.length > 0) s.setTrimmed.run(accountId, Math.max(...removed.map((row) => row.seq)));
    }
  }

  /**
   * Logs one change in the running transaction; watchers are told once it has committed. A set's
   * seq is its version, drawn for it just now; a delete or an expiry draws one from the account's
   * version counter.
   */
  private logChange(accountId: string, now: number, kind: ChangeKind, key: Buffer, version: number, expiresAt: number | null): void {
    if (!this.changeLog) return;
    const seq = kind === 'set' ? version : this.statements.nextVersion.get(accountId)!.last_version;
    this.statements.logChange.run(accountId, seq, now, kind, key, version, expiresAt);
    this.changedAccounts.add(accountId);
    const count = (this.sinceTrim.get(accountId) ?? 0) + 1;
    if (count < TRIM_EVERY) {
      if (this.sinceTrim.size >= TRIM_MEMORY) this.sinceTrim.clear();
      this.sinceTrim.set(accountId, count);
      return;
    }
    this.sinceTrim.delete(accountId);
    const oldestKept = this.statements.changeAtDepth.get(accountId, CHANGE_LOG_RETENTION.changes - 1);
    if (!oldestKept) return;
    const removed = this.statements.trimChanges.all(accountId, oldestKept.seq);
    if (removed.length > 0) this.statements.setTrimmed.run(accountId, Math.max(...removed.map((row) => row.seq)));
  }

  /** After a commit: tells watchers of each account that logged changes. */
  private notifyChanged(): void {
    if (this.changedAccounts.size === 0) return;
    const accounts = [...this.changedAccounts];
    this.changedAccounts.clear();
    for (const accountId of accounts) this.changes.emit('changes', accountId);
  }

  /** Rows of the account minus its expired rows not yet swept: exact the moment a key expires. */
  private liveCount(accountId: string, now: number): number {
    const rows = this.statements.rowCount.get(accountId)?.row_count ?? 0;
    return rows - this.statements.expiredCount.get(accountId, now)!.n;
  }

  private insertApiKey(key: ApiKeyRecord): void {
    this.statements.insertApiKey.run({
      hash: key.hash,
      id: key.id,
      accountId: key.accountId,
      name: key.name,
      scopes: key.scopes.join(','),
      createdAt: key.createdAt,
      prefix: key.prefix ?? null,
      expiresAt: key.expiresAt ?? null,
    });
  }

  /**
   * A transaction function on the database, or, once the store is closed, StoreUnavailableError
   * (503 unavailable, as every other operation on a closed store): better-sqlite3 throws a plain
   * TypeError for a closed connection here, outside run(), which answered 500.
   */
  private transaction<F extends (...args: never[]) => unknown>(fn: F): Database.Transaction<F> {
    if (!this.db.open) throw new StoreUnavailableError(new Error('the database is closed'));
    return this.db.transaction(fn);
  }

  private run<T>(operation: () => T): T {
    try {
      const result = operation();
      this.notifyChanged();
      return result;
    } catch (error) {
      // Rolled back: nothing it logged was committed.
      this.changedAccounts.clear();
      const code = (error as { code?: unknown }).code;
      if (!this.db.open || (typeof code === 'string' && UNAVAILABLE_CODES.test(code))) throw new StoreUnavailableError(error);
      throw error;
    }
  }
}

function toAccount(row: AccountRow): Account {
  const limitOverrides: LimitOverrides = {};
  for (const name of LIMIT_NAMES) {
    const value = row[LIMIT_COLUMNS[name]];
    if (value !== null) limitOverrides[name] = value;
  }
  return { id: row.id, name: row.name, limitOverrides, createdAt: row.created_at };
}

function toApiKey(row: ApiKeyRow): ApiKeyInfo {
  return {
    id: row.id,
    accountId: row.account_id,
    name: row.name,
    scopes: row.scopes.split(',') as Scope[],
    createdAt: row.created_at,
    ...(row.prefix === null ? {} : { prefix: row.prefix }),
    ...(row.expires_at === null ? {} : { expiresAt: row.expires_at }),
  };
}

/** Lets the event loop serve other requests between two batches of a long deletion. */
const yieldToOthers = () => new Promise<void>((resolve) => setImmediate(resolve));
