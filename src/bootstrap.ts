// First start on an empty store: the `default` account and its API key, created exactly once.

import type { Logger } from 'pino';
import { DEFAULT_ACCOUNT_ID, newApiKey } from './accounts';
import type { KvStore } from './store/types';

/**
 * Creates the `default` account unless it exists. The store creates an account atomically and only
 * if its id is free, so when replicas start together exactly one of them creates it, and only that
 * one prints a generated key. With KV_BOOTSTRAP_API_KEY the key is the operator's and never printed.
 * Returns the generated secret, if this call created the account with one.
 */
export async function ensureDefaultAccount(
  store: Pick<KvStore, 'createAccount'>,
  bootstrapApiKey: string | undefined,
  logger: Logger,
  print: (line: string) => void,
): Promise<string | undefined> {
  const { record, secret } = newApiKey(DEFAULT_ACCOUNT_ID, ['read', 'write'], 'bootstrap', bootstrapApiKey);
  const account = { id: DEFAULT_ACCOUNT_ID, name: 'default', limitOverrides: {}, createdAt: Date.now() };
  if (!(await store.createAccount(account, record))) return undefined;
  if (bootstrapApiKey !== undefined) {
    logger.info({ accountId: DEFAULT_ACCOUNT_ID, keyId: record.id }, 'created the default account with KV_BOOTSTRAP_API_KEY');
    return undefined;
  }
  logger.info({ accountId: DEFAULT_ACCOUNT_ID, keyId: record.id }, 'created the default account; its API key is printed once on stdout');
  print(`\n  Default account API key (shown once, store it now):\n\n    ${secret}\n`);
  return secret;
}
