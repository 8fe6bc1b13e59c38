// Real Redis topologies on loopback, from the redis-server binary: a Cluster (3 primaries, 3
// replicas) and a Sentinel group (1 primary, 2 replicas, 3 sentinels). Every process is started
// here and stopped by PID; their PIDs are also written to <dir>/*.pid for CI to sweep up.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis, { type RedisOptions } from 'ioredis';
import type { HostPort, RedisConnection } from '../../src/config';
import { freePort } from './processes';
import { waitFor } from './wait';

const HOST = '127.0.0.1';

/** How a Redis deployment is laid out: one server, a Cluster, or a primary with replicas behind Sentinel. */
export type RedisTopology = 'standalone' | 'cluster' | 'sentinel';

/** Environment variables in which a global setup leaves the connection of the group it started. */
export const GROUP_ENV: Record<Exclude<RedisTopology, 'standalone'>, string> = {
  cluster: 'KV_TEST_CLUSTER_CONNECTION',
  sentinel: 'KV_TEST_SENTINEL_CONNECTION',
};

/** A group's processes in one temp dir; `kill` is SIGKILL (a crash), `stop` ends them all. */
export interface RedisGroup {
  dir: string;
  /** How the service reaches this group (the same RedisConnection config.ts builds). */
  connection: RedisConnection;
  /** Port → process of every data node. */
  nodes: Map<number, ChildProcess>;
  /** Options for an ioredis connection straight to one data node (auth and TLS included). */
  nodeOptions(port: number): RedisOptions;
  kill(port: number): Promise<void>;
  stop(): Promise<void>;
}

export interface GroupOptions {
  /** ACL user of the data nodes (besides `default`), with `password`. */
  username?: string;
  password: string;
  /** TLS only: every port is a TLS port, replication and the cluster bus included. */
  tls?: boolean;
}

/**
 * A password of a group's own. Ports are reused between tests: with one password per group, a
 * client still pointed at a killed node's port can never authenticate to another group's node
 * that took the port over.
 */
export function randomPassword(): string {
  return `pw-${randomBytes(12).toString('hex')}`;
}

/** True when redis-server and redis-cli are on PATH. */
export function hasRedisBinaries(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    execFileSync('redis-cli', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The port given to a process was taken by another before it could bind: start again on others. */
class PortTakenError extends Error {}

/**
 * Waits until the server at `options` is `child` itself (INFO's process_id): another test's
 * process may have taken the port between freePort() and the bind.
 */
async function waitOwned(child: ChildProcess, options: RedisOptions, what: string): Promise<void> {
  const outcome = await waitFor(
    async () => {
      if (child.exitCode !== null || child.signalCode !== null) return 'exited';
      const info = await nodeCommand(options, 'INFO', 'server');
      return new RegExp(`process_id:${child.pid}\\r?\\n`).test(String(info)) && 'owned';
    },
    { what, timeoutMs: 10_000, intervalMs: 100 },
  );
  if (outcome === 'exited') throw new PortTakenError(`${what} exited at start (port taken?)`);
}

/** Runs `start` again, on fresh ports, when one of its ports was taken under it. */
async function onFreePorts<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt === 3) throw error;
    }
  }
}

