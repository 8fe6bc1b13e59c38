// Real processes for tests: a throwaway redis-server, and the built service (dist/main.js).

import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { ADMIN_TOKEN } from './admin-token';
import { waitFor } from './wait';

/** A free TCP port on 127.0.0.1 (closed again before it is returned). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A port on 127.0.0.1 that refuses connections and that no test will start listening on: it is
 * below the kernel's ephemeral range (32768-60999), where every listen(0) of the tests and every
 * outgoing connection takes its port, and a connection to it was refused just now. (A port from
 * freePort() is free only until another test's listen(0) takes it: a CI run connected to one and
 * found an HTTP server there.)
 */
export async function refusedPort(): Promise<number> {
  for (let tries = 0; tries < 100; tries++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (!(await canConnect(port))) return port;
  }
  throw new Error('no refused port found in 20000-31999');
}

/** True when something accepts a TCP connection on 127.0.0.1:`port`. */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Resolves once `${baseUrl}/readyz` answers 200 (a KV process connected to its store, or a load
 * balancer in front of one); rejects after `timeoutMs`.
 */
export async function waitUntilReady(baseUrl: string, timeoutMs = 15_000): Promise<void> {
  await waitFor(async () => (await fetch(`${baseUrl}/readyz`)).status === 200, { what: `${baseUrl}/readyz to answer 200`, timeoutMs });
}

/**
 * A redis-server of the test's own on `port`. With `dir`, every write is fsynced to an append-only
 * file there, so a restart on the same dir keeps the data; without, nothing goes to disk.
 */
export async function startRedisServer(port: number, dir?: string): Promise<ChildProcess> {
  const persistence = dir ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir] : ['--appendonly', 'no'];
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence], {
    stdio: 'ignore',
  });
  // It exits at once when the port is taken: no use waiting for it then.
  const state = await waitFor(async () => (child.exitCode !== null ? 'exited' : (await canConnect(port)) && 'listening'), {
    what: `redis-server on port ${port}`,
    timeoutMs: 5000,
  }).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  if (state === 'exited') throw new Error(`redis-server on port ${port} exited (code ${child.exitCode}); the port may be taken`);
  return child;
}

/**
 * A redis-server of the test's own on a free port (see startRedisServer). A port found free can be
 * taken by another process before redis-server binds it: then it tries another, up to 3 times.
 */
export async function startRedisOnFreePort(dir?: string): Promise<{ child: ChildProcess; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return { child: await startRedisServer(port, dir), port };
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
}

/** Sends `signal` and resolves with the exit code once the process has exited. */
export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill(signal);
  return exited;
}

export interface ServiceProcess {
  child: ChildProcess;
  port: number;
  /** Its base URL, http://127.0.0.1:<port>. */
  url: string;
  /** With KV_INTERNAL_PORT: the port of /metrics and /admin, read from its "listening" line. */
  internalPort?: number;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  exited: Promise<number | null>;
}

/**
 * Runs the built service with `env` (on top of PATH only) and waits until it listens (or exits).
 * Without a PORT it listens on port 0 and the port is read from its "listening" log line: a port
 * picked here and handed over could be taken by another test's process in between, and the
 * service would then fail to bind while the other process answered in its place.
 */
export async function startService(env: Record<string, string>): Promise<ServiceProcess> {
  const chosenPort = env.PORT;
  const child = spawn(process.execPath, [path.join(__dirname, '..', '..', 'dist', 'main.js')], {
    env: { PATH: process.env.PATH ?? '', PORT: chosenPort ?? '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const listeningPort = () => {
    const line = output.split('\n').find((entry) => entry.includes('"msg":"listening"'));
    return line ? (JSON.parse(line) as { port: number }).port : undefined;
  };
  const internalPort = () => {
    const line = output.split('\n').find((entry) => entry.includes('"internal":true') && entry.includes('"msg":"listening'));
    return line ? (JSON.parse(line) as { port: number }).port : undefined;
  };
  try {
    if (chosenPort !== undefined) {
      await waitFor(async () => child.exitCode !== null || (await canConnect(Number(chosenPort))), { what: 'the service to listen', timeoutMs: 20_000 });
    } else {
      if (env.LOG_LEVEL && !['info', 'debug', 'trace'].includes(env.LOG_LEVEL)) {
        throw new Error('startService reads the port from the info-level "listening" line: pass PORT, or LOG_LEVEL info');
      }
      await waitFor(async () => child.exitCode !== null || listeningPort() !== undefined, { what: 'the service to listen', timeoutMs: 20_000 });
    }
    if (env.KV_INTERNAL_PORT !== undefined) {
      await waitFor(async () => child.exitCode !== null || internalPort() !== undefined, { what: 'the service to listen on KV_INTERNAL_PORT', timeoutMs: 20_000 });
    }
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const port = chosenPort !== undefined ? Number(chosenPort) : (listeningPort() ?? 0);
  return {
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    internalPort: internalPort(),
    output: () => output,
    exited,
  };
}

/** The two KV processes startTwoReplicas started. */
export interface ServiceReplicas {
  /** Their base URLs, in start order. */
  urls: string[];
  services: ServiceProcess[];
  /** What each printed so far. */
  outputs(): string[];
  /** Kills both (SIGKILL). */
  stop(): Promise<void>;
}

/**
 * Two KV processes on one store (`env` names it: the Redis connection and KV_REDIS_PREFIX), with a
 * 1 s Redis command timeout and ADMIN_TOKEN, both ready: the replicas that the failover and
 * linearizability tests send their load through. `env` may override the timeout.
 */
export async function startTwoReplicas(env: Record<string, string>): Promise<ServiceReplicas> {
  const full = { KV_REDIS_TIMEOUT_MS: '1000', KV_ADMIN_TOKEN: ADMIN_TOKEN, ...env };
  const services: ServiceProcess[] = [];
  const stop = async () => {
    await Promise.all(services.map((service) => stopProcess(service.child, 'SIGKILL')));
  };
  try {
    for (let i = 0; i < 2; i++) services.push(await startService(full));
    // They listen at once, and serve once connected to the store (/readyz 200).
    for (const service of services) await waitUntilReady(service.url);
  } catch (error) {
    await stop();
    throw error;
  }
  return { urls: services.map((service) => service.url), services, outputs: () => services.map((service) => service.output()), stop };
}
