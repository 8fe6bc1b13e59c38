// The OpenAPI 3.1 document, built from the route table and the same JSON Schemas that validate requests.

import { ACCOUNT_ID, KEY_ID } from '../accounts';
import { LIMIT_NAMES } from '../limits';
import type { Config } from '../config';
import type { ErrorCode } from '../errors';
import { ERROR_TABLE, MAX_ERROR_DETAILS } from '../errors';
import { ALL_ROUTES, routeErrors, type HeaderName, type Route, type SuccessResponse } from './routes';
import { requestSchemas } from './schemas';

type Schema = Record<string, unknown>;

export type OpenApiConfig = Pick<Config, 'maxTtlSeconds' | 'maxKeyBytes' | 'maxValueBytes'>;

/** The error table as rows, in the order the document prints it. */
const ERROR_ROWS = Object.entries(ERROR_TABLE).map(([code, { status, meaning }]) => [code as ErrorCode, status, meaning] as const);

const isoTime = { type: 'string', format: 'date-time' } as const;
const isoTimeOrNull = { type: ['string', 'null'], format: 'date-time' } as const;
const version = { type: 'string', description: 'Opaque; compare for equality only.' } as const;
const count = { type: 'integer', minimum: 0 } as const;
const positive = { type: 'integer', minimum: 1 } as const;