/** A self-signed certificate for 127.0.0.1, its own CA. */
function makeCertificate(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${HOST}`, '-addext', `subjectAltName=IP:${HOST}`],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

class ProcessSet {
  readonly processes = new Map<string, ChildProcess>();

  constructor(readonly dir: string) {}

  spawn(name: string, args: string[]): ChildProcess {
    const log = fs.openSync(path.join(this.dir, `${name}.log`), 'a');
    const child = spawn('redis-server', args, { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    fs.writeFileSync(path.join(this.dir, `${name}.pid`), String(child.pid));
    this.processes.set(name, child);
    return child;
  }

  async kill(name: string): Promise<void> {
    const child = this.processes.get(name);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.processes.keys()].map((name) => this.kill(name)));
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function serverArgs(port: number, dir: string, options: GroupOptions, tlsFiles?: { cert: string; key: string }): string[] {
  const args = ['--bind', HOST, '--dir', dir, '--save', '', '--appendonly', 'no', '--requirepass', options.password, '--masterauth', options.password];
  if (options.username) {
    args.push('--user', options.username, 'on', `>${options.password}`, '~*', '&*', '+@all');
    args.push('--masteruser', options.username);
  }
  if (tlsFiles) {
    args.push('--port', '0', '--tls-port', String(port), '--tls-cert-file', tlsFiles.cert, '--tls-key-file', tlsFiles.key);
    args.push('--tls-ca-cert-file', tlsFiles.cert, '--tls-auth-clients', 'no', '--tls-replication', 'yes');
  } else {
    args.push('--port', String(port));
  }
  return args;
}

function cliArgs(options: GroupOptions, tlsFiles?: { cert: string }): string[] {
  const args = ['--no-auth-warning'];
  if (options.username) args.push('--user', options.username);
  args.push('--pass', options.password);
  if (tlsFiles) args.push('--tls', '--cacert', tlsFiles.cert);
  return args;
}

function directOptions(port: number, options: GroupOptions, tlsFiles?: { cert: string }): RedisOptions {
  return {
    host: HOST,
    port,
    username: options.username,
    password: options.password,
    tls: tlsFiles ? { ca: fs.readFileSync(tlsFiles.cert) } : undefined,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  };
}

/** The credential and TLS fields of a group's RedisConnection. */
function connectionSecurity(options: GroupOptions, tlsFiles?: { cert: string }) {
  return { username: options.username, password: options.password, tls: Boolean(tlsFiles), tlsCaFile: tlsFiles?.cert };
}

/** Runs `build` on a fresh temp dir and process set; on failure, stops what it started. */
async function inGroupDir<T>(name: string, build: (dir: string, set: ProcessSet) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kv-redis-${name}-`));
  const set = new ProcessSet(dir);
  try {
    return await build(dir, set);
  } catch (error) {
    await set.stopAll();
    throw error;
  }
}

/** Runs one command on one node over a short-lived connection. */
export async function nodeCommand(options: RedisOptions, command: string, ...args: (string | number)[]): Promise<unknown> {
  const client = new Redis(options);
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.call(command, ...args);
  } finally {
    client.disconnect();
  }
}

/** One standalone redis-server with the group options (an ACL user, TLS), for the connection tests. */
export function startRedisStandalone(options: GroupOptions): Promise<RedisGroup> {
  return onFreePorts(() => startRedisStandaloneOnce(options));
}

async function startRedisStandaloneOnce(options: GroupOptions): Promise<RedisGroup> {
  return inGroupDir('standalone', async (dir, set) => {
    const tlsFiles = options.tls ? makeCertificate(dir) : undefined;
    const port = await freePort();
    const nodes = new Map([[port, set.spawn(`node-${port}`, serverArgs(port, dir, options, tlsFiles))]]);
    const nodeOptions = (nodePort: number) => directOptions(nodePort, options, tlsFiles);
    await waitOwned(nodes.get(port)!, nodeOptions(port), `node ${port}`);
    const credentials = options.username ? `${options.username}:${encodeURIComponent(options.password)}@` : `:${encodeURIComponent(options.password)}@`;
    return {
      dir,
      connection: {
        kind: 'standalone',
        url: `${tlsFiles ? 'rediss' : 'redis'}://${credentials}${HOST}:${port}`,
        // The user and password are in the URL.
        tls: Boolean(tlsFiles),
        tlsCaFile: tlsFiles?.cert,
      },
      nodes,
      nodeOptions,
      kill: (nodePort) => set.kill(`node-${nodePort}`),
      stop: () => set.stopAll(),
    };
  });
}

/**
 * A Redis Cluster of `primaries` primaries with one replica each, created with
 * `redis-cli --cluster create`. Failover is quick (node timeout 1 s) and a primary's death stops
 * only its own slots (cluster-require-full-coverage no).
 */
export function startRedisCluster(options: GroupOptions & { primaries?: number }): Promise<RedisGroup> {
  return onFreePorts(() => startRedisClusterOnce(options));
}

