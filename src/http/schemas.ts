// JSON Schemas (2020-12) of every request body and query: the validators, and later the OpenAPI document.

import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import type { Config } from '../config';
import { invalidRequest, type ErrorDetail } from '../errors';
import { LIMIT_NAMES, type Limits } from '../limits';

const positiveInteger = { type: 'integer', minimum: 1, maximum: 1_000_000_000 } as const;

/** An ISO-8601 time with a time zone, as the API writes them and takes them (import lines, expiresAt). */
export const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** The same schema for every limit, so a limit added to limits.ts is accepted by the admin routes too. */
function limitProperties<T>(schema: T): Record<keyof Limits, T> {
  return Object.fromEntries(LIMIT_NAMES.map((name) => [name, schema])) as Record<keyof Limits, T>;
}

/** Builds the schemas; some bounds come from the configuration. */
export function requestSchemas(config: Pick<Config, 'maxTtlSeconds' | 'maxKeyBytes'>) {
  const version = { type: 'string', minLength: 1, maxLength: 64 } as const;
  const ttlSeconds = { type: 'integer', minimum: 1, maximum: config.maxTtlSeconds } as const;
  /** A key in a body: its bytes and characters are checked like a key in a path (invalid_key). */
  const key = { type: 'string', description: `1 to ${config.maxKeyBytes} bytes of UTF-8, no control characters.` } as const;
  const amount = {
    type: 'integer',
    minimum: -Number.MAX_SAFE_INTEGER,
    maximum: Number.MAX_SAFE_INTEGER,
    description: 'An integer within ±(2^53 − 1).',
  } as const;
  const forbiddenFor = (op: string, fields: string[]) =>
    ({
      if: { properties: { op: { const: op } } },
      then: { type: 'object', properties: Object.fromEntries(fields.map((field) => [field, false])) },
    }) as const;
  return {
    putItemBody: {
      type: 'object',
      additionalProperties: false,
      required: ['value'],
      properties: {
        value: { description: 'Any JSON value, null included.' },
        ttlSeconds,
        ifNotExists: { type: 'boolean' },
        ifVersion: version,
        keepTtl: { type: 'boolean' },
      },
    },
    listItemsQuery: {
      type: 'object',
      additionalProperties: false,
      properties: {
        prefix: { type: 'string', maxLength: config.maxKeyBytes },
        limit: { type: 'integer', minimum: 1, maximum: 1000 },
        cursor: { type: 'string', minLength: 1, maxLength: 2 * config.maxKeyBytes },
        values: { type: 'boolean', description: 'Each item carries its `value`; a page also stops at 4 MiB of values.' },
      },
    },
    commitBody: {
      type: 'object',
      additionalProperties: false,
      required: ['ops'],
      properties: {
        checks: {
          type: 'array',
          maxItems: 100,
          description: 'Each holds when the key is at `version` (`null`: when the key does not exist).',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['key', 'version'],
            properties: { key, version: { anyOf: [version, { type: 'null' }] } },
          },
        },
        ops: {
          type: 'array',
          minItems: 1,
          maxItems: 100,
          description: 'Applied in order, all or none; a key at most once.',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['op', 'key'],
            properties: {
              op: { enum: ['set', 'delete', 'increment'] },
              key,
              value: { description: 'set: any JSON value, null included.' },
              ttlSeconds: { ...ttlSeconds, description: 'set, increment: the TTL (increment without it keeps the TTL).' },
              keepTtl: { type: 'boolean', description: 'set: keep the TTL of the value replaced.' },
              by: { ...amount, description: 'increment: the amount, an integer within ±(2^53 − 1); default 1.' },
            },
            allOf: [
              { if: { properties: { op: { const: 'set' } } }, then: { type: 'object', required: ['value'], properties: { value: true, by: false } } },
              forbiddenFor('delete', ['value', 'ttlSeconds', 'keepTtl', 'by']),
              forbiddenFor('increment', ['value', 'keepTtl']),
            ],
          },
        },
      },
    },
    incrementBody: {
      type: 'object',
      additionalProperties: false,
      required: ['key'],
      properties: {
        key,
        by: { ...amount, description: 'The amount, an integer within ±(2^53 − 1); default 1.' },
        ttlSeconds: { ...ttlSeconds, description: 'Sets the TTL; without it the key keeps the TTL it has.' },
      },
    },
    batchGetBody: {
      type: 'object',
      additionalProperties: false,
      required: ['keys'],
      properties: { keys: { type: 'array', minItems: 1, maxItems: 100, items: key } },
    },
    mergePatchBody: {
      description: 'An RFC 7396 merge patch: members set to null are removed, objects merge, anything else replaces.',
    },
    importBody: {
      type: 'string',
      description:
        'NDJSON: one `{"key", "value", "expiresAt"}` object per line (`expiresAt` optional, ISO-8601 or null), as the export writes them.',
    },
    watchQuery: {
      type: 'object',
      additionalProperties: false,
      properties: {
        prefix: { type: 'string', maxLength: config.maxKeyBytes },
        values: { type: 'boolean', description: 'Each `set` event carries the value written, while it is still the current one.' },
        since: {
          type: 'string',
          minLength: 1,
          maxLength: 64,
          description: 'Resume after this event id (as `Last-Event-ID` does; the header wins when both are sent).',
        },
      },
    },
    exportQuery: {
      type: 'object',
      additionalProperties: false,
      properties: { prefix: { type: 'string', maxLength: config.maxKeyBytes } },
    },
    importQuery: {
      type: 'object',
      additionalProperties: false,
      properties: {
        mode: { enum: ['skip', 'overwrite'], description: '`skip` (default) leaves existing keys alone; `overwrite` replaces them.' },
      },
    },
    /** PUT and DELETE of an item take a condition in the query too, as an alternative to If-Match. */
    writeItemQuery: {
      type: 'object',
      additionalProperties: false,
      properties: { ifVersion: version },
    },
    /** Every route without query parameters: an unknown one is a 400, never silently ignored. */
    noQuery: {
      type: 'object',
      additionalProperties: false,
    },
    createAccountBody: {
      type: 'object',
      additionalProperties: false,
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 200 },
        limits: {
          type: 'object',
          additionalProperties: false,
          properties: limitProperties(positiveInteger),
        },
      },
    },
    updateAccountBody: {
      type: 'object',
      additionalProperties: false,
      required: ['limits'],
      properties: {
        limits: {
          type: 'object',
          additionalProperties: false,
          description: 'null clears an override, so the configured default applies.',
          properties: limitProperties({ anyOf: [positiveInteger, { type: 'null' }] } as const),
        },
      },
    },
    listAccountsQuery: {
      type: 'object',
      additionalProperties: false,
      properties: {
        limit: { type: 'integer', minimum: 1, maximum: 1000 },
        cursor: { type: 'string', minLength: 1, maxLength: 200 },
      },
    },
    createApiKeyBody: {
      type: 'object',
      additionalProperties: false,
      required: ['scopes'],
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 200 },
        prefix: {
          type: 'string',
          minLength: 1,
          maxLength: config.maxKeyBytes,
          description: `The key reaches only item keys starting with this: 1 to ${config.maxKeyBytes} bytes of UTF-8, no control characters.`,
        },
        expiresAt: {
          type: 'string',
          pattern: ISO_TIME.source,
          description: 'An ISO-8601 time with a time zone, in the future: the key is refused from then on.',
        },
        scopes: {
          type: 'array',
          items: { enum: ['read', 'write'] },
          minItems: 1,
          uniqueItems: true,
          contains: { const: 'read' },
        },
      },
    },
  } as const;
}