function object(properties: Record<string, unknown>, required = Object.keys(properties)): Schema {
  return { type: 'object', additionalProperties: false, required, properties };
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

function responseSchemas(): Record<string, Schema> {
  const itemMeta = {
    key: { type: 'string', minLength: 1 },
    version,
    expiresAt: isoTimeOrNull,
    createdAt: isoTime,
    updatedAt: isoTime,
  };
  const limits = object(Object.fromEntries(LIMIT_NAMES.map((name) => [name, positive])));
  const apiKey = {
    id: { type: 'string', pattern: KEY_ID.source },
    name: { type: ['string', 'null'] },
    scopes: { type: 'array', items: { enum: ['read', 'write'] }, minItems: 1 },
    prefix: { type: 'string', minLength: 1, description: 'Only when set: the key reaches only item keys starting with it.' },
    expiresAt: { ...isoTime, description: 'Only when set: the key is refused from this time on (it is still listed).' },
    createdAt: isoTime,
  };
  const apiKeyRequired = ['id', 'name', 'scopes', 'createdAt'];
  const secret = { type: 'string', description: 'The secret; shown only once.' };
  return {
    ItemMeta: object(itemMeta),
    Item: object({ ...itemMeta, value: { description: 'The JSON value as stored (compact).' } }),
    ListedItem: object(
      { key: itemMeta.key, version, expiresAt: isoTimeOrNull, value: { description: 'Only with `values=true`: the JSON value as stored.' } },
      ['key', 'version', 'expiresAt'],
    ),
    ItemList: object({
      items: { type: 'array', items: { anyOf: [ref('Item'), { type: 'null' }] }, description: 'In request order; null where the key does not exist.' },
    }),
    CommitResults: object({
      results: {
        type: 'array',
        description: 'One per op, in op order.',
        items: object(
          {
            key: itemMeta.key,
            version: { type: ['string', 'null'], description: 'The new version; null for a delete.' },
            value: { type: 'integer', description: "An increment's result." },
          },
          ['key', 'version'],
        ),
      },
    }),
    ImportReport: object(
      {
        created: count,
        replaced: count,
        skipped: { ...count, description: 'Existing keys with mode=skip, and lines whose expiresAt has passed.' },
        failed: {
          type: 'array',
          maxItems: 1000,
          items: object({
            line: { ...positive, description: '1-based line number in the body.' },
            error: object({ code: { type: 'string' }, message: { type: 'string' } }),
          }),
        },
        omittedFailures: { ...positive, description: 'Failed lines past the first 1,000, which are not listed.' },
      },
      ['created', 'replaced', 'skipped', 'failed'],
    ),
    ItemPage: object({
      items: { type: 'array', items: ref('ListedItem') },
      nextCursor: { type: ['string', 'null'], description: 'Pass as `cursor` for the next page; null at the end.' },
    }),
    Usage: object({
      keys: count,
      limits: object({
        ...(limits.properties as object),
        maxKeyBytes: { ...positive, description: 'KV_MAX_KEY_BYTES' },
        maxValueBytes: { ...positive, description: 'KV_MAX_VALUE_BYTES' },
        maxTtlSeconds: { ...positive, description: 'KV_MAX_TTL_SECONDS' },
      }),
    }),
    Limits: limits,
    Account: object({
      id: { type: 'string', pattern: ACCOUNT_ID.source },
      name: { type: ['string', 'null'] },
      limits: { ...ref('Limits'), description: 'Effective: the overrides over the configured defaults.' },
      limitOverrides: {
        type: 'object',
        additionalProperties: false,
        description: 'Only what was set for this account.',
        properties: { maxKeys: positive, readsPerSecond: positive, writesPerSecond: positive },
      },
      createdAt: isoTime,
    }),
    ApiKey: object(apiKey, apiKeyRequired),
    ApiKeyWithSecret: object({ ...apiKey, key: secret }, [...apiKeyRequired, 'key']),
    NewAccount: object({ account: ref('Account'), apiKey: ref('ApiKeyWithSecret') }),
    AccountPage: object({
      accounts: { type: 'array', items: ref('Account') },
      nextCursor: { type: ['string', 'null'], description: 'Pass as `cursor` for the next page; null at the end.' },
    }),
    ApiKeyList: object({ keys: { type: 'array', items: ref('ApiKey') } }),
    AccountDetails: object({
      account: ref('Account'),
      usage: object({ keys: count }),
      apiKeys: { type: 'array', items: ref('ApiKey') },
    }),
    UpdatedAccount: object({ account: ref('Account') }),
    NewApiKey: object({ apiKey: ref('ApiKeyWithSecret') }),
    Health: object({ status: { const: 'ok' } }),
    Ready: object({ status: { const: 'ready' }, store: { enum: ['sqlite', 'redis'] } }),
    Error: object(
      {
        error: object(
          {
            code: { enum: ERROR_ROWS.map(([code]) => code) },
            message: { type: 'string' },
            details: {
              type: 'array',
              maxItems: MAX_ERROR_DETAILS,
              items: object({ path: { type: 'string' }, message: { type: 'string' } }),
            },
            omittedDetails: positive,
            currentVersion: { type: ['string', 'null'] },
            failedChecks: {
              type: 'array',
              items: object({ index: count, key: { type: 'string' }, currentVersion: { type: ['string', 'null'] } }),
            },
            retryAfter: positive,
            limit: positive,
          },
          ['code', 'message'],
        ),
      },
      ['error'],
    ),
  };
}

/** Only ETag is always there where it is declared; the others may be absent (see each description). */
const HEADERS: Record<HeaderName | 'X-Request-Id', { description: string; required?: boolean; schema: Schema }> = {
  ETag: {
    description: 'The version as a strong entity tag: `"<version>"`.',
    required: true,
    schema: { type: 'string', pattern: '^"[^"]+"$' },
  },
  RateLimit: {
    description:
      'IETF draft-8: the remaining requests of the current one-second window, and seconds until it resets. ' +
      'On every data response after authentication (absent only while the rate-limit counters cannot be reached).',
    schema: { type: 'string' },
  },
  'RateLimit-Policy': { description: "IETF draft-8: the account's limit per window.", schema: { type: 'string' } },
  'Retry-After': {
    description: 'Seconds to wait before retrying: on every 429, and on every 503 but that of /readyz while starting or draining.',
    schema: { type: 'string', pattern: '^[0-9]+$' },
  },
  'Access-Control-Allow-Origin': { description: 'The calling origin, or `*`.', schema: { type: 'string' } },
  'Access-Control-Allow-Methods': { description: 'The methods a page may use.', schema: { type: 'string' } },
  'Access-Control-Allow-Headers': { description: 'The request headers a page may send.', schema: { type: 'string' } },
  'Access-Control-Max-Age': { description: 'Seconds a browser may cache the preflight.', schema: { type: 'string', pattern: '^[0-9]+$' } },
  Allow: { description: 'The methods of the path.', schema: { type: 'string' } },
  'X-Request-Id': {
    description:
      'The request id: the one the client sent (1–128 of `A-Za-z0-9._:-`) or a generated one; in the log line. ' +
      "On every response but those of Node's HTTP layer (400 for malformed HTTP, 408, 417, 431).",
    schema: { type: 'string' },
  },
};

const headerRefs = (names: (HeaderName | 'X-Request-Id')[]) =>
  Object.fromEntries(names.map((name) => [name, { $ref: `#/components/headers/${name}` }]));

function successResponse(response: SuccessResponse) {
  const headers = headerRefs(['X-Request-Id', ...(response.headers ?? [])]);
  const content = (() => {
    switch (response.body) {
      case undefined:
        return undefined;
      case 'metrics':
        return { 'text/plain': { schema: { type: 'string' } } };
      case 'allow':
        return { 'text/html': { schema: { type: 'string' } } };
      case 'html':
        return { 'text/html': { schema: { type: 'string' } } };
      case 'asset':
        return {
          'text/javascript': { schema: { type: 'string' } },
          'text/css': { schema: { type: 'string' } },
          'image/png': { schema: { type: 'string', contentMediaType: 'image/png' } },
        };
      case 'openapi':
        return { 'application/json': { schema: { type: 'object' } } };
      case 'ndjson':
        return { 'application/x-ndjson': { schema: { type: 'string' } } };
      case 'eventStream':
        return { 'text/event-stream': { schema: { type: 'string' } } };
      default:
        return { 'application/json': { schema: object({ data: ref(response.body) }) } };
    }
  })();
  return { description: response.description, headers, ...(content ? { content } : {}) };
}

function errorResponse(route: Route, status: number, codes: ErrorCode[]) {
  const retry = status === 429 || status === 503;
  // A data route's limiter runs after authentication: any answer after it carries its headers.
  const rateLimitHeaders = route.auth === 'apiKey' && status !== 401;
  const description = codes.map((code) => `\`${code}\``).join(', ');
  return {
    description: status === 404 && route.auth === 'admin' ? `${description} (every admin route when no admin token is configured)` : description,
    headers: headerRefs(['X-Request-Id', ...(retry ? (['Retry-After'] as const) : []), ...(rateLimitHeaders ? (['RateLimit', 'RateLimit-Policy'] as const) : [])]),
    content: {
      'application/json': {
        schema: { allOf: [ref('Error'), { properties: { error: { properties: { code: { enum: codes } } } } }] },
      },
    },
  };
}

function parameters(route: Route, config: OpenApiConfig, queries: Record<string, Schema>) {
  const result: Schema[] = [];
  for (const [, name] of route.path.matchAll(/\{([^}]+)\}/g)) {
    result.push(
      name === 'key'
        ? {
            name,
            in: 'path',
            required: true,
            description:
              `The key: 1 to ${config.maxKeyBytes} bytes of UTF-8, percent-encoded; \`/\` is part of the key (sent as \`/\` or \`%2F\`). ` +
              'Encode `%`, `?`, `#` and `.`/`..` segments.',
            schema: { type: 'string', minLength: 1 },
          }
        : { name, in: 'path', required: true, schema: { type: 'string' } },
    );
  }
  const query = route.query ? queries[route.query] : undefined;
  const properties = (query?.properties ?? {}) as Record<string, Schema>;
  for (const [name, schema] of Object.entries(properties)) {
    result.push({ name, in: 'query', required: false, schema });
  }
  if (route.path === '/kv/items/{key}') {
    const conditionHeaders: Record<string, string> = {
      get: 'A quoted version (or a list): 304 when the item is still at it.',
      head: 'A quoted version (or a list): 304 when the item is still at it.',
      put: '`*`: create only if the key does not exist (412 otherwise).',
    };
    if (route.method !== 'get' && route.method !== 'head') {
      result.push({
        name: 'If-Match',
        in: 'header',
        required: false,
        description: 'Exactly one quoted version (`"5"`): write only if the item is at that version (412 otherwise).',
        schema: { type: 'string' },
      });
    }
    if (conditionHeaders[route.method]) {
      result.push({ name: 'If-None-Match', in: 'header', required: false, description: conditionHeaders[route.method], schema: { type: 'string' } });
    }
  }
  return result;
}

