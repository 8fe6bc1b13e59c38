// The conformance suite against the embedded SQLite store, each run on a fresh database file.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { StoreUnavailableError } from '../../src/errors';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store';
import { createTestStore } from '../helpers/stores';
import { describeStoreConformance } from './conformance';

describeStoreConformance('sqlite', () => createTestStore('sqlite'));

// Each test on a fresh database file, without the background sweep.
describe('SqliteStore', () => {
  let dataDir: string;
  let store: SqliteStore;

  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvtest-'));
    store = new SqliteStore({ dataDir, backgroundSweep: false });
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  describe('expiry sweep', () => {
    const put = (key: string, ttlSeconds?: number) =>
      store.setItem('acc_sweep', key, { value: '1', ttlSeconds, condition: { kind: 'none' }, maxKeys: 10_000 });

    it('deletes expired rows in bounded batches while the count stays exact throughout', async () => {
      // Each write also sweeps its account: the keys must outlive the writing of all of them, or the
      // writes would already delete some (3 s: writing 1,500 keys takes well under that, even busy).
      await Promise.all(Array.from({ length: 3 }, (_, i) => put(`long${i}`)));
      const written = await Promise.all(Array.from({ length: 1500 }, (_, i) => put(`short${i}`, 3)));
      // Wait until the last of them has expired, however long writing them took on a busy machine.
      const lastExpiry = Math.max(...written.map((outcome) => (outcome.ok ? outcome.item.expiresAt! : 0)));
      await new Promise((resolve) => setTimeout(resolve, lastExpiry - Date.now() + 20));

      expect(await store.countKeys('acc_sweep')).toBe(3);
      expect(store.sweepAll()).toBe(1000);
      expect(await store.countKeys('acc_sweep')).toBe(3);
      expect(store.sweepAll()).toBe(500);
      expect(store.sweepAll()).toBe(0);
      expect(await store.countKeys('acc_sweep')).toBe(3);
      const page = await store.listItems('acc_sweep', { prefix: '', limit: 1000 });
      expect(page.items.map((item) => item.key)).toEqual(['long0', 'long1', 'long2']);
    });

    it('counts a key as gone the moment it expires, before any sweep', async () => {
      await put('soon', 1);
      await put('stays');
      expect(await store.countKeys('acc_sweep')).toBe(2);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expect(await store.countKeys('acc_sweep')).toBe(1);
    });
  });

  describe('change log', () => {
    const account = 'acc_log';

    const put = (key: string) => store.setItem(account, key, { value: '1', condition: { kind: 'none' }, maxKeys: 10_000 });
    const readAll = async (cursor: string, resuming: boolean) => {
      const page = await store.readChanges(account, cursor, 100, resuming);
      if (page.reset) throw new Error('unexpected reset');
      return page.changes;
    };

    it("numbers an account's changes in commit order, a set by its version, and never reuses a number after deletes", async () => {
      const first = await put('a');
      await store.deleteItem(account, 'a', { kind: 'none' });
      const third = await put('a');
      const changes = await readAll('0', false);
      expect(changes.map((change) => [change.kind, change.key])).toEqual([['set', 'a'], ['delete', 'a'], ['set', 'a']]);
      if (!first.ok || !third.ok) throw new Error('write failed');
      expect(changes[0].cursor).toBe(first.item.version);
      expect(changes[2].cursor).toBe(third.item.version);
      const cursors = changes.map((change) => Number(change.cursor));
      expect(cursors).toEqual([...cursors].sort((x, y) => x - y));
      expect(new Set(cursors).size).toBe(3);
      expect(await store.latestChange(account)).toBe(changes[2].cursor);
    });

    it('gives back the rows of changes older than an hour in the background sweep, and a resume from one of them is a reset', async () => {
      await put('old1');
      await put('old2');
      const [oldest] = await readAll('0', false);
      store.sweepAll(Date.now() + 3_600_000 + 1000);
      expect(await store.readChanges(account, oldest.cursor, 100, true)).toEqual({ reset: true });
      // A watch from now starts past the trimmed changes, and the log goes on with higher numbers.
      const now = await store.latestChange(account);
      expect(await readAll(now, false)).toEqual([]);
      await put('new');
      const [next] = await readAll(now, false);
      expect(next.key).toBe('new');
      expect(Number(next.cursor)).toBeGreaterThan(Number(now));
    });
  });

  describe('SqliteStore schema upgrade', () => {
    it('opens a schema 2 database: its change log is made again, and a resume from one of its ids is a reset', async () => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvtest-'));
      try {
        // Schema 2's change log: numbered across accounts.
        const old = new Database(path.join(dataDir, 'kv.sqlite'));
        old.exec(`CREATE TABLE changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, account_id TEXT NOT NULL, at INTEGER NOT NULL,
          kind TEXT NOT NULL, key BLOB NOT NULL, version INTEGER NOT NULL, expires_at INTEGER);
          CREATE TABLE change_trims (account_id TEXT PRIMARY KEY, trimmed_upto INTEGER NOT NULL);`);
        old.prepare('INSERT INTO changes (seq, account_id, at, kind, key, version) VALUES (5000, ?, ?, ?, ?, 1)').run('acc_old', Date.now(), 'set', Buffer.from('k'));
        old.pragma('user_version = 2');
        old.close();

        const store = new SqliteStore({ dataDir, backgroundSweep: false });
        try {
          expect(await store.readChanges('acc_old', '5000', 100, true)).toEqual({ reset: true });
          await store.setItem('acc_old', 'k', { value: '2', condition: { kind: 'none' }, maxKeys: 10 });
          const page = await store.readChanges('acc_old', '0', 100, false);
          expect(page.reset === false && page.changes.map((change) => [change.kind, change.key])).toEqual([['set', 'k']]);
        } finally {
          await store.close();
        }
      } finally {
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
});

describe('SqliteStore after close', () => {
  it('answers every operation with StoreUnavailableError (503), never a plain error (500)', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvtest-'));
    const store = new SqliteStore({ dataDir, backgroundSweep: false });
    await store.close();
    try {
      const always = { kind: 'none' } as const;
      const attempts: Promise<unknown>[] = [
        store.getItem('acc_closed', 'k'),
        store.setItem('acc_closed', 'k', { value: '1', condition: always, maxKeys: 10 }),
        store.setItems('acc_closed', [{ key: 'k', request: { value: '1', condition: always, maxKeys: 10 } }]),
        store.deleteItem('acc_closed', 'k', always),
        store.commit('acc_closed', { checks: [], ops: [{ op: 'set', key: 'k', value: '1' }], maxKeys: 10 }),
        store.listItems('acc_closed', { prefix: '', limit: 10 }),
        store.readChanges('acc_closed', '0', 10, false),
        store.latestChange('acc_closed'),
      ];
      for (const attempt of attempts) await expect(attempt).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
