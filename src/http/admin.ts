// The admin routes: accounts, API keys and limit overrides, behind KV_ADMIN_TOKEN.

import { Router, type RequestHandler } from 'express';
import type { Config } from '../config';
import { AppError, adminUnauthorized, notFound } from '../errors';
import { ACCOUNT_ID, isAdminToken, KEY_ID, newApiKey, randomId } from '../accounts';
import type { LimitOverrides, LimitsPatch } from '../limits';
import type { KvStore, Scope } from '../store/types';
import { bearerToken } from './auth';
import { bodyFields, rawBody, readJsonBody } from './body';
import { bindRoutes } from './routes';
import type { Validators } from './schemas';
import { accountView, apiKeyView } from './views';

export interface AdminRoutesDeps {
  config: Pick<Config, 'adminToken' | 'limits'>;
  store: Pick<
    KvStore,
    'createAccount' | 'getAccount' | 'updateAccountLimits' | 'createApiKey' | 'listApiKeys' | 'revokeApiKey' | 'countKeys'
  >;
  validators: Validators;
  limitAuthFailures: RequestHandler;
}

const ADMIN_BODY_BYTES = 16 * 1024;
const ADMIN_BODY_DEPTH = 4;

const accountNotFound = () => new AppError('not_found', 'No such account.');
const keyNotFound = () => new AppError('not_found', 'No such API key.');

/** Admin routes answer 404 when no admin token is configured, as if they did not exist. */
export function adminRoutes(deps: AdminRoutesDeps): Router {
  const { config, store, validators } = deps;
  const router = Router();
  const route = bindRoutes(router, '/admin');
  const adminToken = config.adminToken;

  router.use((_req, _res, next) => {
    if (adminToken === undefined) throw new AppError('not_found', 'No such route.');
    next();
  });
  router.use(deps.limitAuthFailures, (req, _res, next) => {
    if (!isAdminToken(bearerToken(req), adminToken)) throw adminUnauthorized();
    next();
  });
  // No admin route takes query parameters: an unknown one is a 400, never silently ignored.
  router.use((req, _res, next) => {
    validators.noQuery('query', req.query);
    next();
  });

  const readBody = rawBody(ADMIN_BODY_BYTES);
  const jsonFields: RequestHandler = (req, res, next) => {
    res.locals.body = bodyFields(readJsonBody(req, ADMIN_BODY_DEPTH));
    next();
  };

  route('createAccount', readBody, jsonFields, async (_req, res) => {
    validators.createAccountBody('body', res.locals.body);
    const body = res.locals.body as { name?: string; limits?: LimitOverrides };
    const account = { id: randomId('acc'), name: body.name ?? null, limitOverrides: body.limits ?? {}, createdAt: Date.now() };
    const { record, secret } = newApiKey(account.id, ['read', 'write'], null);
    // Ids carry 80 random bits; a taken one means something is badly wrong, so it is a 500.
    if (!(await store.createAccount(account, record))) throw new Error('createAccount: generated account id was taken');
    res.status(201).json({ data: { account: accountView(account, config.limits), apiKey: apiKeyView(record, secret) } });
  });

  route('getAccount', async (req, res) => {
    const id = req.params.id as string;
    const account = ACCOUNT_ID.test(id) ? await store.getAccount(id) : null;
    if (!account) throw accountNotFound();
    const [keys, apiKeys] = await Promise.all([store.countKeys(id), store.listApiKeys(id)]);
    res.json({
      data: { account: accountView(account, config.limits), usage: { keys }, apiKeys: apiKeys.map((key) => apiKeyView(key)) },
    });
  });

  route('updateAccountLimits', readBody, jsonFields, async (req, res) => {
    validators.updateAccountBody('body', res.locals.body);
    const id = req.params.id as string;
    const { limits } = res.locals.body as { limits: LimitsPatch };
    const account = ACCOUNT_ID.test(id) ? await store.updateAccountLimits(id, limits) : null;
    if (!account) throw accountNotFound();
    res.json({ data: { account: accountView(account, config.limits) } });
  });

  route('createApiKey', readBody, jsonFields, async (req, res) => {
    validators.createApiKeyBody('body', res.locals.body);
    const id = req.params.id as string;
    const body = res.locals.body as { scopes: Scope[]; name?: string };
    const { record, secret } = newApiKey(id, body.scopes, body.name ?? null);
    if (!ACCOUNT_ID.test(id) || !(await store.createApiKey(record))) throw accountNotFound();
    res.status(201).json({ data: { apiKey: apiKeyView(record, secret) } });
  });

  route('revokeApiKey', async (req, res) => {
    const keyId = req.params.keyId as string;
    if (!KEY_ID.test(keyId) || !(await store.revokeApiKey(keyId))) throw keyNotFound();
    res.status(204).end();
  });

  router.use(() => {
    throw notFound('No such route.');
  });

  return router;
}