function operation(route: Route, config: OpenApiConfig, schemas: Record<string, Schema>) {
  const responses: Record<string, unknown> = {};
  for (const [status, response] of Object.entries(route.responses)) {
    responses[status] = successResponse(response!);
  }
  for (const [status, codes] of routeErrors(route)) responses[String(status)] = errorResponse(route, status, codes);
  const security =
    route.auth === 'apiKey' ? [{ apiKey: [] }] : route.auth === 'admin' ? [{ adminToken: [] }] : [];
  const scope = route.scope ? ` Needs an API key with the \`${route.scope}\` scope.` : '';
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description || scope ? { description: `${route.description ?? ''}${scope}`.trim() } : {}),
    tags: [route.tag],
    security,
    parameters: parameters(route, config, schemas),
    ...(route.requestBody
      ? {
          requestBody: {
            required: true,
            content: { [route.requestMediaType ?? 'application/json']: { schema: { $ref: `#/components/schemas/${route.requestBody}` } } },
          },
        }
      : {}),
    responses,
  };
}

/** The OpenAPI 3.1 document of the service with this configuration (its limits appear in the schemas). */
export function openApiDocument(config: OpenApiConfig) {
  const requests = requestSchemas(config) as unknown as Record<string, Schema>;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ALL_ROUTES) {
    paths[route.path] ??= {};
    paths[route.path][route.method] = operation(route, config, requests);
  }
  const bodies = Object.fromEntries(
    Object.entries(requests).filter(([name]) => name.endsWith('Body')),
  );
  const errorTable = [
    '| code | status | meaning |',
    '|---|---|---|',
    ...ERROR_ROWS.map(([code, status, meaning]) => `| \`${code}\` | ${status} | ${meaning} |`),
  ].join('\n');
  return {
    openapi: '3.1.0',
    info: {
      title: 'KV',
      version: '0.1.0',
      summary: 'A self-hosted JSON key/value API.',
      description:
        'JSON in, JSON out: success bodies are `{"data": …}`, errors `{"error": {"code", "message", …}}`. ' +
        'Every response carries `X-Request-Id`.\n\n## Errors\n\n' +
        errorTable,
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: '/', description: 'This server.' }],
    tags: [
      { name: 'items', description: 'Items, listing and usage: `Authorization: Bearer <api key>`.' },
      { name: 'admin', description: 'Accounts and API keys: `Authorization: Bearer $KV_ADMIN_TOKEN`; 404 when no admin token is configured.' },
      { name: 'operations', description: 'Health, readiness and metrics.' },
      { name: 'documentation', description: 'This document and its page.' },
      { name: 'console', description: 'The browser console: its page and assets.' },
      { name: 'cors', description: 'Preflights of browsers on other origins (KV_CORS_ORIGINS).' },
    ],
    paths,
    components: {
      schemas: { ...bodies, ...responseSchemas() },
      headers: HEADERS,
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'An API key of an account.' },
        adminToken: { type: 'http', scheme: 'bearer', description: 'The admin token (KV_ADMIN_TOKEN).' },
      },
    },
  };
}
