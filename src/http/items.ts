// The data routes: items, listing and usage. Thin: parse and check, one store call, respond.

import type { Request, RequestHandler, Router } from 'express';
import type { Config } from '../config';
import { invalidRequest, notFound, valueTooLarge } from '../errors';
import { outcomeError } from '../store/outcomes';
import type { Item, KvStore } from '../store/types';
import { authContext, listingPrefix, requireKeysInScope, requireScope } from './auth';
import { bodyFields, rawBody, readJsonBody } from './body';
import { deleteCondition, etag, ifNoneMatchHits, putCondition } from './conditions';
import { parseItemKey } from './item-key';
import { compactJson } from './json-text';
import type { AccountLimiter } from './rate-limits';
import { bindRoutes } from './routes';
import { requestSchemas, type Validators } from './schemas';
import { sendChunks, sendJson, sendText } from './responses';
import { itemEnvelope, itemMetaView, listedItemView, listedItemWithValueJson } from './views';

export interface ItemRoutesDeps {
  config: Pick<Config, 'maxKeyBytes' | 'maxValueBytes' | 'maxTtlSeconds'>;
  store: Pick<KvStore, 'getItem' | 'setItem' | 'deleteItem' | 'listItems' | 'countKeys' | 'commit' | 'getItems'>;
  validators: Validators;
  /** Run first on every data route: the failed-authentication throttle and authentication. */
  authenticate: RequestHandler[];
  limitReads: AccountLimiter;
  limitWrites: AccountLimiter;
}

/** A page of `values=true` stops once its values reach this (it still has a nextCursor). */
export const LIST_VALUES_MAX_BYTES = 4 * 1024 * 1024;

/** Value nesting allowed by SPEC; the body object around it is one more level. */
const MAX_VALUE_DEPTH = 64;

const ITEM_PREFIX_LENGTH = '/kv/items/'.length;

interface PutFields {
  ttlSeconds?: number;
  ifNotExists?: boolean;
  ifVersion?: string;
  keepTtl?: boolean;
}

function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  const bytes = Buffer.from(cursor, 'base64url');
  const key = bytes.toString('utf8');
  if (bytes.length === 0 || Buffer.from(key, 'utf8').toString('base64url') !== cursor) {
    throw invalidRequest([{ path: 'query.cursor', message: 'is not a cursor this API returned' }]);
  }
  return key;
}

/**
 * Binds the data routes on `router` (the app's, at the root). Bound there rather than on a router
 * mounted at /kv: a nested router costs every request its own pass of prefix matching and URL
 * rewriting. Other /kv paths are the app's to answer (authenticated, then 404).
 */
