// The conformance suite against the embedded SQLite store, each run on a fresh database file.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store';
import { createTestStore } from '../helpers/stores';
import { describeStoreConformance } from './conformance';

describeStoreConformance('sqlite', () => createTestStore('sqlite'));

describe('SqliteStore expiry sweep', () => {
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