async function startRedisClusterOnce(options: GroupOptions & { primaries?: number }): Promise<RedisGroup> {
  return inGroupDir('cluster', async (dir, set) => {
    const primaries = options.primaries ?? 3;
    const tlsFiles = options.tls ? makeCertificate(dir) : undefined;
    const ports: number[] = [];
    for (let i = 0; i < primaries * 2; i++) ports.push(await freePort());
    const nodes = new Map<number, ChildProcess>();
    for (const port of ports) {
      const args = [
        ...serverArgs(port, dir, options, tlsFiles),
        '--cluster-enabled', 'yes',
        '--cluster-config-file', path.join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout', '1000',
        '--cluster-replica-validity-factor', '0',
        '--cluster-require-full-coverage', 'no',
        ...(tlsFiles ? ['--tls-cluster', 'yes'] : []),
      ];
      nodes.set(port, set.spawn(`node-${port}`, args));
    }
    const nodeOptions = (port: number) => directOptions(port, options, tlsFiles);
    for (const port of ports) await waitOwned(nodes.get(port)!, nodeOptions(port), `node ${port}`);
    execFileSync(
      'redis-cli',
      [...cliArgs(options, tlsFiles), '--cluster', 'create', ...ports.map((port) => `${HOST}:${port}`), '--cluster-replicas', '1', '--cluster-yes'],
      { stdio: 'ignore', timeout: 30_000 },
    );
    for (const port of ports) {
      await waitFor(
        async () => /cluster_state:ok/.test(String(await nodeCommand(nodeOptions(port), 'CLUSTER', 'INFO'))),
        { what: `cluster_state:ok on ${port}`, timeoutMs: 20_000, intervalMs: 100 },
      );
    }
    // Every replica in sync with its primary, so a failover test starts from a whole copy.
    for (const port of ports) {
      await waitFor(
        async () => {
          const info = String(await nodeCommand(nodeOptions(port), 'INFO', 'replication'));
          return /role:master/.test(info) || /master_link_status:up/.test(info);
        },
        { what: `replica ${port} in sync`, timeoutMs: 20_000, intervalMs: 100 },
      );
    }
    const connection: RedisConnection = {
      kind: 'cluster',
      nodes: ports.map((port) => ({ host: HOST, port })),
      ...connectionSecurity(options, tlsFiles),
    };
    return {
      dir,
      connection,
      nodes,
      nodeOptions,
      kill: (port) => set.kill(`node-${port}`),
      stop: () => set.stopAll(),
    };
  });
}