export function itemRoutes(router: Router, deps: ItemRoutesDeps): void {
  const { config, store, validators } = deps;
  const bound = bindRoutes(router);
  const route: typeof bound = (operationId, ...handlers) => bound(operationId, ...deps.authenticate, ...handlers);
  const itemKey = (req: Request) => parseItemKey(req.path.slice(ITEM_PREFIX_LENGTH), config.maxKeyBytes);
  // Room for a pretty-printed value at the limit plus the other fields; the value itself is
  // measured exactly once compacted.
  const maxBodyBytes = 2 * config.maxValueBytes + 64 * 1024;
  const putFieldNames = Object.keys(requestSchemas(config).putItemBody.properties);

  // The read starts before the rate limiter has answered, so the two store round trips overlap
  // instead of adding up; a limited request's read is simply dropped.
  const prefetchItem: RequestHandler = (req, res, next) => {
    const key = itemKey(req);
    requireKeysInScope(res, [key]);
    const read = store.getItem(authContext(res).accountId, key);
    read.catch(() => undefined);
    res.locals.item = read;
    next();
  };

  const readItem: RequestHandler = async (req, res) => {
    validators.noQuery('query', req.query);
    const item = await (res.locals.item as Promise<Item | null>);
    if (!item) throw notFound();
    res.setHeader('ETag', etag(item.version));
    if (ifNoneMatchHits(req.headers['if-none-match'], item.version)) {
      res.status(304).end();
      return;
    }
    // Straight to node's response: the body is already JSON text, so res.send's content-type
    // parsing and checks are work every read would pay for nothing. (HEAD: node drops the body.)
    sendChunks(res, 200, itemEnvelope(item));
  };
  route('headItem', prefetchItem, deps.limitReads.middleware, readItem);
  route('getItem', prefetchItem, deps.limitReads.middleware, readItem);

  route('putItem', requireScope('write'), deps.limitWrites.middleware, rawBody(maxBodyBytes), async (req, res) => {
    const key = itemKey(req);
    requireKeysInScope(res, [key]);
    validators.writeItemQuery('query', req.query);
    const body = readJsonBody(req, MAX_VALUE_DEPTH + 1);
    const fields = bodyFields(body, { asText: ['value'], allowed: putFieldNames });
    validators.putItemBody('body', fields);
    const { ttlSeconds, keepTtl, ...conditionFields } = fields as PutFields;
    if (keepTtl === true && ttlSeconds !== undefined) {
      throw invalidRequest([{ path: 'body.keepTtl', message: 'cannot be combined with ttlSeconds; give one or the other' }]);
    }
    const condition = putCondition(conditionFields, (req.query as { ifVersion?: string }).ifVersion, req.headers);
    const [start, end] = body.members!.get('value')!;
    const value = compactJson(body.text, start, end);
    const valueBytes = Buffer.byteLength(value, 'utf8');
    if (valueBytes > config.maxValueBytes) {
      throw valueTooLarge(`The value is ${valueBytes} bytes as compact JSON; the limit is ${config.maxValueBytes}.`);
    }

    const { accountId, limits } = authContext(res);
    const outcome = await store.setItem(accountId, key, { value, ttlSeconds, keepTtl, condition, maxKeys: limits.maxKeys });
    if (!outcome.ok) throw outcomeError(outcome);
    res.setHeader('ETag', etag(outcome.item.version));
    sendJson(res, outcome.created ? 201 : 200, { data: itemMetaView(outcome.item) });
  });

  route('deleteItem', requireScope('write'), deps.limitWrites.middleware, async (req, res) => {
    const key = itemKey(req);
    requireKeysInScope(res, [key]);
    validators.writeItemQuery('query', req.query);
    const condition = deleteCondition((req.query as { ifVersion?: string }).ifVersion, req.headers);
    const outcome = await store.deleteItem(authContext(res).accountId, key, condition);
    if (!outcome.ok) throw outcomeError(outcome);
    res.status(204).end();
  });

  route('listItems', deps.limitReads.middleware, async (req, res) => {
    const query = { ...req.query } as { prefix?: string; limit?: number; cursor?: string; values?: boolean };
    validators.listItemsQuery('query', query);
    const page = await store.listItems(authContext(res).accountId, {
      // A key restricted to a prefix lists only under it.
      prefix: listingPrefix(res, query.prefix),
      limit: query.limit ?? 100,
      after: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
      values: query.values === true ? { maxBytes: LIST_VALUES_MAX_BYTES } : undefined,
    });
    const nextCursor = page.nextAfter === null ? null : encodeCursor(page.nextAfter);
    if (query.values !== true) {
      sendJson(res, 200, { data: { items: page.items.map(listedItemView), nextCursor } });
      return;
    }
    // The values go in as stored: numbers keep their digits.
    sendText(res, 200, `{"data":{"items":[${page.items.map(listedItemWithValueJson).join(',')}],"nextCursor":${JSON.stringify(nextCursor)}}}`);
  });

  route('getUsage', deps.limitReads.middleware, async (req, res) => {
    validators.noQuery('query', req.query);
    const { accountId, limits } = authContext(res);
    const keys = await store.countKeys(accountId);
    res.json({
      data: {
        keys,
        limits: {
          ...limits,
          maxKeyBytes: config.maxKeyBytes,
          maxValueBytes: config.maxValueBytes,
          maxTtlSeconds: config.maxTtlSeconds,
        },
      },
    });
  });

}
