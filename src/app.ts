// createApp(deps): the Express app with its middleware in one readable order. It never listens.

import express from 'express';
import type { Logger } from 'pino';
import type { Config } from './config';
import type { KvStore, RateLimitStoreFactory } from './store/types';
import { Authenticator, bearerToken } from './http/auth';
import { adminRoutes } from './http/admin';
import { cors } from './http/cors';
import { requestDeadline } from './http/deadline';
import { openApiRoutes } from './http/openapi-routes';
import { consoleRoutes } from './http/console';
import { errorHandler, notFoundHandler, sendError } from './http/error-handler';
import { atomicRoutes } from './http/atomic';
import { itemRoutes } from './http/items';
import { transferRoutes } from './http/transfer';
import { WatchHub, watchRoutes } from './http/watch';
import { accountRateLimit, authenticationPassed, authFailureLimit } from './http/rate-limits';
import { parseQuery } from './http/query';
import { bindRoutes } from './http/routes';
import { chain } from './http/chain';
import { createValidators } from './http/schemas';
import { isAdminToken } from './accounts';
import { observeRequests } from './http/observability';
import { invalidKey, invalidRequest } from './errors';
import { Metrics } from './metrics';
import { instrumentStore } from './store/instrumented-store';

export interface AppDeps {
  config: Config;
  store: KvStore;
  /** Counters for the rate limiters: Redis-backed with the Redis store, in memory otherwise. */
  rateLimitStore: RateLimitStoreFactory;
  logger: Logger;
  /** False while starting (before bootstrap) and while draining for shutdown: /readyz answers 503. */
  isReady: () => boolean;
  /** Defaults to a registry of the app's own. */
  metrics?: Metrics;
  /** Which routes this app serves; defaults to 'all'. */
  surface?: Surface;
  /** The open watch streams, which the process ends when it drains; defaults to a hub of the app's own. */
  watchHub?: WatchHub;
}

/**
 * The routes an app serves. `all`: everything on one port (no KV_INTERNAL_PORT). `public`: `/kv/*`
 * for clients; `internal`: `/metrics` and `/admin/*` for operators, on KV_INTERNAL_PORT. Both
 * answer `/healthz` and `/readyz`, so probes may use either port, and serve `/console`, which
 * shows what its port serves; any other route is 404
 * `not_found`, as an unknown route.
 */
export type Surface = 'all' | 'public' | 'internal';

export function createApp(deps: AppDeps): express.Express {
  const { config, logger } = deps;
  const surface = deps.surface ?? 'all';
  const servesPublic = surface !== 'internal';
  const servesInternal = surface !== 'public';
  const metrics = deps.metrics ?? new Metrics();
  const store = instrumentStore(deps.store, metrics);
  const onLimited = (limiter: string) => metrics.rateLimited.inc({ limiter });
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', config.trustProxy);
  app.set('query parser', parseQuery);
  // What every request passes first, as one layer of the router (see `chain`).
  const first: express.RequestHandler[] = [observeRequests(logger, metrics), refuseFragment];
  const allowCors = cors(config.corsOrigins);
  if (allowCors) first.push(allowCors);
  if (config.store.kind === 'redis') first.push(requestDeadline(config.store.commandTimeoutMs, sendError));
  app.use(chain(first));

  const validators = createValidators(config);
  const authenticator = new Authenticator(store, config);
  const isAdmin = (req: express.Request) => isAdminToken(bearerToken(req), config.adminToken);
  const limitAuthFailures = authFailureLimit(
    config.authFailuresPerMinute,
    deps.rateLimitStore,
    logger,
    (req) => (req.baseUrl.startsWith('/admin') ? isAdmin(req) : authenticator.isKnownKey(req)),
    onLimited,
  );

  // The data routes first: they are nearly every request, and each route the router passes costs.
  if (servesPublic) {
    const dataDeps = {
      config,
      store,
      validators,
      authenticate: [limitAuthFailures, authenticator.authenticate, authenticationPassed],
      stillAuthenticated: (req: express.Request) => authenticator.stillAuthenticated(req),
      limitReads: accountRateLimit('reads', deps.rateLimitStore, logger, onLimited),
      limitWrites: accountRateLimit('writes', deps.rateLimitStore, logger, onLimited),
    };
    itemRoutes(app.router, dataDeps);
    atomicRoutes(app.router, dataDeps);
    transferRoutes(app.router, dataDeps);
    const hub = deps.watchHub ?? new WatchHub({ store, logger, heartbeatMs: config.watchHeartbeatSeconds * 1000 });
    watchRoutes(app.router, { ...dataDeps, hub });
    // Any other /kv path: authenticated like the data routes, then the no-route 404.
    app.use('/kv', limitAuthFailures, authenticator.authenticate);
  }

  const route = bindRoutes(app.router);
  route('getHealth', (req, res) => {
    validators.noQuery('query', req.query);
    res.json({ data: { status: 'ok' } });
  });
  route('getReadiness', async (req, res) => {
    validators.noQuery('query', req.query);
    if (!deps.isReady()) {
      res.status(503).json({ error: { code: 'unavailable', message: 'Not ready.' } });
      return;
    }
    await store.ping();
    res.json({ data: { status: 'ready', store: store.kind } });
  });
  if (servesInternal) {
    route('getMetrics', async (req, res) => {
      validators.noQuery('query', req.query);
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    });
  }

  // The API's own description, without authentication, on the surface clients use.
  if (servesPublic) openApiRoutes(app.router, config);
  // The console on every surface, told which of the APIs this port serves.
  consoleRoutes(app.router, { validators, serves: { data: servesPublic, admin: servesInternal && config.adminToken !== undefined } });

  if (servesInternal) app.use('/admin', adminRoutes({ config, store, validators, limitAuthFailures }));

  app.use(notFoundHandler);
  app.use(errorHandler(logger));
  return app;
}

/**
 * A raw `#` cannot be part of a request target (RFC 9112): URL parsers would cut the path there
 * and act on a shorter key than the client named. Keys with `#` are sent as `%23`.
 */
const refuseFragment: express.RequestHandler = (req, _res, next) => {
  if (!req.url.includes('#')) return next();
  if (req.url.startsWith('/kv/items/')) throw invalidKey('The request path has a raw "#"; percent-encode it as %23 in a key.');
  throw invalidRequest([{ path: 'url', message: 'has a raw "#"; percent-encode it as %23' }]);
};
