// Opens ioredis connections to any of the three Redis topologies, with one set of failure rules.

import fs from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import Redis, { Cluster, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisConnection } from '../../config';

/** A connection to standalone Redis, a Sentinel-managed primary, or a Cluster. */
export type RedisClient = Redis | Cluster;

export interface ConnectOptions {
  /** A command that has no reply by then fails; it may still have run. */
  commandTimeoutMs: number;
  /** ioredis `scripts`: the Lua scripts as commands. */
  scripts?: RedisOptions['scripts'];
  /**
   * The pub/sub connection: queues SUBSCRIBE while disconnected and resubscribes after a reconnect,
   * instead of failing fast like the command connection.
   */
  subscriber?: boolean;
}

/**
 * The settings every data-node connection shares, chosen for failing fast: no offline queue (a
 * request while Redis is down fails at once with 503 instead of waiting), no resend of commands in
 * flight when a connection drops (a write that may have run is never applied a second time behind
 * the client's back), a bounded command timeout, and reconnection forever with a short backoff so
 * the service heals itself.
 */
function nodeOptions(connection: RedisConnection, options: ConnectOptions): RedisOptions {
  const subscriber = options.subscriber === true;
  return {
    enableOfflineQueue: subscriber,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: subscriber ? null : 0,
    commandTimeout: subscriber ? undefined : options.commandTimeoutMs,
    connectTimeout: Math.max(options.commandTimeoutMs, 1000),
    retryStrategy: (attempt) => Math.min(50 * attempt, 1000),
    // A primary demoted to replica (Sentinel failover) answers READONLY: reconnect, so the next
    // command finds the new primary. The failing command is not resent; it did not run.
    reconnectOnError: (error) => (/^READONLY\b/.test(error.message) ? 1 : false),
    username: connection.username,
    password: connection.password,
    tls: tlsOptions(connection),
  };
}

function tlsOptions(connection: RedisConnection): ConnectionOptions | undefined {
  if (!connection.tls) return undefined;
  return connection.tlsCaFile ? { ca: fs.readFileSync(connection.tlsCaFile) } : {};
}

/**
 * Auto-pipelining batches the commands of one event-loop turn into one write. On one connection
 * (standalone, Sentinel) that is safe and saves system calls. On a Cluster it is off: ioredis
 * groups a batch by the slot of each command's first argument, which for EVALSHA is the script's
 * SHA, not a key (ioredis#2109), and a MOVED during a failover re-runs the whole batch, so writes
 * in it that had succeeded could be applied twice (ioredis#2075).
 */
export function connectRedis(connection: RedisConnection, options: ConnectOptions): RedisClient {
  const node = nodeOptions(connection, options);
  switch (connection.kind) {
    case 'standalone':
      return new Redis(connection.url, { ...node, scripts: options.scripts, enableAutoPipelining: true });
    case 'sentinel':
      return new Redis({
        ...node,
        scripts: options.scripts,
        enableAutoPipelining: true,
        sentinels: connection.sentinels,
        name: connection.masterName,
        role: 'master',
        sentinelPassword: connection.sentinelPassword,
        sentinelTLS: node.tls,
        enableTLSForSentinelMode: connection.tls,
        // Ask the sentinels again at once, and forever: a failover is exactly when they matter.
        sentinelRetryStrategy: (attempt) => Math.min(50 * attempt, 1000),
        // No failoverDetector: its +switch-master handler can close the connector while it is
        // asking the sentinels after a crash, and ioredis 5.11 then ends the connection for good
        // (seen in the failover test). A dead primary closes the connection anyway, and a demoted
        // one answers READONLY (reconnectOnError above).
        failoverDetector: false,
      });
    case 'cluster': {
      const { enableOfflineQueue, retryStrategy: _nodeRetry, ...redisOptions } = node;
      const clusterOptions: ClusterOptions = {
        redisOptions,
        scripts: options.scripts,
        enableOfflineQueue,
        enableAutoPipelining: false,
        // In-flight commands on a connection that closed are failed, never resent (they may have
        // run); CLUSTERDOWN and TRYAGAIN were refused before running, so those are retried.
        retryDelayOnFailover: 0,
        retryDelayOnClusterDown: 100,
        retryDelayOnTryAgain: 100,
        maxRedirections: 16,
        clusterRetryStrategy: (attempt) => Math.min(100 * attempt, 1000),
        // Reconnect to a node that restarts, e.g. a replica; topology changes come from MOVED.
        clusterNodeRetryStrategy: (attempt) => Math.min(100 * attempt, 1000),
        slotsRefreshInterval: 2000,
        // With TLS, connect to host names as given rather than resolving them first, so the name
        // the certificate is checked against is the configured one (ioredis' advice for ElastiCache).
        ...(connection.tls ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
      };
      return new Cluster(connection.nodes, clusterOptions);
    }
  }
}

/** The primaries of a Cluster, or the one connection of the other topologies. */
export function primaries(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}
