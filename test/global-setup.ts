// Finds the Redis the tests use: REDIS_URL when set, else a throwaway container when Docker runs.
// In CI (CI=true) a missing Redis fails the run instead of skipping the Redis tests.

import type { StartedRedisContainer } from '@testcontainers/redis';

declare global {
  // eslint-disable-next-line no-var
  var __KV_REDIS_CONTAINER__: StartedRedisContainer | undefined;
}

export default async function globalSetup(): Promise<void> {
  if (process.env.REDIS_URL) return;
  try {
    const { RedisContainer } = await import('@testcontainers/redis');
    const container = await new RedisContainer('redis:7-alpine').start();
    globalThis.__KV_REDIS_CONTAINER__ = container;
    process.env.REDIS_URL = container.getConnectionUrl();
    console.log(`\n[kv tests] started Redis in a container at ${process.env.REDIS_URL}`);
  } catch (error) {
    const reason = `no REDIS_URL and no Docker for testcontainers (${(error as Error).message.split('\n')[0]})`;
    if (process.env.CI === 'true') throw new Error(`Redis is required in CI: ${reason}`);
    process.env.KV_TEST_NO_REDIS = reason;
    console.log(`\n[kv tests] Redis tests are skipped: ${reason}. Set REDIS_URL=redis://127.0.0.1:6379 to run them.`);
  }
}
