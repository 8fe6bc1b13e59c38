// Opens ioredis connections to any of the three Redis topologies, with one set of failure rules.

import fs from 'node:fs';
import net from 'node:net';
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

/**
 * What went wrong connecting to Redis, in one line that names the topology's address(es) and the
 * cause, and never a credential: the message is built from the error's code and safe fields, and
 * any text taken from an error has the configured passwords and URL user-info removed. (ioredis'
 * own errors are not passed on: an AUTH reply error carries the command, password included.)
 */
export class RedisConnectionError extends Error {
  constructor(
    message: string,
    /** ECONNREFUSED, ENOTFOUND, ETIMEDOUT, WRONGPASS, NOAUTH, TLS, … or UNKNOWN. */
    readonly code: string,
  ) {
    super(message);
    this.name = 'RedisConnectionError';
  }
}

interface Cause {
  code: string;
  text: string;
  /** Says little on its own ("Connection is closed."): does not replace a specific cause. */
  vague?: boolean;
}

const hostPort = ({ host, port }: { host: string; port: number }) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

/** The configured address(es) of the topology, e.g. "Redis at 10.0.0.5:6379 (TLS)"; no user-info. */
export function describeRedisTarget(connection: RedisConnection): string {
  const tls = connection.tls ? ' (TLS)' : '';
  switch (connection.kind) {
    case 'standalone': {
      let address = 'the configured REDIS_URL';
      try {
        const url = new URL(connection.url);
        address = hostPort({ host: url.hostname.replace(/^\[|\]$/g, '') || 'localhost', port: Number(url.port || 6379) });
      } catch {
        // An unparsable URL is named by its variable only: it may hold a password.
      }
      return `Redis at ${address}${tls}`;
    }
    case 'sentinel':
      return `Redis primary "${connection.masterName}" via sentinels ${connection.sentinels.map(hostPort).join(', ')}${tls}`;
    case 'cluster':
      return `Redis Cluster at ${connection.nodes.map(hostPort).join(', ')}${tls}`;
  }
}

/** Every secret of the connection, as configured and URL-encoded, longest first. */
function secretsOf(connection: RedisConnection): string[] {
  const secrets = [connection.password, connection.kind === 'sentinel' ? connection.sentinelPassword : undefined];
  if (connection.kind === 'standalone') {
    try {
      const url = new URL(connection.url);
      secrets.push(url.password, decodeURIComponent(url.password));
    } catch {
      // Not a URL: nothing to take from it.
    }
  }
  const all = secrets.filter((secret): secret is string => Boolean(secret));
  return [...new Set([...all, ...all.map(encodeURIComponent)])].sort((a, b) => b.length - a.length);
}

/** `text` with user-info of any URL and every configured secret taken out. */
export function scrubSecrets(text: string, connection: RedisConnection): string {
  let scrubbed = text.replace(/(\/\/)[^/@\s]*@/g, '$1');
  for (const secret of secretsOf(connection)) scrubbed = scrubbed.split(secret).join('***');
  return scrubbed;
}

const TLS_CODE = /^(ERR_SSL_|ERR_TLS_|EPROTO$|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|UNABLE_TO_)/;

function causeOf(error: unknown, connection: RedisConnection): Cause {
  // Duck-typed: errors from another realm (a VM context, as under Jest) are not `instanceof Error`.
  if (typeof error !== 'object' || error === null || typeof (error as Error).message !== 'string') {
    return { code: 'UNKNOWN', text: 'unknown error', vague: true };
  }
  const fields = error as Error & { code?: unknown; address?: string; port?: number; hostname?: string; lastNodeError?: unknown };
  const code = typeof fields.code === 'string' ? fields.code : undefined;
  const at = fields.address && fields.port ? ` at ${hostPort({ host: fields.address, port: fields.port })}` : '';
  const message = scrubSecrets(fields.message, connection);
  const tlsHint = connection.tls ? '' : ' (a TLS-only server does this: use rediss:// or REDIS_TLS=true)';
  switch (code) {
    case 'ECONNREFUSED':
      return { code, text: `connection refused (ECONNREFUSED)${at}` };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return { code: 'ENOTFOUND', text: `host not found (${code}${fields.hostname ? ` ${fields.hostname}` : ''})` };
    case 'ETIMEDOUT':
      return {
        code,
        text: `connection timed out (ETIMEDOUT)${connection.tls ? ' (a server without TLS does this to a TLS client: is TLS on at the server?)' : ''}`,
      };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { code, text: `host unreachable (${code})${at}` };
    case 'ECONNRESET':
    case 'EPIPE':
      return { code, text: `connection reset by the server (${code})${tlsHint}` };
  }
  if (code && TLS_CODE.test(code)) return { code: 'TLS', text: `TLS failure (${code}: ${message})` };
  if (/^WRONGPASS\b/.test(fields.message)) return { code: 'WRONGPASS', text: 'authentication failed (WRONGPASS: wrong username or password)' };
  if (/^NOAUTH\b/.test(fields.message)) return { code: 'NOAUTH', text: 'authentication required (NOAUTH: the server requires a password and none was given)' };
  if (/^ERR (invalid password|AUTH .*without any password)/i.test(fields.message)) {
    return { code: 'WRONGPASS', text: 'authentication failed (the server has no such password)' };
  }
  if (/^NOPERM\b/.test(fields.message)) return { code: 'NOPERM', text: `permission denied (${message})` };
  if (fields.name === 'ParserError') {
    return { code: 'PROTOCOL', text: `not a Redis reply (protocol error): is it a Redis server, with TLS as configured?${tlsHint}` };
  }
  if (typeof fields.lastNodeError === 'object' && fields.lastNodeError !== null) {
    const last = causeOf(fields.lastNodeError, connection);
    return { ...last, text: `no node answered with the slots (last: ${last.text})` };
  }
  if (/^All sentinels are unreachable/.test(fields.message)) {
    return { code: 'SENTINELS_UNREACHABLE', text: 'no sentinel answered (all unreachable or refusing)', vague: true };
  }
  const vague = /^(Connection is closed|Stream isn't writeable|Failed to refresh slots cache|Connection in subscriber mode|Reached the max retries per request limit)|because Connection is closed/.test(
    fields.message,
  );
  return { code: code ?? 'UNKNOWN', text: message.replace(/\s+/g, ' ').trim() || 'unknown error', vague };
}

