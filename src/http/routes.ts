// The route table: every route the service answers, once. It gives the Express routers their paths
// (bindRoutes), the metrics `route` label (matchTemplate) and the OpenAPI document.

import type { RequestHandler, Router } from 'express';
import type { ErrorCode } from '../errors';
import type { SchemaName } from './schemas';
import { chain } from './chain';

export type Method = 'get' | 'head' | 'put' | 'post' | 'patch' | 'delete' | 'options';

/** Response bodies the OpenAPI document describes (components/schemas). */
export type ResponseBodyName =
  | 'Item'
  | 'ItemMeta'
  | 'ItemPage'
  | 'ItemList'
  | 'CommitResults'
  | 'ImportReport'
  | 'Usage'
  | 'NewAccount'
  | 'AccountPage'
  | 'AccountDetails'
  | 'UpdatedAccount'
  | 'NewApiKey'
  | 'ApiKeyList'
  | 'Health'
  | 'Ready';

/** Response headers the OpenAPI document describes (components/headers). */
export type HeaderName =
  | 'ETag'
  | 'RateLimit'
  | 'RateLimit-Policy'
  | 'Retry-After'
  | 'Access-Control-Allow-Origin'
  | 'Access-Control-Allow-Methods'
  | 'Access-Control-Allow-Headers'
  | 'Access-Control-Max-Age'
  | 'Allow';

export interface SuccessResponse {
  description: string;
  /** A `{"data": …}` envelope around this schema; the others are not JSON envelopes. */
  body?: ResponseBodyName | 'metrics' | 'openapi' | 'html' | 'asset' | 'allow' | 'ndjson' | 'eventStream';
  /** Headers always present on this response (X-Request-Id is on every response). */
  headers?: HeaderName[];
}

export interface Route {
  method: Method;
  /** The path in OpenAPI form: `/kv/items/{key}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: 'items' | 'admin' | 'operations' | 'documentation' | 'console' | 'cors';
  /** apiKey: `Authorization: Bearer <api key>`; admin: `Authorization: Bearer $KV_ADMIN_TOKEN`. */
  auth: 'apiKey' | 'admin' | 'none';
  /** The scope an API key needs (every key has read). */
  scope?: 'read' | 'write';
  /** Schema names from requestSchemas(). */
  requestBody?: SchemaName;
  /** The body's media type; application/json when absent. */
  requestMediaType?: 'application/merge-patch+json' | 'application/x-ndjson';
  query?: SchemaName;
  responses: Partial<Record<number, SuccessResponse>>;
  /** Error statuses this route answers with the codes of each, besides those every route may answer. */
  errors: Partial<Record<number, ErrorCode[]>>;
}

/**
 * What any route may answer: 400 and 408/417/431 from Node's HTTP layer (a malformed request, too
 * slow, an unsupported Expect, headers too large), an unknown query parameter, 503 (a request past
 * its deadline on Redis, a store that cannot be reached), 500.
 */
export const COMMON_ERRORS: Partial<Record<number, ErrorCode[]>> = {
  400: ['invalid_request'],
  408: ['invalid_request'],
  417: ['invalid_request'],
  431: ['invalid_request'],
  500: ['internal'],
  503: ['unavailable'],
};

/**
 * Data routes: an API key, its rate limits, and the failed-authentication throttle; 404 on the
 * internal port when KV_INTERNAL_PORT is set.
 */
const DATA_ERRORS = { 401: ['unauthorized'], 404: ['not_found'], 429: ['rate_limited'] } satisfies Partial<Record<number, ErrorCode[]>>;
/** Admin routes: 404 on every one when no admin token is configured, and on the public port when KV_INTERNAL_PORT is set. */
const ADMIN_ERRORS = { 401: ['unauthorized'], 404: ['not_found'], 429: ['rate_limited'] } satisfies Partial<
  Record<number, ErrorCode[]>
>;
const JSON_BODY_ERRORS = {
  400: ['invalid_request', 'invalid_json'],
  413: ['value_too_large'],
  415: ['unsupported_media_type'],
} satisfies Partial<Record<number, ErrorCode[]>>;

const RATE_LIMIT_HEADERS: HeaderName[] = ['RateLimit', 'RateLimit-Policy'];

