// Checks an HTTP response against the OpenAPI document: the route, a status it declares, the body schema, the headers.

import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import { loadConfig } from '../../src/config';
import { openApiDocument } from '../../src/http/openapi';
import { findRoute } from '../../src/http/routes';

type Doc = ReturnType<typeof openApiDocument>;

interface ResponseSpec {
  headers?: Record<string, { $ref: string }>;
  content?: Record<string, { schema: unknown }>;
}

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** A response as any client saw it. */
export interface SeenResponse {
  method: string;
  /** The request path, percent-encoded as sent, without the query. */
  path: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body text ('' when there is none). */
  text: string;
}

const escapePointer = (segment: string) => segment.replace(/~/g, '~0').replace(/\//g, '~1');

/** A checker for one document (the default configuration's unless given). */
export function contractChecker(doc: Doc = openApiDocument(loadConfig({}))) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addFormat('date-time', (value: string) => ISO_TIME.test(value) && !Number.isNaN(Date.parse(value)));
  ajv.addSchema({ ...doc, $id: 'kv-openapi' } as object);
  const compiled = new Map<string, ValidateFunction>();
  const validator = (pointer: string) => {
    let validate = compiled.get(pointer);
    if (!validate) {
      validate = ajv.compile({ $ref: `kv-openapi#${pointer}` });
      compiled.set(pointer, validate);
    }
    return validate;
  };
  const headerSpecs = doc.components.headers as Record<string, { required?: boolean; schema: unknown }>;

  /** Every way `seen` departs from the document; empty when it conforms. */
  return function problems(seen: SeenResponse): string[] {
    const where = `${seen.method} ${seen.path} → ${seen.status}`;
    // Through the topology's load balancer, nginx answers some malformed requests itself (an HTML
    // 4xx, e.g. for %00 in a path): that is the balancer's answer, not one of KV's.
    const byBalancer = /^nginx/.test(String(seen.headers.server ?? '')) && /^text\/html/.test(String(seen.headers['content-type'] ?? ''));
    if (byBalancer && seen.status >= 400 && seen.status < 500) return [];
    const route = findRoute(seen.method, seen.path);
    if (!route) {
      // Only the router's own answer to an undocumented route is allowed.
      const notFound = seen.status === 404 && (seen.method === 'HEAD' || /"No such route\."/.test(seen.text));
      return notFound ? [] : [`${where}: no documented route`];
    }
    const operation = (doc.paths as Record<string, Record<string, { responses: Record<string, ResponseSpec> }>>)[route.path][route.method];
    const response = operation.responses[String(seen.status)];
    if (!response) return [`${where}: status not declared for ${route.method.toUpperCase()} ${route.path}`];
    const found: string[] = [];
    for (const [name, ref] of Object.entries(response.headers ?? {})) {
      const spec = headerSpecs[ref.$ref.split('/').pop()!];
      const value = seen.headers[name.toLowerCase()];
      if (value === undefined) {
        if (spec.required) found.push(`${where}: header ${name} is missing`);
        continue;
      }
      const validate = validator(`/components/headers/${escapePointer(name)}/schema`);
      if (!validate(value)) found.push(`${where}: header ${name}: ${ajv.errorsText(validate.errors)}`);
    }
    const type = String(seen.headers['content-type'] ?? '').split(';')[0].trim();
    const hasBody = seen.text.length > 0 && seen.method !== 'HEAD';
    if (!hasBody) return found;
    const content = response.content ?? {};
    if (!(type in content)) return [...found, `${where}: content type ${type || '(none)'} not declared`];
    if (type !== 'application/json') return found;
    const pointer = `/paths/${escapePointer(route.path)}/${route.method}/responses/${seen.status}/content/${escapePointer(type)}/schema`;
    const validate = validator(pointer);
    let body: unknown;
    try {
      body = JSON.parse(seen.text);
    } catch {
      return [...found, `${where}: body is not JSON`];
    }
    if (!validate(body)) found.push(`${where}: body ${ajv.errorsText(validate.errors)}`);
    return found;
  };
}
