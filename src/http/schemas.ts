// JSON Schemas (2020-12) of every request body and query: the validators, and later the OpenAPI document.

import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import type { Config } from '../config';
import { invalidRequest, type ErrorDetail } from '../errors';
import { LIMIT_NAMES, type Limits } from '../limits';

const positiveInteger = { type: 'integer', minimum: 1, maximum: 1_000_000_000 } as const;

/** The same schema for every limit, so a limit added to limits.ts is accepted by the admin routes too. */
function limitProperties<T>(schema: T): Record<keyof Limits, T> {
  return Object.fromEntries(LIMIT_NAMES.map((name) => [name, schema])) as Record<keyof Limits, T>;
}

/** Builds the schemas; some bounds come from the configuration. */
export function requestSchemas(config: Pick<Config, 'maxTtlSeconds' | 'maxKeyBytes'>) {
  const version = { type: 'string', minLength: 1, maxLength: 64 } as const;
  return {
    putItemBody: {
      type: 'object',
      additionalProperties: false,
      required: ['value'],
      properties: {
        value: { description: 'Any JSON value, null included.' },
        ttlSeconds: { type: 'integer', minimum: 1, maximum: config.maxTtlSeconds },
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
    createApiKeyBody: {
      type: 'object',
      additionalProperties: false,
      required: ['scopes'],
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 200 },
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
        const errors = (validate.errors ?? []).filter((error) => error.keyword !== 'anyOf');
        throw invalidRequest(errors.map((error) => toDetail(location, error)));
      }
    };
    return [name, check];
  });
  return Object.fromEntries(entries) as Validators;
}