/** How list, watch and export treat an API key limited to a prefix. */
const PREFIXED_LISTING =
  'With an API key limited to a prefix: without `prefix`, the key\'s prefix; a `prefix` under it, as asked; a `prefix` ' +
  'it lies under, narrowed to it; any other, 403 `forbidden`.';

export const ROUTES: readonly Route[] = [
  {
    method: 'put',
    path: '/kv/items/{key}',
    operationId: 'putItem',
    summary: 'Create or replace an item',
    description:
      'Creates the item (201) or replaces it (200). Conditions: `If-Match: "<version>"`, `If-None-Match: *`, ' +
      '`ifVersion`/`ifNotExists` in the body, or `?ifVersion=`; if given in more than one place they must agree. ' +
      '`keepTtl` keeps the current expiry and cannot be combined with `ttlSeconds`.',
    tag: 'items',
    auth: 'apiKey',
    scope: 'write',
    requestBody: 'putItemBody',
    query: 'writeItemQuery',
    responses: {
      200: { description: 'Replaced.', body: 'ItemMeta', headers: ['ETag', ...RATE_LIMIT_HEADERS] },
      201: { description: 'Created.', body: 'ItemMeta', headers: ['ETag', ...RATE_LIMIT_HEADERS] },
    },
    errors: {
      ...DATA_ERRORS,
      ...JSON_BODY_ERRORS,
      400: ['invalid_request', 'invalid_json', 'invalid_key'],
      403: ['forbidden', 'quota_exceeded'],
      412: ['precondition_failed'],
    },
  },
  {
    method: 'get',
    path: '/kv/items/{key}',
    operationId: 'getItem',
    summary: 'Read an item',
    description: 'The item with its value and an `ETag`. `If-None-Match` with the current version answers 304.',
    tag: 'items',
    auth: 'apiKey',
    scope: 'read',
    query: 'noQuery',
    responses: {
      200: { description: 'The item.', body: 'Item', headers: ['ETag', ...RATE_LIMIT_HEADERS] },
      304: { description: 'The item is still at the version in If-None-Match.', headers: ['ETag', ...RATE_LIMIT_HEADERS] },
    },
    errors: { ...DATA_ERRORS, 400: ['invalid_request', 'invalid_key'], 403: ['forbidden'], 404: ['not_found'] },
  },
  {
    method: 'head',
    path: '/kv/items/{key}',
    operationId: 'headItem',
    summary: 'Read the headers of an item',
    description: 'The headers GET would answer, without a body.',
    tag: 'items',
    auth: 'apiKey',
    scope: 'read',
    query: 'noQuery',
    responses: {
      200: { description: 'The item exists.', headers: ['ETag', ...RATE_LIMIT_HEADERS] },
      304: { description: 'The item is still at the version in If-None-Match.', headers: ['ETag', ...RATE_LIMIT_HEADERS] },
    },
    errors: { ...DATA_ERRORS, 400: ['invalid_request', 'invalid_key'], 403: ['forbidden'], 404: ['not_found'] },
  },
  {
    method: 'delete',
    path: '/kv/items/{key}',
    operationId: 'deleteItem',
    summary: 'Delete an item',
    description:
      '`If-Match: "<version>"` or `?ifVersion=` deletes only at that version; a conditional delete of an absent ' +
      'key is 412 with `currentVersion: null`, an unconditional one 404.',
    tag: 'items',
    auth: 'apiKey',
    scope: 'write',
    query: 'writeItemQuery',
    responses: { 204: { description: 'Deleted.', headers: RATE_LIMIT_HEADERS } },
    errors: {
      ...DATA_ERRORS,
      400: ['invalid_request', 'invalid_key'],
      403: ['forbidden'],
      404: ['not_found'],
      412: ['precondition_failed'],
    },
  },
  {
    method: 'get',
    path: '/kv/items',
    operationId: 'listItems',
    summary: 'List keys',
    description:
      'Keys in UTF-8 byte order, in pages of up to `limit` (default 100). A page may hold fewer keys and still ' +
      'have a `nextCursor`; keep going until it is null. ' + PREFIXED_LISTING,
    tag: 'items',
    auth: 'apiKey',
    scope: 'read',
    query: 'listItemsQuery',
    responses: { 200: { description: 'A page of keys.', body: 'ItemPage', headers: RATE_LIMIT_HEADERS } },
    errors: { ...DATA_ERRORS, 403: ['forbidden'] },
  },
  {
    method: 'patch',
    path: '/kv/items/{key}',
    operationId: 'patchItem',
    summary: 'Merge a JSON merge patch into an item',
    description:
      'RFC 7396: members set to null are removed, objects merge, anything else replaces; numbers keep their digits, in the ' +
      'patch and in the value. Atomic: applied to the version read, retried on a concurrent write, so no write is lost. ' +
      '`If-Match: "<version>"` or `?ifVersion=` applies it only at that version (412 otherwise). The TTL is kept.',
    tag: 'items',
    auth: 'apiKey',
    scope: 'write',
    requestBody: 'mergePatchBody',
    requestMediaType: 'application/merge-patch+json',
    query: 'writeItemQuery',
    responses: { 200: { description: 'Patched.', body: 'ItemMeta', headers: ['ETag', ...RATE_LIMIT_HEADERS] } },
    errors: {
      ...DATA_ERRORS,
      ...JSON_BODY_ERRORS,
      400: ['invalid_request', 'invalid_json', 'invalid_key'],
      403: ['forbidden'],
      404: ['not_found'],
      412: ['precondition_failed'],
    },
  },
  {
    method: 'post',
    path: '/kv/items:commit',
    operationId: 'commit',
    summary: 'Check versions and apply several writes, all or nothing',
    description:
      'Every check holds (the key is at `version`; `null`: the key does not exist), then every op applies in order, as one ' +
      'atomic step; otherwise nothing applies: 412 with `failedChecks`. At most 100 checks and 100 ops, a key at most once ' +
      'among the ops, each value within the value limit and 2 MiB together. The net keys created must fit the quota. ' +
      'Counts as one write per op against the rate limit.',
    tag: 'items',
    auth: 'apiKey',
    scope: 'write',
    requestBody: 'commitBody',
    query: 'noQuery',
    responses: { 200: { description: 'Applied: one result per op, in op order.', body: 'CommitResults', headers: RATE_LIMIT_HEADERS } },
    errors: {
      ...DATA_ERRORS,
      ...JSON_BODY_ERRORS,
      400: ['invalid_request', 'invalid_json', 'invalid_key'],
      403: ['forbidden', 'quota_exceeded'],
      409: ['type_mismatch'],
      412: ['precondition_failed'],
    },
  },
  {
    method: 'post',
    path: '/kv/items:increment',
    operationId: 'incrementItem',
    summary: 'Add to a counter, atomically',
    description:
      'Adds `by` (default 1) to the JSON integer at `key`; an absent key counts as 0 and is created (201). The result must ' +
      'stay within ±(2^53 − 1) and the stored value must be an integer, else 409 `type_mismatch` and nothing changes. ' +
      '`ttlSeconds` sets the TTL; without it the key keeps its TTL.',
    tag: 'items',
    auth: 'apiKey',
    scope: 'write',
    requestBody: 'incrementBody',
    query: 'noQuery',
    responses: {
      200: { description: 'Incremented.', body: 'Item', headers: ['ETag', ...RATE_LIMIT_HEADERS] },
      201: { description: 'Created at `by`.', body: 'Item', headers: ['ETag', ...RATE_LIMIT_HEADERS] },
    },
    errors: {
      ...DATA_ERRORS,
      ...JSON_BODY_ERRORS,
      400: ['invalid_request', 'invalid_json', 'invalid_key'],
      403: ['forbidden', 'quota_exceeded'],
      409: ['type_mismatch'],
    },
  },
  {
    method: 'post',
    path: '/kv/items:batchGet',
    operationId: 'batchGetItems',
    summary: 'Read up to 100 items at once',
    description: 'The items in request order, `null` where a key does not exist, read as one consistent snapshot. Counts as one read per key.',
    tag: 'items',
    auth: 'apiKey',
    scope: 'read',
    requestBody: 'batchGetBody',
    query: 'noQuery',
    responses: { 200: { description: 'The items.', body: 'ItemList', headers: RATE_LIMIT_HEADERS } },
    errors: { ...DATA_ERRORS, ...JSON_BODY_ERRORS, 400: ['invalid_request', 'invalid_json', 'invalid_key'], 403: ['forbidden'] },
  },
  {
    method: 'get',
    path: '/kv/watch',
    operationId: 'watchItems',
    summary: 'Watch changes as Server-Sent Events',
    description:
      'A `text/event-stream` of every committed change of the keys under `prefix`, made through any replica, in commit order: ' +
      '`event: set | delete | expire`, `id: <cursor>`, `data: {"key", "version", "expiresAt", "value"?}`. `Last-Event-ID` (or ' +
      '`?since=`) resumes right after that event while it is kept (the account\'s last 10,000 changes, less than an hour old); ' +
      'otherwise one `event: reset` and the stream goes on from now. An `expire` arrives within seconds of `expiresAt`. A ' +
      'comment line every 15 s keeps proxies from closing the stream. At most `KV_WATCHERS_PER_ACCOUNT` open watches per ' +
      'account (429 past it); a client that does not read is dropped. The stream ends when its API key is revoked or ' +
      'expires, or its account is deleted. Counts as one read. ' + PREFIXED_LISTING,
    tag: 'items',
    auth: 'apiKey',
    scope: 'read',
    query: 'watchQuery',
    responses: { 200: { description: 'The stream; it ends when the replica drains (resume with Last-Event-ID).', body: 'eventStream' } },
    errors: { ...DATA_ERRORS, 403: ['forbidden'], 404: ['not_found'], 429: ['rate_limited'] },
  },
  {
    method: 'get',
    path: '/kv/export',
    operationId: 'exportItems',
    summary: 'Export every item (or those under a prefix) as NDJSON',
    description:
      'One `{"key", "value", "expiresAt"}` per line, in key order, streamed: memory stays flat however many keys. A key that ' +
      'exists for the whole export appears exactly once; one written or deleted meanwhile may or may not appear. Counts as one read. ' +
      PREFIXED_LISTING,
    tag: 'items',
    auth: 'apiKey',
    scope: 'read',
    query: 'exportQuery',
    responses: { 200: { description: 'The items, one JSON object per line.', body: 'ndjson', headers: RATE_LIMIT_HEADERS } },
    errors: { ...DATA_ERRORS, 403: ['forbidden'] },
  },
  {
    method: 'post',
    path: '/kv/import',
    operationId: 'importItems',
    summary: 'Import NDJSON lines as the export writes them',
    description:
      'Applied line by line (`mode=skip`, the default, leaves existing keys alone; `overwrite` replaces them). Blank lines ' +
      'are ignored, a line whose `expiresAt` has passed is skipped, and a bad line (syntax, key, value, quota) fails alone ' +
      'with its 1-based line number; the lines before and after it still apply; with an API key limited to a prefix, a line ' +
      'outside it fails with `forbidden`. Counts as one write.',
    tag: 'items',
    auth: 'apiKey',
    scope: 'write',
    requestBody: 'importBody',
    requestMediaType: 'application/x-ndjson',
    query: 'importQuery',
    responses: { 200: { description: 'What each line did, counted.', body: 'ImportReport', headers: RATE_LIMIT_HEADERS } },
    errors: { ...DATA_ERRORS, 400: ['invalid_request', 'invalid_json'], 403: ['forbidden'], 415: ['unsupported_media_type'] },
  },
  {
    method: 'get',
    path: '/kv/usage',
    operationId: 'getUsage',
    summary: "The account's key count and limits",
    tag: 'items',
    auth: 'apiKey',
    scope: 'read',
    query: 'noQuery',
    responses: { 200: { description: 'Usage and effective limits.', body: 'Usage', headers: RATE_LIMIT_HEADERS } },
    errors: { ...DATA_ERRORS },
  },
  {
    method: 'post',
    path: '/admin/accounts',
    operationId: 'createAccount',
    summary: 'Create an account and its first API key',
    description: 'The key is read+write. Its secret is shown only in this response.',
    tag: 'admin',
    auth: 'admin',
    requestBody: 'createAccountBody',
    query: 'noQuery',
    responses: { 201: { description: 'Created.', body: 'NewAccount' } },
    errors: { ...ADMIN_ERRORS, ...JSON_BODY_ERRORS },
  },
  {
    method: 'get',
    path: '/admin/accounts',
    operationId: 'listAccounts',
    summary: 'List accounts, a page at a time',
    description:
      'Accounts in byte order of their ids, each as POST and PATCH show it (no usage, no keys: GET /admin/accounts/{id} ' +
      'has those). `limit` 1 to 1000 (default 100); pass `nextCursor` as `cursor` for the next page until it is null. ' +
      'A page may hold fewer accounts and still have a `nextCursor`. Accounts being deleted are not listed.',
    tag: 'admin',
    auth: 'admin',
    query: 'listAccountsQuery',
    responses: { 200: { description: 'A page of accounts.', body: 'AccountPage' } },
    errors: { ...ADMIN_ERRORS },
  },
  {
    method: 'get',
    path: '/admin/accounts/{id}',
    operationId: 'getAccount',
    summary: 'Read an account, its usage and its API keys',
    description: 'API keys are listed without their secrets; revoked keys are not listed.',
    tag: 'admin',
    auth: 'admin',
    query: 'noQuery',
    responses: { 200: { description: 'The account.', body: 'AccountDetails' } },
    errors: { ...ADMIN_ERRORS },
  },
  {
    method: 'patch',
    path: '/admin/accounts/{id}',
    operationId: 'updateAccountLimits',
    summary: "Set or clear an account's limit overrides",
    tag: 'admin',
    auth: 'admin',
    requestBody: 'updateAccountBody',
    query: 'noQuery',
    responses: { 200: { description: 'The updated account.', body: 'UpdatedAccount' } },
    errors: { ...ADMIN_ERRORS, ...JSON_BODY_ERRORS },
  },
  {
    method: 'delete',
    path: '/admin/accounts/{id}',
    operationId: 'deleteAccount',
    summary: 'Delete an account: its data, API keys and counters',
    description:
      'Its API keys are refused at once (every replica within a second), then its items, change log, version and ' +
      'expiry bookkeeping and keys are removed in bounded batches, and last the account itself; 204 once all of it is ' +
      'gone. Should it fail midway (503), the keys stay refused and the same DELETE finishes the job. The `default` ' +
      'account cannot be deleted (400): revoke and replace its keys instead.',
    tag: 'admin',
    auth: 'admin',
    query: 'noQuery',
    responses: { 204: { description: 'Deleted.' } },
    errors: { ...ADMIN_ERRORS },
  },
  {
    method: 'get',
    path: '/admin/accounts/{id}/keys',
    operationId: 'listApiKeys',
    summary: "List an account's API keys",
    description: 'Without their secrets or hashes, oldest first; expired keys are listed (with their `expiresAt`), revoked ones are not.',
    tag: 'admin',
    auth: 'admin',
    query: 'noQuery',
    responses: { 200: { description: 'The keys.', body: 'ApiKeyList' } },
    errors: { ...ADMIN_ERRORS },
  },
  {
    method: 'post',
    path: '/admin/accounts/{id}/keys',
    operationId: 'createApiKey',
    summary: 'Create an API key for an account',
    description:
      'Its secret is shown only in this response. `prefix`: the key reaches only item keys starting with it (403 ' +
      '`forbidden` for any other; listings, watch and export are narrowed to it). `expiresAt`: a future time from which ' +
      'the key is refused with 401 on every replica.',
    tag: 'admin',
    auth: 'admin',
    requestBody: 'createApiKeyBody',
    query: 'noQuery',
    responses: { 201: { description: 'Created.', body: 'NewApiKey' } },
    errors: { ...ADMIN_ERRORS, ...JSON_BODY_ERRORS },
  },
  {
    method: 'delete',
    path: '/admin/keys/{keyId}',
    operationId: 'revokeApiKey',
    summary: 'Revoke an API key',
    description: 'Every replica refuses the key within a second.',
    tag: 'admin',
    auth: 'admin',
    query: 'noQuery',
    responses: { 204: { description: 'Revoked.' } },
    errors: { ...ADMIN_ERRORS },
  },
  {
    method: 'get',
    path: '/healthz',
    operationId: 'getHealth',
    summary: 'Liveness: the process is up',
    tag: 'operations',
    auth: 'none',
    query: 'noQuery',
    responses: { 200: { description: 'Up.', body: 'Health' } },
    errors: {},
  },
  {
    method: 'get',
    path: '/readyz',
    operationId: 'getReadiness',
    summary: 'Readiness: the store is reachable',
    description: '503 while starting, while draining for shutdown, and while the store cannot be reached.',
    tag: 'operations',
    auth: 'none',
    query: 'noQuery',
    responses: { 200: { description: 'Ready.', body: 'Ready' } },
    errors: {},
  },
  {
    method: 'get',
    path: '/metrics',
    operationId: 'getMetrics',
    summary: 'Prometheus metrics',
    tag: 'operations',
    auth: 'none',
    query: 'noQuery',
    responses: { 200: { description: 'Metrics in the Prometheus text format.', body: 'metrics' } },
    // On the public port when KV_INTERNAL_PORT is set: only the internal one serves it.
    errors: { 404: ['not_found'] },
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'getOpenApi',
    summary: 'This OpenAPI document',
    tag: 'documentation',
    auth: 'none',
    query: 'noQuery',
    responses: { 200: { description: 'The OpenAPI 3.1 document.', body: 'openapi' } },
    errors: {},
  },
  {
    method: 'get',
    path: '/docs',
    operationId: 'getDocs',
    summary: 'A browsable page of this document',
    description: 'Its scripts and styles are served under `/docs/assets/`; nothing is loaded from elsewhere.',
    tag: 'documentation',
    auth: 'none',
    query: 'noQuery',
    responses: { 200: { description: 'An HTML page.', body: 'html' } },
    errors: {},
  },
  {
    method: 'get',
    path: '/docs/assets/{file}',
    operationId: 'getDocsAsset',
    summary: 'A script, style or image of the documentation page',
    description: 'Files of the swagger-ui-dist package and the page\'s own start-up script.',
    tag: 'documentation',
    auth: 'none',
    responses: { 200: { description: 'The file.', body: 'asset' } },
    errors: { 404: ['not_found'] },
  },
  {
    method: 'get',
    path: '/console',
    operationId: 'getConsole',
    summary: 'The console: a page to browse, edit and watch data, and to manage accounts',
    description:
      'Served on every port; the page asks for an API key or the admin token and shows what this port serves. ' +
      'Its script and style are under `/console/assets/`; nothing is loaded from elsewhere, and a strict ' +
      'Content-Security-Policy allows no inline script or style. 404 when the console has not been built.',
    tag: 'console',
    auth: 'none',
    query: 'noQuery',
    responses: { 200: { description: 'An HTML page.', body: 'html' } },
    errors: { 404: ['not_found'] },
  },
  {
    method: 'get',
    path: '/console/assets/{file}',
    operationId: 'getConsoleAsset',
    summary: 'A script or style of the console',
    description: 'Named by a hash of their content, so they may be cached for a year.',
    tag: 'console',
    auth: 'none',
    responses: { 200: { description: 'The file.', body: 'asset' } },
    errors: { 404: ['not_found'] },
  },
];

