// Process entry: loadConfig → createStore → createApp → listen, then bootstrap; owns shutdown.

import http from 'node:http';
import { createApp } from './app';
import { ensureDefaultAccount } from './bootstrap';
import { ConfigError, loadConfig, type Config } from './config';
import { createLogger } from './log';
import { createStore } from './store/create-store';
import { Metrics } from './metrics';

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

async function main(): Promise<void> {
  const config = readConfig();
  const logger = createLogger(config.logLevel);

  let redisUp = false;
  const setup = createStore(config.store, (state, error) => {
    // Log transitions only: a down Redis emits an error on every reconnect attempt.
    if (state === 'ready' && !redisUp) logger.info('redis connection ready');
    if (state === 'down' && redisUp) logger.warn({ err: error }, 'redis connection lost; requests fail with 503 until it is back');
    redisUp = state === 'ready';
  });
  const { store } = setup;
  logger.info(setup.describe, `using the ${setup.describe.store === 'sqlite' ? 'embedded SQLite' : 'Redis'} store`);

  let bootstrapped = false;
  let draining = false;
  const metrics = new Metrics({ keyCount: setup.keyCount });
  const app = createApp({
    config,
    store,
    logger,
    metrics,
    rateLimitStore: setup.rateLimitStore,
    isReady: () => bootstrapped && !draining,
  });

  const server = http.createServer((req, res) => {
    // While draining, keep-alive clients are told to reconnect elsewhere after this response.
    if (draining) res.setHeader('Connection', 'close');
    app(req, res);
  });
  server.listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    logger.info({ port, host: config.host ?? '*' }, 'listening');
  });

  // The store may not be reachable yet: keep trying, and stay unready (503 on /readyz) until done.
  void (async () => {
    for (let attempt = 1; !bootstrapped && !draining; attempt++) {
      try {
        await setup.ready(5000);
        await ensureDefaultAccount(store, config.bootstrapApiKey, logger, (line) => process.stdout.write(`${line}\n`));
        bootstrapped = true;
      } catch (error) {
        if (attempt === 1 || attempt % 10 === 0) logger.warn({ err: error, attempt }, 'waiting for the store');
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  })();

  const shutdown = (signal: string) => {
    if (draining) return;
    draining = true;
    logger.info({ signal }, 'draining: no new connections, finishing requests in flight');
    const timer = setTimeout(() => {
      logger.warn('drain timeout: closing remaining connections');
      server.closeAllConnections();
    }, DRAIN_TIMEOUT_MS);
    timer.unref();
    server.close(async () => {
      await store.close();
      logger.info('stopped');
      process.exit(0);
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

void main();
