// Process entry: loadConfig → createStore → createApp → listen, then bootstrap; owns shutdown.

import cluster from 'node:cluster';
import type http from 'node:http';
import type { Logger } from 'pino';
import { createApp } from './app';
import { ensureDefaultAccount } from './bootstrap';
import { ConfigError, loadConfig, type Config } from './config';
import { createLogger } from './log';
import { createStore } from './store/create-store';
import { Metrics } from './metrics';
import { WatchHub } from './http/watch';
import { createKvServer } from './server';

/** How long in-flight requests get to finish after SIGTERM before connections are cut. */
const DRAIN_TIMEOUT_MS = 10_000;

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) process.stderr.write(`kv: configuration error: ${problem}\n`);
    process.exit(1);
  }
}

/**
 * KV_WORKERS > 1: this process only forks the workers, which share the port (node:cluster hands
 * them connections in turn) and the Redis store; it restarts a worker that dies, and on SIGTERM
 * passes the signal on and exits 0 once every worker has drained.
 */
function runPrimary(config: Config): void {
  const logger = createLogger(config.logLevel);
  let stopping = false;
  logger.info({ workers: config.workers, port: config.port }, 'starting workers');
  for (let i = 0; i < config.workers; i++) cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (!stopping) {
      logger.error({ pid: worker.process.pid, code, signal }, 'worker died; starting another');
      cluster.fork();
    } else if (Object.keys(cluster.workers ?? {}).length === 0) {
      logger.info('stopped');
      process.exit(0);
    }
  });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping workers');
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/**
 * A server for `app` on `port` (read from `variable`), not listening yet. A port it cannot take
 * stops the process with one line naming the variable.
 */
function listener(app: http.RequestListener, variable: 'PORT' | 'KV_INTERNAL_PORT', port: number, config: Config, logger: Logger) {
  const kvServer = createKvServer(app, config);
  const { server } = kvServer;
  server.on('error', (error: NodeJS.ErrnoException) => {
    const where = `${config.host ?? '*'}:${port}`;
    const reason =
      error.code === 'EADDRINUSE'
        ? `port ${where} is already in use (EADDRINUSE); stop what holds it or set ${variable}`
        : error.code === 'EACCES'
          ? `no permission to listen on ${where} (EACCES); use a port above 1023 or set ${variable}`
          : error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND'
            ? `cannot listen on ${where} (${error.code}): HOST is not an address of this machine`
            : `cannot listen on ${where} (${error.code ?? error.message})`;
    process.stderr.write(`kv: ${reason}\n`);
    process.exit(1);
  });
  const listen = () =>
    server.listen(port, config.host, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      const where = { port: bound, host: config.host ?? '*' };
      // Tests and operators read the public port from the exact message "listening".
      if (variable === 'PORT') logger.info(where, 'listening');
      else logger.info({ ...where, internal: true }, 'listening on the internal port (/metrics, /admin)');
    });
  return { kvServer, listen };
}

async function main(): Promise<void> {
  const config = readConfig();
  if (config.workers > 1 && cluster.isPrimary) return runPrimary(config);
  const logger = createLogger(config.logLevel);

  let redisUp = false;
  const setup = createStore(
    config.store,
    (state, error) => {
      // Log transitions only: a down Redis emits an error on every reconnect attempt.
      if (state === 'ready' && !redisUp) logger.info('redis connection ready');
      if (state === 'down' && redisUp) logger.warn({ err: error }, 'redis connection lost; requests fail with 503 until it is back');
      redisUp = state === 'ready';
    },
    config.changeLog,
  );
  const { store } = setup;
  logger.info(setup.describe, `using the ${setup.describe.store === 'sqlite' ? 'embedded SQLite' : 'Redis'} store`);

  let bootstrapped = false;
  let draining = false;
  const metrics = new Metrics({ keyCount: setup.keyCount });
  const watchHub = new WatchHub({ store, logger, heartbeatMs: config.watchHeartbeatSeconds * 1000 });
  const appDeps = {
    config,
    store,
    logger,
    metrics,
    watchHub,
    rateLimitStore: setup.rateLimitStore,
    isReady: () => bootstrapped && !draining,
  };
  // With KV_INTERNAL_PORT, /metrics and /admin/* move to a server of their own; both apps count
  // into the one registry and log through the one logger.
  const split = config.internalPort !== undefined;
  const servers = [listener(createApp({ ...appDeps, surface: split ? 'public' : 'all' }), 'PORT', config.port, config, logger)];
  if (config.internalPort !== undefined) {
    servers.push(listener(createApp({ ...appDeps, surface: 'internal' }), 'KV_INTERNAL_PORT', config.internalPort, config, logger));
  }
  const listen = () => {
    for (const server of servers) server.listen();
  };
  // A single process listens at once, so /healthz answers while the store is still unreachable.
  // A worker shares its ports with the others: it takes connections only once it can serve them.
  const isWorker = cluster.isWorker;
  if (!isWorker) listen();

  // The store may not be reachable yet: keep trying, and stay unready (503 on /readyz) until done.
  void (async () => {
    for (let attempt = 1; !bootstrapped && !draining; attempt++) {
      try {
        await setup.ready(5000);
        await ensureDefaultAccount(store, config.bootstrapApiKey, logger, (line) => process.stdout.write(`${line}\n`));
        bootstrapped = true;
        if (isWorker) listen();
      } catch (error) {
        // One line, no stack: the store's message names where it connects and why it cannot.
        const reason = error instanceof Error ? error.message : String(error);
        if (attempt === 1 || attempt % 10 === 0) logger.warn({ attempt }, `waiting for the store: ${reason}`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  })();

  const shutdown = (signal: string) => {
    if (draining) return;
    draining = true;
    logger.info({ signal }, 'draining: no new connections, finishing requests in flight');
    // Watch streams never finish on their own: they end now, and their clients resume elsewhere.
    watchHub.close();
    const timer = setTimeout(() => {
      logger.warn('drain timeout: closing remaining connections');
      for (const { kvServer } of servers) kvServer.server.closeAllConnections();
    }, DRAIN_TIMEOUT_MS);
    timer.unref();
    let open = servers.length;
    for (const { kvServer } of servers) {
      kvServer.drain(async () => {
        if (--open > 0) return;
        await store.close();
        logger.info('stopped');
        process.exit(0);
      });
    }
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

void main();