/**
 * CORS preflights, one per path: answered before authentication when KV_CORS_ORIGINS is set (204,
 * or 403 for an origin not on the list); without it an OPTIONS request is like any other call
 * (401 without a key on /kv and /admin; elsewhere Express's own answer, the methods in Allow).
 */
function preflight(path: string, auth: Route['auth']): Route {
  const operation = path.split(/[^A-Za-z0-9]+/).filter(Boolean).map((word) => word[0].toUpperCase() + word.slice(1));
  return {
    method: 'options',
    path,
    operationId: `preflight${operation.join('') || 'Root'}`,
    summary: 'CORS preflight',
    tag: 'cors',
    auth: 'none',
    responses: {
      204: {
        description: 'A preflight from an allowed origin (KV_CORS_ORIGINS).',
        headers: ['Access-Control-Allow-Origin', 'Access-Control-Allow-Methods', 'Access-Control-Allow-Headers', 'Access-Control-Max-Age'],
      },
      ...(auth === 'none' ? { 200: { description: 'Without KV_CORS_ORIGINS: the methods of this path.', body: 'allow', headers: ['Allow'] } } : {}),
    },
    errors: {
      403: ['forbidden'],
      ...(auth === 'none' ? {} : auth === 'apiKey' ? DATA_ERRORS : ADMIN_ERRORS),
    },
  };
}

