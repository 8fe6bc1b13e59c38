// An app on a real store for HTTP tests: its own Redis key prefix, its own admin token, quiet logs.

import type { Express } from 'express';
import pino from 'pino';
import request from 'supertest';
import { createApp } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';
import { createRedisRateLimitStore } from '../../src/store/redis/rate-limit-store';
import { RedisStore } from '../../src/store/redis/redis-store';
import { randomBytes } from 'node:crypto';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestApp {
  app: Express;
  config: Config;
  store: RedisStore;
  /** Creates a fresh account through the admin API; returns its id and read+write key. */
  newAccount(limits?: Record<string, number>): Promise<{ accountId: string; apiKey: string; keyId: string }>;
  close(): Promise<void>;
}

/**
 * Starts an app on the Redis at REDIS_URL with a random key prefix. `env` overrides configuration
 * variables (as strings, exactly as the process would read them).
 */
export async function createTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const prefix = `kvtest-${randomBytes(6).toString('hex')}`;
  const config = loadConfig({
    REDIS_URL: process.env.REDIS_URL,
    KV_REDIS_PREFIX: prefix,
    KV_ADMIN_TOKEN: ADMIN_TOKEN,
    LOG_LEVEL: 'silent',
    ...env,
  });
  const store = new RedisStore({ url: config.store.redis.url, prefix, commandTimeoutMs: config.store.commandTimeoutMs });
  await store.ready();
  const app = createApp({
    config,
    store,
    logger: pino({ level: 'silent' }),
    rateLimitStore: (name) => createRedisRateLimitStore(store.client, store.keys.rateLimit(name)),
    isReady: () => true,
  });

  return {
    app,
    config,
    store,
    async newAccount(limits) {
      const res = await request(app)
        .post('/admin/accounts')
        .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
        .send(limits ? { limits } : {});
      if (res.status !== 201) throw new Error(`creating an account failed: ${res.status} ${JSON.stringify(res.body)}`);
      return { accountId: res.body.data.account.id, apiKey: res.body.data.apiKey.key, keyId: res.body.data.apiKey.id };
    },
    async close() {
      let cursor = '0';
      do {
        const [next, keys] = await store.client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        if (keys.length > 0) await store.client.unlink(...keys);
        cursor = next;
      } while (cursor !== '0');
      await store.close();
    },
  };
}
