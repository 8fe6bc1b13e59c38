// An app on a real store for HTTP tests: its own data, its own admin token, quiet logs.

import type { Express } from 'express';
import pino, { type Logger } from 'pino';
import { createApp } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';
import type { KvStore } from '../../src/store/types';
import { accountClient, createAccount, type AccountClient, type Target, type TestAccount } from './client';
import { createTestStore, remoteBaseUrl, storeKind, type StoreKind, type TestStore } from './stores';

export { describeStore, storeKind } from './stores';

export { ADMIN_TOKEN } from './admin-token';
import { ADMIN_TOKEN } from './admin-token';

export interface TestApp {
  /** What supertest talks to: an app in this process, or the URL of the replica topology's load balancer. */
  app: Target;
  config: Config;
  kind: StoreKind;
  store: KvStore;
  /** The test store behind the app: dump, cut off, destroy. */
  testStore: TestStore;
  /** Creates a fresh account through the admin API; returns its id and read+write key. */
  newAccount(limits?: Record<string, number>): Promise<TestAccount>;
  /** A fresh account (see newAccount) and a client on `app` bound to its key. */
  newClient(limits?: Record<string, number>): Promise<TestAccount & AccountClient>;
  close(): Promise<void>;
}

/** The configuration an app on `testStore` runs with; `env` adds or overrides variables. */
export function testConfig(testStore: TestStore, env: Record<string, string | undefined> = {}): Config {
  return loadConfig({ KV_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'silent', ...testStore.env, ...env });
}

/** An app on an existing test store: a second replica, or a store in a particular state. */
export function appOn(
  testStore: TestStore,
  options: { config?: Config; store?: KvStore; isReady?: () => boolean; logger?: Logger } = {},
): Express {
  return createApp({
    config: options.config ?? testConfig(testStore),
    store: options.store ?? testStore.store,
    logger: options.logger ?? pino({ level: 'silent' }),
    rateLimitStore: testStore.rateLimitStore,
    isReady: options.isReady ?? (() => true),
  });
}

/**
 * An app on a fresh store of this project's kind (or `kind`). `env` overrides configuration
 * variables as strings, exactly as the process would read them; `undefined` unsets one.
 */
export async function createTestApp(
  env: Record<string, string | undefined> = {},
  store: StoreKind | TestStore = storeKind,
): Promise<TestApp> {
  const testStore = typeof store === 'string' ? await createTestStore(store) : store;
  const config = testConfig(testStore, env);
  if (remoteBaseUrl && Object.keys(env).length > 0) {
    throw new Error('the topology runs with the default configuration; this test needs its own app');
  }
  const app = remoteBaseUrl ?? appOn(testStore, { config });
  return {
    app,
    config,
    kind: testStore.kind,
    store: testStore.store,
    testStore,
    newAccount: (limits) => createAccount(app, limits),
    async newClient(limits) {
      const account = await createAccount(app, limits);
      return { ...account, ...accountClient(app, account.apiKey) };
    },
    close: () => testStore.destroy(),
  };
}