export type SchemaName = keyof ReturnType<typeof requestSchemas>;

/** Where the validated data came from, for the `path` of each detail. */
export type Location = 'body' | 'query';

export type Validators = Record<SchemaName, (location: Location, data: unknown) => void>;

function toDetail(location: Location, error: ErrorObject): ErrorDetail {
  const path = [location, ...error.instancePath.split('/').slice(1)];
  switch (error.keyword) {
    case 'additionalProperties':
      return { path: [...path, error.params.additionalProperty].join('.'), message: 'is not an allowed field' };
    case 'required':
      return { path: [...path, error.params.missingProperty].join('.'), message: 'is required' };
    case 'contains':
      return { path: path.join('.'), message: 'must include "read"' };
    case 'false schema':
      return { path: path.join('.'), message: 'is not allowed here' };
    default:
      return { path: path.join('.'), message: error.message ?? 'is not valid' };
  }
}

/** Compiles every schema once; each validator throws invalid_request with readable details. */
export function createValidators(config: Pick<Config, 'maxTtlSeconds' | 'maxKeyBytes'>): Validators {
  const schemas = requestSchemas(config);
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  // Query strings are text; only they are coerced ("limit=10" is 10), bodies must carry real types.
  const ajvQuery = new Ajv2020({ allErrors: true, strict: true, coerceTypes: true });
  const entries = Object.entries(schemas).map(([name, schema]) => {
    const validate: ValidateFunction = (name.endsWith('Query') ? ajvQuery : ajv).compile(schema);
    const check = (location: Location, data: unknown) => {
      if (!validate(data)) {
        // anyOf reports each branch; its own summary line adds nothing the branches do not say.
        // Nor do if/then: the failure inside `then` is reported on its own.
        const errors = (validate.errors ?? []).filter((error) => error.keyword !== 'anyOf' && error.keyword !== 'if');
        throw invalidRequest(errors.map((error) => toDetail(location, error)));
      }
    };
    return [name, check];
  });
  return Object.fromEntries(entries) as Validators;
}
