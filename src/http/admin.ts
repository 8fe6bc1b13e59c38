// The admin routes: accounts, API keys and limit overrides, behind KV_ADMIN_TOKEN.

import { Router, type RequestHandler } from 'express';
import type { Config } from '../config';
import { AppError, adminUnauthorized, invalidRequest, notFound } from '../errors';
import { ACCOUNT_ID, isAdminToken, isDeletableAccount, KEY_ID, newApiKey, randomId, type ApiKeyRestrictions } from '../accounts';
import type { LimitOverrides, LimitsPatch } from '../limits';
import type { KvStore, Scope } from '../store/types';
import { bearerToken } from './auth';
import { bodyFields, rawBody, readJsonBody } from './body';
import { deadline } from './deadline';
import { checkItemKey } from './item-key';
import { bindRoutes, findOperation, type BindRoute } from './routes';
import type { Validators } from './schemas';
import { accountView, apiKeyView } from './views';

export interface AdminRoutesDeps {
  config: Pick<Config, 'adminToken' | 'limits' | 'maxKeyBytes'>;
  store: Pick<
    KvStore,
    | 'createAccount'
    | 'getAccount'
    | 'updateAccountLimits'
    | 'createApiKey'
    | 'listApiKeys'
    | 'revokeApiKey'
    | 'countKeys'
    | 'listAccounts'
    | 'deleteAccount'
  >;
  validators: Validators;
  limitAuthFailures: RequestHandler;
}

const ADMIN_BODY_BYTES = 16 * 1024;
const ADMIN_BODY_DEPTH = 4;

const accountNotFound = () => new AppError('not_found', 'No such account.');
const keyNotFound = () => new AppError('not_found', 'No such API key.');

/** The listing's cursor: the last account id of the page, base64url, so it reads as opaque. */
function encodeAccountCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

function decodeAccountCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!ACCOUNT_ID.test(id) || encodeAccountCursor(id) !== cursor) {
    throw invalidRequest([{ path: 'query.cursor', message: 'is not a cursor this API returned' }]);
  }
  return id;
}

/**
 * A new key's prefix and expiry from its body: the prefix is checked as the start of a key (UTF-8
 * bytes, no control characters), the expiry must be a valid time in the future; 400 otherwise.
 */
function keyRestrictions(body: { prefix?: string; expiresAt?: string }, maxKeyBytes: number): ApiKeyRestrictions {
  const restrictions: ApiKeyRestrictions = {};
  if (body.prefix !== undefined) {
    try {
      restrictions.prefix = checkItemKey(body.prefix, maxKeyBytes, 'The prefix');
    } catch (error) {
      throw invalidRequest([{ path: 'body.prefix', message: (error as Error).message }]);
    }
  }
  if (body.expiresAt !== undefined) {
    const expiresAt = Date.parse(body.expiresAt);
    if (Number.isNaN(expiresAt)) throw invalidRequest([{ path: 'body.expiresAt', message: 'is not a valid time' }]);
    if (expiresAt <= Date.now()) throw invalidRequest([{ path: 'body.expiresAt', message: 'must be in the future' }]);
    restrictions.expiresAt = expiresAt;
  }
  return restrictions;
}

/** Admin routes answer 404 when no admin token is configured, as if they did not exist. */
export function adminRoutes(deps: AdminRoutesDeps): Router {
  const { config, store, validators } = deps;
  const router = Router();
  const bound = bindRoutes(router, '/admin');
  // Each route checks its query against the table's schema (most take none: an unknown parameter is
  // a 400, never silently ignored); the checked copy, types coerced, is res.locals.query.
  const route: BindRoute = (operationId, ...handlers) => {
    const schema = findOperation(operationId)?.query ?? 'noQuery';
    const checkQuery: RequestHandler = (req, res, next) => {
      const query = { ...req.query };
      validators[schema]('query', query);
      res.locals.query = query;
      next();
    };
    bound(operationId, checkQuery, ...handlers);
  };
  const adminToken = config.adminToken;

  router.use((_req, _res, next) => {
    if (adminToken === undefined) throw new AppError('not_found', 'No such route.');
    next();
  });
  router.use(deps.limitAuthFailures, (req, _res, next) => {
    if (!isAdminToken(bearerToken(req), adminToken)) throw adminUnauthorized();
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

  route('listAccounts', async (_req, res) => {
    const query = res.locals.query as { cursor?: string; limit?: number };
    const after = query.cursor === undefined ? undefined : decodeAccountCursor(query.cursor);
    const page = await store.listAccounts({ after, limit: query.limit ?? 100 });
    res.json({
      data: {
        accounts: page.accounts.map((account) => accountView(account, config.limits)),
        nextCursor: page.nextAfter === null ? null : encodeAccountCursor(page.nextAfter),
      },
    });
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

  route('deleteAccount', async (req, res) => {
    const id = req.params.id as string;
    if (!ACCOUNT_ID.test(id)) throw accountNotFound();
    if (!isDeletableAccount(id)) {
      throw invalidRequest(
        [{ path: 'path.id', message: 'is the default account, which cannot be deleted; revoke its API keys and create new ones instead' }],
        'The default account cannot be deleted.',
      );
    }
    // A large account takes a while; every store call keeps its own time-out.
    deadline(res).pause();
    if (!(await store.deleteAccount(id))) throw accountNotFound();
    res.status(204).end();
  });

  route('listApiKeys', async (req, res) => {
    const id = req.params.id as string;
    const account = ACCOUNT_ID.test(id) ? await store.getAccount(id) : null;
    if (!account) throw accountNotFound();
    const keys = await store.listApiKeys(id);
    res.json({ data: { keys: keys.map((key) => apiKeyView(key)) } });
  });

  route('createApiKey', readBody, jsonFields, async (req, res) => {
    validators.createApiKeyBody('body', res.locals.body);
    const id = req.params.id as string;
    const body = res.locals.body as { scopes: Scope[]; name?: string; prefix?: string; expiresAt?: string };
    const { record, secret } = newApiKey(id, body.scopes, body.name ?? null, undefined, keyRestrictions(body, config.maxKeyBytes));
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
