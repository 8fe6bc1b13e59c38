// rate-limit-redis on the store's ioredis connection, made to survive a cold or restarted Redis.

import { createHash } from 'node:crypto';
import type { Store } from 'express-rate-limit';
import { RedisStore as RateLimitRedisStore } from 'rate-limit-redis';
import type { RedisClient } from './connection';

type Reply = boolean | number | string | (boolean | number | string)[];

/**
 * rate-limit-redis loads its scripts with SCRIPT LOAD once, at start-up; if Redis is down then, or
 * restarts later without its script cache, or (on a Cluster) the load went to another node, every
 * EVALSHA would fail for good. Here SCRIPT LOAD is answered locally with the script's SHA1 and an
 * EVALSHA that meets NOSCRIPT is sent again as EVAL, which also caches the script on that server.
 */
export function resilientSendCommand(client: RedisClient): (...args: string[]) => Promise<Reply> {
  const scripts = new Map<string, string>();
  return async (...args: string[]) => {
    const [command, ...rest] = args;
    if (command.toUpperCase() === 'SCRIPT' && rest[0]?.toUpperCase() === 'LOAD') {
      const sha = createHash('sha1').update(rest[1]).digest('hex');
      scripts.set(sha, rest[1]);
      return sha;
    }
    try {
      return (await client.call(command, ...rest)) as Reply;
    } catch (error) {
      const script = command.toUpperCase() === 'EVALSHA' ? scripts.get(rest[0]) : undefined;
      if (!script || !/^NOSCRIPT/.test((error as Error).message)) throw error;
      return (await client.call('EVAL', script, ...rest.slice(1))) as Reply;
    }
  };
}

/** An express-rate-limit store whose counters live in Redis under `prefix`. */
export function createRedisRateLimitStore(client: RedisClient, prefix: string): Store {
  return new RateLimitRedisStore({ prefix, sendCommand: resilientSendCommand(client) });
}
