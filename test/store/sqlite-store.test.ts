// The conformance suite against the embedded SQLite store, each run on a fresh database file.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store';
import type { KvStore } from '../../src/store/types';
import { describeStoreConformance } from './conformance';

const dirs = new Map<KvStore, string>();

describeStoreConformance('sqlite', {
  async create() {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvtest-'));
    const store = new SqliteStore({ dataDir });
    dirs.set(store, dataDir);
    return store;
  },
  async destroy(store) {
    await store.close();
    fs.rmSync(dirs.get(store)!, { recursive: true, force: true });
  },
});
