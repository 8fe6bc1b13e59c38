// rate-limit-redis on the store's ioredis connection, made to survive a cold or restarted Redis.

import { createHash } from 'node:crypto';
import type { Store } from 'express-rate-limit';
import { RedisStore as RateLimitRedisStore } from 'rate-limit-redis';
import type { AuthCheckLedger, AuthCheckReservation } from '../../http/rate-limits';
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

// KEYS[1]: the client's failure count (expires with its window); KEYS[2]: zset of its checks in
// flight, scored by when each lapses. ARGV: limit, token, holdMs. Redis time, so replicas' clocks
// do not matter. Reply {0, ms until the failure window ends} refused, {1} busy, {2} granted.
const RESERVE_AUTH_CHECK = `
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local limit = tonumber(ARGV[1])
local failures = tonumber(redis.call('GET', KEYS[1]) or '0')
if failures >= limit then
  return {0, redis.call('PTTL', KEYS[1])}
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if failures + redis.call('ZCARD', KEYS[2]) >= limit then
  return {1}
end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return {2}
`;

// KEYS as above. ARGV: token, 1 if the check failed (401) else 0, windowMs. A failure starts the
// window when it is the first one.
const RELEASE_AUTH_CHECK = `
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[2] == '1' then
  if redis.call('INCR', KEYS[1]) == 1 or redis.call('PTTL', KEYS[1]) < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[3])
  end
end
return 0
`;

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

/**
 * rate-limit-redis's store plus the failed-authentication ledger (see authFailureLimit): both keys
 * of one client carry the client as hash tag, so the scripts stay in one Cluster slot.
 */
class RedisRateLimitStore extends RateLimitRedisStore implements AuthCheckLedger {
  private readonly send: (...args: string[]) => Promise<Reply>;
  private readonly ledgerPrefix: string;

  constructor(client: RedisClient, prefix: string) {
    const send = resilientSendCommand(client);
    super({ prefix, sendCommand: send });
    this.send = send;
    this.ledgerPrefix = prefix;
    void send('SCRIPT', 'LOAD', RESERVE_AUTH_CHECK);
    void send('SCRIPT', 'LOAD', RELEASE_AUTH_CHECK);
  }

  private ledgerKeys(client: string): [string, string] {
    const tagged = `${this.ledgerPrefix}{${client}}`;
    return [`${tagged}:failures`, `${tagged}:checking`];
  }

  async reserveAuthCheck(client: string, token: string, limit: number, holdMs: number): Promise<AuthCheckReservation> {
    const reply = (await this.send('EVALSHA', sha1(RESERVE_AUTH_CHECK), '2', ...this.ledgerKeys(client), String(limit), token, String(holdMs))) as number[];
    if (reply[0] === 2) return { outcome: 'granted' };
    if (reply[0] === 1) return { outcome: 'busy' };
    return { outcome: 'refused', retryAfterMs: Number(reply[1]) };
  }

  async releaseAuthCheck(client: string, token: string, failed: boolean, windowMs: number): Promise<void> {
    await this.send('EVALSHA', sha1(RELEASE_AUTH_CHECK), '2', ...this.ledgerKeys(client), token, failed ? '1' : '0', String(windowMs));
  }
}

/** An express-rate-limit store whose counters live in Redis under `prefix`; also the auth-check ledger. */
export function createRedisRateLimitStore(client: RedisClient, prefix: string): Store & AuthCheckLedger {
  return new RedisRateLimitStore(client, prefix);
}
