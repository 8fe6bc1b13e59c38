// rate-limit-redis on the store's ioredis connection, made to survive a cold or restarted Redis.

import { createHash } from 'node:crypto';
import type { Store } from 'express-rate-limit';
import { RedisStore as RateLimitRedisStore } from 'rate-limit-redis';
import type { AuthCheckLedger, AuthCheckReservation } from '../auth-checks';
import type { RedisClient } from './connection';
import { AUTH_CHECK_SCRIPTS, scriptDefinitions, type ScriptCommands } from './scripts';

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

type AuthCheckCommands = Pick<ScriptCommands, (typeof AUTH_CHECK_SCRIPTS)[number]>;

/**
 * The auth-check scripts as ioredis commands on `client` (defineCommand: EVALSHA, and EVAL on
 * NOSCRIPT, per connection and per Cluster node). Defined once per client.
 */
function authCheckCommands(client: RedisClient): AuthCheckCommands {
  const scripted = client as RedisClient & Partial<AuthCheckCommands>;
  if (!scripted.reserveAuthCheck) {
    for (const [name, definition] of Object.entries(scriptDefinitions(AUTH_CHECK_SCRIPTS))) client.defineCommand(name, definition);
  }
  return client as RedisClient & AuthCheckCommands;
}

/**
 * rate-limit-redis's store plus the failed-authentication ledger (see authFailureLimit): both keys
 * of one client carry the client as hash tag, so each script stays in one Cluster slot.
 */
class RedisRateLimitStore extends RateLimitRedisStore implements AuthCheckLedger {
  private readonly commands: AuthCheckCommands;

  constructor(
    client: RedisClient,
    private readonly ledgerPrefix: string,
  ) {
    super({ prefix: ledgerPrefix, sendCommand: resilientSendCommand(client) });
    this.commands = authCheckCommands(client);
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

/** An express-rate-limit store whose counters live in Redis under `prefix`; also the auth-check ledger. */
export function createRedisRateLimitStore(client: RedisClient, prefix: string): Store & AuthCheckLedger {
  return new RedisRateLimitStore(client, prefix);
}
