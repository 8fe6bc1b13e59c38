// The rate limiters' Redis side: synchronised account counters (or rate-limit-redis, exact), and
// the failed-authentication ledger, on the store's ioredis connection.

import { createHash } from 'node:crypto';
import type { Store } from 'express-rate-limit';
import { RedisStore as RateLimitRedisStore } from 'rate-limit-redis';
import type { AuthCheckLedger, AuthCheckReservation } from '../auth-checks';
import { SyncedRateLimitStore } from '../synced-rate-limit-store';
import type { RedisClient } from './connection';
import { RATE_LIMIT_SCRIPTS, scriptDefinitions, type ScriptCommands } from './scripts';

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

type RateLimitCommands = Pick<ScriptCommands, (typeof RATE_LIMIT_SCRIPTS)[number]>;

/**
 * The rate limiters' scripts as ioredis commands on `client` (defineCommand: EVALSHA, and EVAL on
 * NOSCRIPT, per connection and per Cluster node). Defined once per client.
 */
function rateLimitCommands(client: RedisClient): RateLimitCommands {
  const scripted = client as RedisClient & Partial<RateLimitCommands>;
  if (!scripted.addRateLimitHits) {
    for (const [name, definition] of Object.entries(scriptDefinitions(RATE_LIMIT_SCRIPTS))) client.defineCommand(name, definition);
  }
  return client as RedisClient & RateLimitCommands;
}

/**
 * rate-limit-redis's store plus the failed-authentication ledger (see authFailureLimit): both keys
 * of one client carry the client as hash tag, so each script stays in one Cluster slot.
 */
class RedisRateLimitStore extends RateLimitRedisStore implements AuthCheckLedger {
  private readonly commands: RateLimitCommands;

  constructor(
    client: RedisClient,
    private readonly ledgerPrefix: string,
  ) {
    super({ prefix: ledgerPrefix, sendCommand: resilientSendCommand(client) });
    this.commands = rateLimitCommands(client);
  }

  private ledgerKeys(client: string): [string, string] {
    const tagged = `${this.ledgerPrefix}{${client}}`;
    return [`${tagged}:failures`, `${tagged}:checking`];
  }

  async reserveAuthCheck(client: string, token: string, limit: number, holdMs: number): Promise<AuthCheckReservation> {
    const [outcome, windowLeftMs] = await this.commands.reserveAuthCheck(...this.ledgerKeys(client), limit, token, holdMs);
    if (outcome === 2) return { outcome: 'granted' };
    if (outcome === 1) return { outcome: 'busy' };
    return { outcome: 'refused', retryAfterMs: Number(windowLeftMs) };
  }

  async releaseAuthCheck(client: string, token: string, failed: boolean, windowMs: number): Promise<void> {
    await this.commands.releaseAuthCheck(...this.ledgerKeys(client), token, failed ? '1' : '0', windowMs);
  }
}

/** An express-rate-limit store whose counters live in Redis under `prefix`, one call per request; also the auth-check ledger. */
export function createRedisRateLimitStore(client: RedisClient, prefix: string): Store & AuthCheckLedger {
  return new RedisRateLimitStore(client, prefix);
}

/**
 * Account counters answered in process and added to Redis every `syncMs` (see SyncedRateLimitStore
 * for the bound on what replicas together may overshoot), one script call per account and interval.
 */
export function createSyncedRedisRateLimitStore(
  client: RedisClient,
  prefix: string,
  syncMs: number,
  onError: (error: unknown) => void,
): SyncedRateLimitStore {
  const commands = rateLimitCommands(client);
  return new SyncedRateLimitStore({ prefix, syncMs, onError, add: (key, hits, ttlMs) => commands.addRateLimitHits(key, hits, ttlMs) });
}