/** The primary that serves `slot` right now, asked of any live node. */
export async function clusterPrimaryOf(group: RedisGroup, slot: number): Promise<number> {
  for (const port of group.nodes.keys()) {
    try {
      const slots = (await nodeCommand(group.nodeOptions(port), 'CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
      const range = slots.find(([start, end]) => slot >= start && slot <= end);
      if (range) return Number(range[2][1]);
    } catch {
      // a dead node: ask the next one
    }
  }
  throw new Error(`no live node knows slot ${slot}`);
}

export const SENTINEL_MASTER = 'kvmaster';

export interface SentinelGroup extends RedisGroup {
  sentinels: HostPort[];
  /** Options for an ioredis connection straight to one sentinel. */
  sentinelOptions(port: number): RedisOptions;
}

/**
 * A Sentinel group: one primary, two replicas, three sentinels (quorum 2), all with passwords;
 * with `tls`, every port of every process is TLS.
 * A primary that stops answering is failed over after about 1 s.
 */
export function startSentinelGroup(options: GroupOptions & { sentinelPassword: string }): Promise<SentinelGroup> {
  return onFreePorts(() => startSentinelGroupOnce(options));
}

async function startSentinelGroupOnce(options: GroupOptions & { sentinelPassword: string }): Promise<SentinelGroup> {
  return inGroupDir('sentinel', async (dir, set) => {
    const tlsFiles = options.tls ? makeCertificate(dir) : undefined;
    const dataPorts = [await freePort(), await freePort(), await freePort()];
    const sentinelPorts = [await freePort(), await freePort(), await freePort()];
    const [primaryPort, ...replicaPorts] = dataPorts;
    const nodes = new Map<number, ChildProcess>();
    nodes.set(primaryPort, set.spawn(`node-${primaryPort}`, serverArgs(primaryPort, dir, options, tlsFiles)));
    for (const port of replicaPorts) {
      nodes.set(port, set.spawn(`node-${port}`, [...serverArgs(port, dir, options, tlsFiles), '--replicaof', HOST, String(primaryPort)]));
    }
    const nodeOptions = (port: number) => directOptions(port, options, tlsFiles);
    for (const [port, child] of nodes) await waitOwned(child, nodeOptions(port), `node ${port}`);
    for (const port of replicaPorts) {
      await waitFor(
        async () => /master_link_status:up/.test(String(await nodeCommand(nodeOptions(port), 'INFO', 'replication'))),
        { what: `replica ${port} in sync`, timeoutMs: 20_000, intervalMs: 100 },
      );
    }
    const sentinelProcesses = new Map<number, ChildProcess>();
    for (const port of sentinelPorts) {
      const conf = path.join(dir, `sentinel-${port}.conf`);
      const listen = tlsFiles
        ? [
            'port 0',
            `tls-port ${port}`,
            `tls-cert-file ${tlsFiles.cert}`,
            `tls-key-file ${tlsFiles.key}`,
            `tls-ca-cert-file ${tlsFiles.cert}`,
            'tls-auth-clients no',
            // Sentinels reach the data nodes and each other over TLS too.
            'tls-replication yes',
          ]
        : [`port ${port}`];
      const lines = [
        ...listen,
        `bind ${HOST}`,
        `dir ${dir}`,
        `requirepass ${options.sentinelPassword}`,
        `sentinel sentinel-pass ${options.sentinelPassword}`,
        `sentinel monitor ${SENTINEL_MASTER} ${HOST} ${primaryPort} 2`,
        `sentinel down-after-milliseconds ${SENTINEL_MASTER} 1000`,
        `sentinel failover-timeout ${SENTINEL_MASTER} 10000`,
        `sentinel parallel-syncs ${SENTINEL_MASTER} 1`,
        ...(options.username ? [`sentinel auth-user ${SENTINEL_MASTER} ${options.username}`] : []),
        `sentinel auth-pass ${SENTINEL_MASTER} ${options.password}`,
      ];
      fs.writeFileSync(conf, `${lines.join('\n')}\n`);
      sentinelProcesses.set(port, set.spawn(`sentinel-${port}`, [conf, '--sentinel']));
    }
    const sentinelOptions = (port: number): RedisOptions => directOptions(port, { password: options.sentinelPassword }, tlsFiles);
    for (const [port, child] of sentinelProcesses) await waitOwned(child, sentinelOptions(port), `sentinel ${port}`);
    // Each sentinel has found the replicas and the other two sentinels.
    for (const port of sentinelPorts) {
      await waitFor(
        async () => {
          const master = (await nodeCommand(sentinelOptions(port), 'SENTINEL', 'MASTER', SENTINEL_MASTER)) as string[];
          const field = (name: string) => Number(master[master.indexOf(name) + 1]);
          return field('num-slaves') === 2 && field('num-other-sentinels') === 2;
        },
        { what: `sentinel ${port} to see the group`, timeoutMs: 30_000, intervalMs: 100 },
      );
    }
    const sentinels = sentinelPorts.map((port) => ({ host: HOST, port }));
    return {
      dir,
      sentinels,
      connection: {
        kind: 'sentinel',
        sentinels,
        masterName: SENTINEL_MASTER,
        sentinelPassword: options.sentinelPassword,
        ...connectionSecurity(options, tlsFiles),
      },
      nodes,
      nodeOptions,
      sentinelOptions,
      kill: (port) => set.kill(`node-${port}`),
      stop: () => set.stopAll(),
    };
  });
}

/** The port of the group's current primary, as the sentinels report it. */
export async function sentinelPrimary(group: SentinelGroup): Promise<number> {
  for (const { port } of group.sentinels) {
    try {
      const [, primaryPort] = (await nodeCommand(
        group.sentinelOptions(port),
        'SENTINEL',
        'GET-MASTER-ADDR-BY-NAME',
        SENTINEL_MASTER,
      )) as [string, string];
      return Number(primaryPort);
    } catch {
      // ask the next sentinel
    }
  }
  throw new Error('no sentinel answered');
}

/** The environment that points a service process at `connection` (what an operator would set). */
export function connectionEnv(connection: RedisConnection): Record<string, string> {
  const env: Record<string, string> = {};
  if (connection.kind === 'standalone') env.REDIS_URL = connection.url;
  if (connection.kind === 'cluster') env.REDIS_CLUSTER_NODES = connection.nodes.map(({ host, port }) => `${host}:${port}`).join(',');
  if (connection.kind === 'sentinel') {
    env.REDIS_SENTINELS = connection.sentinels.map(({ host, port }) => `${host}:${port}`).join(',');
    env.REDIS_SENTINEL_MASTER = connection.masterName;
    if (connection.sentinelPassword) env.REDIS_SENTINEL_PASSWORD = connection.sentinelPassword;
  }
  if (connection.username) env.REDIS_USERNAME = connection.username;
  if (connection.password) env.REDIS_PASSWORD = connection.password;
  if (connection.tls && connection.kind !== 'standalone') env.REDIS_TLS = 'true';
  if (connection.tlsCaFile) env.REDIS_TLS_CA_FILE = connection.tlsCaFile;
  return env;
}