/** Every route with the CORS preflight of each path. */
export const ALL_ROUTES: readonly Route[] = [
  ...ROUTES,
  ...[...new Map(ROUTES.map((route) => [route.path, route.auth])).entries()].map(([path, auth]) => preflight(path, auth)),
];

/** Every error status of a route with its codes: the route's own and those any route may answer. */
export function routeErrors(route: Route): Map<number, ErrorCode[]> {
  const errors = new Map<number, ErrorCode[]>();
  for (const table of [COMMON_ERRORS, route.errors]) {
    for (const [status, codes] of Object.entries(table)) {
      const merged = new Set([...(errors.get(Number(status)) ?? []), ...(codes ?? [])]);
      errors.set(Number(status), [...merged]);
    }
  }
  return new Map([...errors].sort(([a], [b]) => a - b));
}

/**
 * A template's path as a regular expression. `{key}` takes the rest of the path, slashes included
 * (and an empty key, which the route refuses with 400); other parameters take one segment.
 */
function templatePattern(template: string): RegExp {
  const source = template
    .split(/(\{[^}]+\})/)
    .map((part) => {
      if (part === '{key}') return '[\\s\\S]*';
      if (part.startsWith('{')) return '[^/]+';
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${source}$`);
}

/** Templates with the fewest parameters first, so `/admin/accounts/{id}/keys` is not read as an account id. */
const TEMPLATES = [...new Set(ROUTES.map((route) => route.path))]
  .sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0))
  .map((template) => ({ template, pattern: templatePattern(template) }));

/**
 * The Express path of a template below the prefix its router is mounted at: a regular expression
 * when `{key}` takes the rest of the path, `:name` segments otherwise.
 */
function expressPath(template: string, mount: string): string | RegExp {
  if (!template.startsWith(`${mount}/`)) throw new Error(`route ${template} is not below the router's mount point ${mount}`);
  const below = template.slice(mount.length);
  // A literal ':' (the `:verb` routes) is escaped, so that it is not read as a parameter.
  return below.includes('{key}') ? templatePattern(below) : below.replace(/:/g, '\\:').replace(/\{(\w+)\}/g, ':$1');
}

/** Registers the handlers of one documented operation, by its operationId, at the method and path the table gives it. */
export type BindRoute = (operationId: string, ...handlers: RequestHandler[]) => void;

/** The route of an operationId in the table, or undefined. */
export function findOperation(operationId: string): Route | undefined {
  return ROUTES.find((candidate) => candidate.operationId === operationId);
}

/**
 * Binds operations of the table on `router`, which is mounted at `mount` ('' for the root), each as
 * one handler (see `chain`). An operationId the table lacks throws at start-up, so a handler cannot
 * exist without its document entry; a test sends every documented operation and fails on the
 * no-route 404.
 */
export function bindRoutes(router: Router, mount = ''): BindRoute {
  return (operationId, ...handlers) => {
    const route = findOperation(operationId);
    if (!route) throw new Error(`no route ${operationId} in the route table`);
    router[route.method](expressPath(route.path, mount), chain(handlers));
  };
}

/** The template a request path belongs to (whatever its method), or undefined. */
export function matchTemplate(path: string): string | undefined {
  return TEMPLATES.find(({ pattern }) => pattern.test(path))?.template;
}

/** The route of a method and request path; HEAD falls back to GET's route when it has none of its own. */
export function findRoute(method: string, path: string): Route | undefined {
  const template = matchTemplate(path);
  if (template === undefined) return undefined;
  const lower = method.toLowerCase();
  return (
    ALL_ROUTES.find((route) => route.path === template && route.method === lower) ??
    (lower === 'head' ? ROUTES.find((route) => route.path === template && route.method === 'get') : undefined)
  );
}