/**
 * Follows a store's connections and keeps the latest specific cause of their trouble since they
 * were last ready, for the error ready() rejects with and for 'down' notifications.
 */
export class ConnectionProblems {
  private cause: Cause | undefined;
  readonly target: string;

  constructor(private readonly connection: RedisConnection) {
    this.target = describeRedisTarget(connection);
  }

  /** Starts following `client` (the listeners only record; they never throw). */
  watch(client: RedisClient): void {
    client.on('ready', () => (this.cause = undefined));
    client.on('error', (error: unknown) => this.record(error));
    // A Cluster's per-node errors carry the cause its own "Failed to refresh slots cache." hides.
    client.on('node error', (error: unknown, address: unknown) => this.record(error, typeof address === 'string' ? address : undefined));
    // ioredis reports each sentinel it could not ask; the cause itself it does not keep.
    client.on('sentinelError', (error: unknown) => this.record(error));
  }

  private record(error: unknown, address?: string): void {
    const cause = causeOf(error, this.connection);
    if (address && !cause.text.includes(address)) cause.text += ` at ${address}`;
    if (cause.vague && this.cause && !this.cause.vague) return;
    this.cause = cause;
  }

  /**
   * ioredis keeps only "Connection is closed." of why a Cluster seed node or a sentinel could not
   * be reached. When that is all there is, one plain TCP connection to each configured address
   * (at most `timeoutMs`) finds out whether it refuses, is not found or does not answer.
   */
  async probeIfVague(timeoutMs: number): Promise<void> {
    if (this.cause && !this.cause.vague) return;
    const endpoints =
      this.connection.kind === 'cluster' ? this.connection.nodes : this.connection.kind === 'sentinel' ? this.connection.sentinels : [];
    const failures = await Promise.all(endpoints.map((endpoint) => tcpProbe(endpoint, timeoutMs)));
    const failed = failures.filter((failure): failure is Error => failure !== undefined);
    // Only when every address fails: one that answers says the trouble is past the TCP connection.
    if (failed.length > 0 && failed.length === endpoints.length) this.record(failed[0]);
  }

  /**
   * One safe line naming the target and the cause: `error`'s, unless it says less than the last
   * one recorded, or else the last recorded one. `notReady`: ready() gave up (after that many ms).
   */
  describe(error?: unknown, notReady?: number | true): RedisConnectionError {
    const given = error === undefined ? undefined : causeOf(error, this.connection);
    const cause = !given || (given.vague && this.cause && !this.cause.vague) ? this.cause : given;
    const what = notReady === undefined ? '' : notReady === true ? ' not ready' : ` not ready after ${notReady} ms`;
    const text = cause?.text ?? 'no answer yet (still connecting, no error reported)';
    return new RedisConnectionError(`${this.target}${what}: ${text}`, cause?.code ?? 'TIMEOUT');
  }
}

/** Undefined when a TCP connection to `endpoint` opens within `timeoutMs`; else why not. */
function tcpProbe(endpoint: { host: string; port: number }, timeoutMs: number): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: endpoint.host, port: endpoint.port });
    const done = (error?: Error) => {
      socket.destroy();
      resolve(error);
    };
    socket.setTimeout(timeoutMs, () => done(Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' })));
    socket.once('connect', () => done());
    socket.once('error', (error) => done(error));
  });
}
